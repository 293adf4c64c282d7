// An independent TypeScript lookup3 "hashword" (the kernel's jhash2), to
// predict the data plane's flow hash as README "Flow hash" documents it.
import { isV6, ip } from './packet';

const rol = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

export function jhash2(words: number[], initval: number): number {
  let a = (0xdeadbeef + (words.length << 2) + initval) >>> 0;
  let b = a;
  let c = a;
  let i = 0;
  let len = words.length;
  while (len > 3) {
    a = (a + (words[i] ?? 0)) >>> 0;
    b = (b + (words[i + 1] ?? 0)) >>> 0;
    c = (c + (words[i + 2] ?? 0)) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rol(c, 4)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol(a, 6)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol(b, 8)) >>> 0; b = (b + a) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rol(c, 16)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol(a, 19)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol(b, 4)) >>> 0; b = (b + a) >>> 0;
    i += 3;
    len -= 3;
  }
  if (len === 0) return c;
  if (len >= 3) c = (c + (words[i + 2] ?? 0)) >>> 0;
  if (len >= 2) b = (b + (words[i + 1] ?? 0)) >>> 0;
  a = (a + (words[i] ?? 0)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol(b, 14)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol(c, 11)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol(a, 25)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol(b, 16)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol(c, 4)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol(a, 14)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol(b, 24)) >>> 0;
  return c;
}

export const HASH_SEED = 0x9e3779b9;

/** An address as the 4 host-order words the BPF program loads from memory. */
function addrWords(addr: string): number[] {
  const b = Buffer.alloc(16);
  ip(addr).copy(b);
  return [0, 4, 8, 12].map((o) => b.readUInt32LE(o));
}

export function flowHash(client: string, server: string, sport: number, dport: number, proto: number): number {
  return jhash2([...addrWords(client), ...addrWords(server), ((sport << 16) | dport) >>> 0, proto], HASH_SEED);
}

export function addrHash(addr: string): number {
  return jhash2(addrWords(addr), HASH_SEED);
}

export { isV6 };
