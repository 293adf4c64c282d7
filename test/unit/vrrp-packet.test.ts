// VRRP advertisements byte for byte (checksums computed here independently)
// and every reason a received one is dropped.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { decodeAdvert, encodeAdvert, type Expect } from '../../agent/vrrp/packet';
import { inetChecksum, ip } from '../support/packet';

const SRC = '10.0.0.2';
const DST = '224.0.0.18';
const rx = { ttl: 255, src: SRC, dst: DST };
const v2want: Expect = { family: 'inet', version: 2, vrid: 51, advertIntCs: 100 };

describe('VRRP codec', () => {
  it('v2: every byte, checksum over the message only, PASS auth padded to 8', () => {
    const msg = encodeAdvert({ version: 2, vrid: 51, priority: 100, advertIntCs: 100, addresses: ['10.0.0.100', '10.0.0.101'], authPass: 'secret' }, 'inet', SRC, DST);
    const expected = Buffer.concat([
      Buffer.from([0x21, 51, 100, 2, 1, 1, 0, 0]),
      ip('10.0.0.100'),
      ip('10.0.0.101'),
      Buffer.from('secret\0\0'),
    ]);
    expected.writeUInt16BE(inetChecksum(expected), 6);
    assert.deepEqual(msg, expected);
  });

  it('v3 IPv4: 12-bit centisecond interval, checksum with the pseudo-header', () => {
    const msg = encodeAdvert({ version: 3, vrid: 7, priority: 254, advertIntCs: 50, addresses: ['10.0.0.100'] }, 'inet', SRC, DST);
    const expected = Buffer.concat([Buffer.from([0x31, 7, 254, 1, 0, 50, 0, 0]), ip('10.0.0.100')]);
    const pseudo = Buffer.concat([ip(SRC), ip(DST), Buffer.from([0, 112, 0, expected.length])]);
    expected.writeUInt16BE(inetChecksum(pseudo, expected), 6);
    assert.deepEqual(msg, expected);
  });

  it('v3 IPv6 to ff02::12, checksum with the IPv6 pseudo-header', () => {
    const src = 'fe80::1';
    const msg = encodeAdvert({ version: 3, vrid: 9, priority: 100, advertIntCs: 100, addresses: ['2001:db8::100'] }, 'inet6', src, 'ff02::12');
    const expected = Buffer.concat([Buffer.from([0x31, 9, 100, 1, 0, 100, 0, 0]), ip('2001:db8::100')]);
    const len = Buffer.alloc(8);
    len.writeUInt32BE(expected.length, 0);
    len[7] = 112;
    expected.writeUInt16BE(inetChecksum(ip(src), ip('ff02::12'), len, expected), 6);
    assert.deepEqual(msg, expected);
    const back = decodeAdvert(msg, { ttl: 255, src, dst: 'ff02::12' }, { family: 'inet6', version: 3, vrid: 9, advertIntCs: 100 });
    assert.deepEqual(back, { ok: true, advert: { version: 3, vrid: 9, priority: 100, advertIntCs: 100, addresses: ['2001:db8::100'] } });
  });

  it('decodes what it encodes', () => {
    const a = { version: 2 as const, vrid: 51, priority: 150, advertIntCs: 100, addresses: ['10.0.0.100'], authPass: 'pw' };
    assert.deepEqual(decodeAdvert(encodeAdvert(a, 'inet', SRC, DST), rx, { ...v2want, authPass: 'pw' }), { ok: true, advert: a });
  });

  it('drops, with the reason: TTL, version, type, length, checksum, VRID, v2 interval, v2 auth', () => {
    const good = encodeAdvert({ version: 2, vrid: 51, priority: 100, advertIntCs: 100, addresses: ['10.0.0.100'] }, 'inet', SRC, DST);
    const reason = (msg: Buffer, want: Expect = v2want, r = rx): string | undefined => {
      const d = decodeAdvert(msg, r, want);
      return d.ok ? undefined : d.reason;
    };
    assert.equal(reason(good), undefined);
    assert.equal(reason(good, v2want, { ...rx, ttl: 64 }), 'ttl');
    assert.equal(reason(good, { ...v2want, version: 3 }), 'version');
    const typed = Buffer.from(good);
    typed[0] = 0x22;
    assert.equal(reason(typed), 'type');
    assert.equal(reason(good.subarray(0, 10)), 'length');
    const counted = Buffer.from(good);
    counted[3] = 5;
    assert.equal(reason(counted), 'length');
    const corrupt = Buffer.from(good);
    corrupt[2] = 99;
    assert.equal(reason(corrupt), 'checksum');
    assert.equal(reason(good, { ...v2want, vrid: 52 }), 'vrid');
    assert.equal(reason(good, { ...v2want, advertIntCs: 300 }), 'interval');
    assert.equal(reason(good, { ...v2want, authPass: 'pw' }), 'auth');
    const withAuth = encodeAdvert({ version: 2, vrid: 51, priority: 100, advertIntCs: 100, addresses: ['10.0.0.100'], authPass: 'other' }, 'inet', SRC, DST);
    assert.equal(reason(withAuth, { ...v2want, authPass: 'pw' }), 'auth');
    assert.equal(reason(withAuth), 'auth', 'authenticated adverts to an instance without auth');
  });

  it('v3_checksum_as_v2: the old checksum is refused by default and accepted with the option', () => {
    const want: Expect = { family: 'inet', version: 3, vrid: 7, advertIntCs: 100 };
    const old = encodeAdvert({ version: 3, vrid: 7, priority: 100, advertIntCs: 100, addresses: ['10.0.0.1'] }, 'inet', SRC, DST, true);
    assert.deepEqual(decodeAdvert(old, rx, want), { ok: false, reason: 'checksum' });
    assert.equal(decodeAdvert(old, rx, { ...want, checksumAsV2: true }).ok, true);
  });
});
