import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { FlowKey, RealDef, VipKey } from '../../agent/dataplane/abi';
import { addrBytes, addrFromBytes } from '../../agent/dataplane/addr';
import { parseAddr, parseMac } from '../../agent/net/addr';
import { bytes, field, struct, u8 } from '../../agent/dataplane/codec';

describe('struct codecs', () => {
  it('encode puts ports in network order and addresses as 16 bytes', () => {
    const a = addrBytes(parseAddr('192.0.2.10'));
    const buf = VipKey.encode({ addr: a.bytes, port: 80, proto: 6, family: a.family });
    assert.equal(buf.toString('hex'), 'c000020a' + '00'.repeat(12) + '0050' + '06' + '02');
  });

  it('decode inverts encode', () => {
    const a = addrBytes(parseAddr('2001:db8::1'));
    const real = {
      addr: a.bytes,
      mac: parseMac('02:00:00:00:01:01').bytes,
      srcMac: Buffer.alloc(6),
      ifindex: 7,
      family: a.family,
      method: 1,
      flags: 1,
      mtu: 1500,
      pad: 0,
    };
    assert.deepEqual(RealDef.decode(RealDef.encode(real)), real);
    const key = { src: a.bytes, dst: a.bytes, sport: 65535, dport: 1, proto: 17, family: 10, kind: 1, pad: 0 };
    assert.deepEqual(FlowKey.decode(FlowKey.encode(key)), key);
  });

  it('a field of the wrong byte length is refused', () => {
    assert.throws(
      () => VipKey.encode({ addr: Buffer.alloc(4), port: 1, proto: 6, family: 2 }),
      /field wants 16 bytes, got 4/,
    );
  });

  it('a short buffer is refused on decode, naming the struct', () => {
    assert.throws(() => VipKey.decode(Buffer.alloc(3)), /vip_key: 3 bytes, want 20/);
  });

  it('a layout whose field ends past the struct is refused when defined', () => {
    assert.throws(() => struct('bad', 4, { a: field('a', 2, bytes(4)), b: field('b', 0, u8) }), /bad\.a ends past/);
  });
});

describe('addresses', () => {
  it('IPv4 sits in the first 4 of 16 bytes; IPv6 fills them', () => {
    assert.deepEqual(addrBytes(parseAddr('10.1.2.3')), { family: 2, bytes: Buffer.from('0a010203' + '00'.repeat(12), 'hex') });
    assert.equal(addrBytes(parseAddr('fd00::1')).bytes.toString('hex'), 'fd00' + '00'.repeat(13) + '01');
    assert.equal(addrBytes(parseAddr('fd00::1')).family, 10);
  });

  it('round-trips through format', () => {
    for (const a of ['10.1.2.3', 'fd00::1', '2001:db8:ff::7']) {
      const p = addrBytes(parseAddr(a));
      assert.equal(String(addrFromBytes(p.bytes, p.family)), a);
    }
    assert.equal(String(parseMac('02-AB-00-00-01-ff')), '02:ab:00:00:01:ff');
  });

  it('bad input names the field', () => {
    assert.throws(() => parseAddr('10.1.2', 'real_server'), /^Error: real_server: "10.1.2" is not an IPv4 or IPv6 address$/);
    assert.throws(() => parseAddr('0x0a.1.2.3'), /is not an IPv4 or IPv6 address/);
    assert.throws(() => parseAddr('fd00::1::2'), /is not an IPv4 or IPv6 address/);
    assert.throws(() => parseMac('02:00:00', 'mac'), /mac: "02:00:00" is not a MAC address/);
  });
});
