// Addresses in the byte layouts of the ABI: an address is 16 bytes, IPv4 in
// the first four and the rest zero, beside an AF_INET / AF_INET6 family
// (bpf/include/xdpvs.h). The values themselves are net/addr.ts.
import { Addr, Prefix, type AddrFamily as NetFamily } from '../net/addr';
import { Family } from './abi';

export type AddrFamily = typeof Family.XDPVS_AF_INET | typeof Family.XDPVS_AF_INET6;

export interface AddrBytes {
  family: AddrFamily;
  /** 16 bytes */
  bytes: Buffer;
}

export interface PrefixBytes extends AddrBytes {
  /** prefix length in bits: 0..32 for IPv4, 0..128 for IPv6 */
  len: number;
}

export function abiFamily(f: Addr | NetFamily): AddrFamily {
  const name = typeof f === 'string' ? f : f.family;
  return name === 'inet' ? Family.XDPVS_AF_INET : Family.XDPVS_AF_INET6;
}

export function addrBytes(a: Addr): AddrBytes {
  const bytes = Buffer.alloc(16);
  a.bytes.copy(bytes, 0);
  return { family: abiFamily(a), bytes };
}

/** The address a map entry holds (any family but AF_INET reads as IPv6, as the program does). */
export function addrFromBytes(bytes: Buffer, family: number): Addr {
  return Addr.fromBytes(bytes.subarray(0, family === Family.XDPVS_AF_INET ? 4 : 16));
}

export function prefixBytes(p: Prefix): PrefixBytes {
  return { ...addrBytes(p.addr), len: p.len };
}

export function prefixFromBytes(p: PrefixBytes): Prefix {
  return Prefix.of(addrFromBytes(p.bytes, p.family), p.len);
}
