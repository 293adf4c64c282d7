// IP and MAC addresses in the byte layouts of the ABI: an address is 16
// bytes, IPv4 in the first four and the rest zero (bpf/include/xdpvs.h).
import ipaddr from 'ipaddr.js';
import { Family } from './abi';

export type AddrFamily = typeof Family.XDPVS_AF_INET | typeof Family.XDPVS_AF_INET6;

export interface AddrBytes {
  family: AddrFamily;
  bytes: Buffer;
}

/** Parses an IPv4 or IPv6 address; throws naming `what` when it is not one. */
export function parseAddr(text: string, what = 'address'): AddrBytes {
  // strict dotted quad, as inet_pton: no "10.1.2" or "0x0a.1.2.3" shorthands
  const valid = ipaddr.IPv4.isValidFourPartDecimal(text) || (text.includes(':') && ipaddr.IPv6.isValid(text));
  if (!valid) throw new Error(`${what}: "${text}" is not an IPv4 or IPv6 address`);
  const ip = ipaddr.parse(text);
  const bytes = Buffer.alloc(16);
  Buffer.from(ip.toByteArray()).copy(bytes, 0);
  return { family: ip.kind() === 'ipv4' ? Family.XDPVS_AF_INET : Family.XDPVS_AF_INET6, bytes };
}

export function formatAddr(bytes: Buffer, family: number): string {
  if (family === Family.XDPVS_AF_INET) return ipaddr.fromByteArray([...bytes.subarray(0, 4)]).toString();
  return ipaddr.fromByteArray([...bytes.subarray(0, 16)]).toString();
}

export interface PrefixBytes extends AddrBytes {
  /** prefix length in bits: 0..32 for IPv4, 0..128 for IPv6 */
  len: number;
}

/**
 * "10.0.2.0/24", "fd00::/64", or a bare address (a /32 or /128). Host bits
 * must be zero: "10.0.2.1/24" is refused naming 10.0.2.0/24, as a typo for a
 * single address would otherwise widen silently to its whole subnet.
 */
export function parsePrefix(text: string, what = 'prefix'): PrefixBytes {
  const slash = text.indexOf('/');
  const a = parseAddr(slash < 0 ? text : text.slice(0, slash), what);
  const max = a.family === Family.XDPVS_AF_INET ? 32 : 128;
  const lenText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
    throw new Error(`${what}: "${text}" has no prefix length between 0 and ${max}`);
  }
  const len = Number(lenText);
  const masked = Buffer.from(a.bytes);
  for (let bit = len; bit < max; bit++) masked[bit >> 3]! &= ~(0x80 >> (bit & 7));
  if (!masked.equals(a.bytes)) {
    throw new Error(`${what}: "${text}" has host bits set: did you mean ${formatAddr(masked, a.family)}/${len}?`);
  }
  return { family: a.family, bytes: a.bytes, len };
}

export function formatPrefix(p: PrefixBytes): string {
  return `${formatAddr(p.bytes, p.family)}/${p.len}`;
}

/** "aa:bb:cc:dd:ee:ff" (or with '-') -> 6 bytes. */
export function parseMac(text: string, what = 'MAC address'): Buffer {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new Error(`${what}: "${text}" is not a MAC address like 02:00:00:00:00:01`);
  }
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(bytes: Buffer): string {
  return [...bytes.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
