// Addresses as values: parsed once, compared by bytes, printed one way.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Addr, endpointText, Mac, parseAddr, parseMac, parsePrefix, Prefix, sameAddr } from '../../agent/net/addr';

describe('net values', () => {
  it('an address prints in one canonical form, whatever was written', () => {
    assert.equal(String(parseAddr('2001:DB8:0:0::1')), '2001:db8::1');
    assert.equal(String(parseAddr('10.0.0.1')), '10.0.0.1');
    assert.equal(JSON.stringify({ vip: parseAddr('2001:db8::0:1') }), '{"vip":"2001:db8::1"}');
    assert.deepEqual([parseAddr('10.0.0.1').family, parseAddr('fd00::1').family], ['inet', 'inet6']);
    assert.deepEqual([parseAddr('10.0.0.1').v6, parseAddr('fd00::1').v6], [false, true]);
  });

  it('equality is by bytes: two spellings of one address are one address', () => {
    assert.ok(parseAddr('2001:db8::1').equals(parseAddr('2001:0DB8::0001')));
    assert.ok(!parseAddr('10.0.0.1').equals(parseAddr('10.0.0.2')));
    assert.ok(!parseAddr('::a00:1').equals(parseAddr('10.0.0.1')), 'another family is another address');
    assert.equal(sameAddr(undefined, undefined), true);
    assert.equal(sameAddr(parseAddr('10.0.0.1'), undefined), false);
    assert.equal(sameAddr(parseAddr('10.0.0.1'), parseAddr('10.0.0.1')), true);
  });

  it('endpoints bracket IPv6, as keys and the CLI print them', () => {
    assert.equal(endpointText(parseAddr('192.0.2.1'), 80), '192.0.2.1:80');
    assert.equal(endpointText(parseAddr('2001:DB8::1'), 80), '[2001:db8::1]:80');
  });

  it('bytes: 4 for IPv4, 16 for IPv6; any other length is refused', () => {
    assert.equal(parseAddr('10.1.2.3').bytes.toString('hex'), '0a010203');
    assert.equal(String(Addr.fromBytes(Buffer.from('fd000000000000000000000000000001', 'hex'))), 'fd00::1');
    assert.throws(() => Addr.fromBytes(Buffer.alloc(5)), /4 or 16 bytes, got 5/);
  });

  it('a prefix knows what it contains and compares by value', () => {
    const p = parsePrefix('10.0.0.0/8');
    assert.ok(p.contains(parseAddr('10.200.0.1')));
    assert.ok(!p.contains(parseAddr('11.0.0.1')));
    assert.ok(!p.contains(parseAddr('::a00:1')));
    assert.ok(p.equals(Prefix.of(parseAddr('10.1.2.3'), 8)), 'Prefix.of clears host bits');
    assert.equal(JSON.stringify([parsePrefix('fd00::/64')]), '["fd00::/64"]');
    assert.throws(() => Prefix.of(parseAddr('10.0.0.0'), 33), /between 0 and 32/);
  });

  it('a MAC prints lower case with colons, and knows when it is all zero', () => {
    const m = parseMac('02-AB-00-00-01-ff');
    assert.equal(String(m), '02:ab:00:00:01:ff');
    assert.ok(m.equals(Mac.fromBytes(Buffer.from('02ab000001ff', 'hex'))));
    assert.equal(parseMac('00:00:00:00:00:00').zero, true);
    assert.equal(m.zero, false);
    assert.throws(() => Mac.fromBytes(Buffer.alloc(4)), /6 bytes, got 4/);
  });
});
