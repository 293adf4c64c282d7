// VRRP advertisement codec: version 2 (RFC 3768 section 5) and version 3
// (RFC 5798 section 5), IPv4 and IPv6. The IP header is the kernel's (raw
// socket); this is the VRRP message after it.
//
//  v2: ver|type  VRID  priority  count  auth-type  adver-int(s)  checksum  IPv4 addrs  auth data(8)
//  v3: ver|type  VRID  priority  count  rsvd(4)|max-adver-int(12, centiseconds)  checksum  addrs
//
// The v2 checksum covers the VRRP message; the v3 one also an IPv4/IPv6
// pseudo-header (RFC 5798 5.2.8), unless keepalived's old_unicast_checksum
// (v3_checksum_as_v2) asks for the v2 way.
import ipaddr from 'ipaddr.js';
import { inetChecksum } from './checksum';

export const VRRP_PROTO = 112;
export const VRRP_TTL = 255;
export const VRRP_MCAST4 = '224.0.0.18';
export const VRRP_MCAST6 = 'ff02::12';
const TYPE_ADVERTISEMENT = 1;
const AUTH_NONE = 0;
const AUTH_PASS = 1;

export type Family = 'inet' | 'inet6';

export interface Advert {
  version: 2 | 3;
  vrid: number;
  priority: number;
  /** advertisement interval in centiseconds (v2 carries whole seconds) */
  advertIntCs: number;
  addresses: string[];
  /** v2 simple password (at most 8 bytes) */
  authPass?: string;
}

/** Why a received advertisement was dropped (RFC 5798 7.1, RFC 3768 7.1); counted by reason. */
export type DropReason = 'ttl' | 'version' | 'type' | 'length' | 'checksum' | 'vrid' | 'interval' | 'auth';

export interface Expect {
  family: Family;
  version: 2 | 3;
  vrid: number;
  /** v2 only: adverts with another interval are dropped */
  advertIntCs: number;
  authPass?: string;
  checksumAsV2?: boolean;
}

export interface Received {
  /** TTL / hop limit the packet arrived with */
  ttl: number;
  src: string;
  dst: string;
}

function addrBytes(a: string): Buffer {
  return Buffer.from(ipaddr.parse(a).toByteArray());
}

function pseudoHeader(family: Family, src: string, dst: string, len: number): Buffer {
  if (family === 'inet') {
    const p = Buffer.alloc(12);
    addrBytes(src).copy(p, 0);
    addrBytes(dst).copy(p, 4);
    p[9] = VRRP_PROTO;
    p.writeUInt16BE(len, 10);
    return p;
  }
  const p = Buffer.alloc(40);
  addrBytes(src).copy(p, 0);
  addrBytes(dst).copy(p, 16);
  p.writeUInt32BE(len, 32);
  p[39] = VRRP_PROTO;
  return p;
}

/** The checksum of `msg` (its checksum field zero) as version and options want. */
export function vrrpChecksum(msg: Buffer, version: 2 | 3, family: Family, src: string, dst: string, asV2 = false): number {
  if (version === 2 || asV2) return inetChecksum(msg);
  return inetChecksum(pseudoHeader(family, src, dst, msg.length), msg);
}

/** Encodes an advertisement; src/dst are the IP header's, for the v3 checksum. */
export function encodeAdvert(a: Advert, family: Family, src: string, dst: string, checksumAsV2 = false): Buffer {
  const alen = family === 'inet' ? 4 : 16;
  const auth = a.version === 2 ? 8 : 0;
  // the count is one byte: the configuration refuses more (keepalived/vrrp.ts), this never wraps
  if (a.addresses.length > 255) throw new RangeError(`a VRRP advert carries at most 255 addresses, not ${a.addresses.length}`);
  const msg = Buffer.alloc(8 + a.addresses.length * alen + auth);
  msg[0] = (a.version << 4) | TYPE_ADVERTISEMENT;
  msg[1] = a.vrid;
  msg[2] = a.priority;
  msg[3] = a.addresses.length;
  if (a.version === 2) {
    msg[4] = a.authPass !== undefined ? AUTH_PASS : AUTH_NONE;
    msg[5] = Math.max(1, Math.round(a.advertIntCs / 100));
  } else {
    msg.writeUInt16BE(a.advertIntCs & 0x0fff, 4);
  }
  a.addresses.forEach((addr, i) => addrBytes(addr).copy(msg, 8 + i * alen));
  if (a.version === 2 && a.authPass !== undefined) Buffer.from(a.authPass.slice(0, 8)).copy(msg, 8 + a.addresses.length * alen);
  msg.writeUInt16BE(vrrpChecksum(msg, a.version, family, src, dst, checksumAsV2), 6);
  return msg;
}

function addrText(b: Buffer): string {
  return ipaddr.fromByteArray([...b]).toString();
}

/** Decodes and validates an advertisement, or names why it must be dropped. */
export function decodeAdvert(msg: Buffer, rx: Received, want: Expect): { ok: true; advert: Advert } | { ok: false; reason: DropReason } {
  if (rx.ttl !== VRRP_TTL) return { ok: false, reason: 'ttl' };
  if (msg.length < 8) return { ok: false, reason: 'length' };
  const version = msg[0]! >> 4;
  if (version !== want.version) return { ok: false, reason: 'version' };
  if ((msg[0]! & 0x0f) !== TYPE_ADVERTISEMENT) return { ok: false, reason: 'type' };
  const alen = want.family === 'inet' ? 4 : 16;
  const count = msg[3]!;
  const auth = version === 2 ? 8 : 0;
  // a v2 sender may leave the auth data off when it does not authenticate
  const minLen = 8 + count * alen;
  if (msg.length < minLen || msg.length > minLen + auth) return { ok: false, reason: 'length' };
  const check = Buffer.from(msg);
  check.writeUInt16BE(0, 6);
  if (vrrpChecksum(check, want.version, want.family, rx.src, rx.dst, want.checksumAsV2) !== msg.readUInt16BE(6)) return { ok: false, reason: 'checksum' };
  if (msg[1] !== want.vrid) return { ok: false, reason: 'vrid' };
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) addresses.push(addrText(msg.subarray(8 + i * alen, 8 + (i + 1) * alen)));
  let advertIntCs: number;
  let authPass: string | undefined;
  if (version === 2) {
    advertIntCs = msg[5]! * 100;
    if (advertIntCs !== Math.max(100, Math.round(want.advertIntCs / 100) * 100)) return { ok: false, reason: 'interval' };
    const type = msg[4]!;
    if (want.authPass !== undefined) {
      const got = msg.subarray(minLen, minLen + 8);
      const expected = Buffer.alloc(8);
      Buffer.from(want.authPass.slice(0, 8)).copy(expected);
      if (type !== AUTH_PASS || got.length !== 8 || !got.equals(expected)) return { ok: false, reason: 'auth' };
      authPass = want.authPass;
    } else if (type !== AUTH_NONE) {
      return { ok: false, reason: 'auth' };
    }
  } else {
    advertIntCs = msg.readUInt16BE(4) & 0x0fff;
    // 0 is no interval (RFC 5798 5.2.7 counts from 1 centisecond): adopting it
    // would make Master_Down_Interval Skew_Time alone, about 0, and the backup flap
    if (advertIntCs === 0) return { ok: false, reason: 'interval' };
  }
  return {
    ok: true,
    advert: { version: version as 2 | 3, vrid: msg[1]!, priority: msg[2]!, advertIntCs, addresses, ...(authPass !== undefined ? { authPass } : {}) },
  };
}
