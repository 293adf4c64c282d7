// What a new master sends so that neighbours re-learn where the VIPs are:
// gratuitous ARP for IPv4 (an ARP announcement, RFC 5227 2.3: a request
// with sender and target both the VIP) and an unsolicited Neighbor
// Advertisement for IPv6 (RFC 4861 7.2.6: to all-nodes, Override set,
// carrying our link-layer address).
import ipaddr from 'ipaddr.js';
import { inetChecksum } from './checksum';

function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

function ip(a: string): Buffer {
  return Buffer.from(ipaddr.parse(a).toByteArray());
}

export function gratuitousArp(vip: string, mac: string): Buffer {
  const f = Buffer.alloc(42);
  f.fill(0xff, 0, 6);
  macBytes(mac).copy(f, 6);
  f.writeUInt16BE(0x0806, 12);
  f.writeUInt16BE(1, 14); // Ethernet
  f.writeUInt16BE(0x0800, 16); // IPv4
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(1, 20); // request
  macBytes(mac).copy(f, 22);
  ip(vip).copy(f, 28);
  // target hardware address stays zero
  ip(vip).copy(f, 38);
  return f;
}


/** From `src` (our link-local address) to ff02::1, hop limit 255. */
export function unsolicitedNa(vip: string, mac: string, src: string): Buffer {
  const icmp = Buffer.alloc(32);
  icmp[0] = 136; // Neighbor Advertisement
  icmp.writeUInt32BE(0x20000000, 4); // Override
  ip(vip).copy(icmp, 8);
  icmp[24] = 2; // target link-layer address option
  icmp[25] = 1;
  macBytes(mac).copy(icmp, 26);
  const dst = 'ff02::1';
  const pseudo = Buffer.alloc(40);
  ip(src).copy(pseudo, 0);
  ip(dst).copy(pseudo, 16);
  pseudo.writeUInt32BE(icmp.length, 32);
  pseudo[39] = 58;
  icmp.writeUInt16BE(inetChecksum(pseudo, icmp), 2);
  const hdr = Buffer.alloc(54);
  Buffer.from([0x33, 0x33, 0, 0, 0, 1]).copy(hdr, 0);
  macBytes(mac).copy(hdr, 6);
  hdr.writeUInt16BE(0x86dd, 12);
  hdr.writeUInt32BE(0x60000000, 14);
  hdr.writeUInt16BE(icmp.length, 18);
  hdr[20] = 58;
  hdr[21] = 255;
  ip(src).copy(hdr, 22);
  ip(dst).copy(hdr, 38);
  return Buffer.concat([hdr, icmp]);
}
