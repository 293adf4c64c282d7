// Gratuitous ARP and unsolicited NA frames, byte for byte.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { gratuitousArp, unsolicitedNa } from '../../agent/vrrp/announce';
import { inetChecksum, ip, mac } from '../support/packet';

describe('takeover announcements', () => {
  it('gratuitous ARP: a broadcast request with sender and target the VIP', () => {
    const expected = Buffer.concat([
      Buffer.from('ffffffffffff', 'hex'),
      mac('02:00:00:00:00:01'),
      Buffer.from('0806' + '0001' + '0800' + '06' + '04' + '0001', 'hex'),
      mac('02:00:00:00:00:01'),
      ip('10.0.0.100'),
      Buffer.alloc(6),
      ip('10.0.0.100'),
    ]);
    assert.deepEqual(gratuitousArp('10.0.0.100', '02:00:00:00:00:01'), expected);
  });

  it('unsolicited NA: all-nodes, hop limit 255, Override, our MAC as the target link-layer option', () => {
    const f = unsolicitedNa('2001:db8::100', '02:00:00:00:00:01', 'fe80::1');
    assert.deepEqual(f.subarray(0, 14), Buffer.concat([Buffer.from('333300000001', 'hex'), mac('02:00:00:00:00:01'), Buffer.from('86dd', 'hex')]));
    assert.equal(f[14 + 7], 255);
    assert.deepEqual(f.subarray(14 + 8, 14 + 24), ip('fe80::1'));
    assert.deepEqual(f.subarray(14 + 24, 14 + 40), ip('ff02::1'));
    const icmp = f.subarray(54);
    assert.deepEqual([icmp[0], icmp[1], icmp.readUInt32BE(4)], [136, 0, 0x20000000]);
    assert.deepEqual(icmp.subarray(8, 24), ip('2001:db8::100'));
    assert.deepEqual(icmp.subarray(24, 32), Buffer.concat([Buffer.from([2, 1]), mac('02:00:00:00:00:01')]));
    const len = Buffer.alloc(8);
    len.writeUInt32BE(icmp.length, 0);
    len[7] = 58;
    assert.equal(inetChecksum(ip('fe80::1'), ip('ff02::1'), len, icmp), 0, 'checksum verifies');
  });
});
