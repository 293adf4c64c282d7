// The Internet checksum (RFC 1071) over the concatenation of `parts`
// (pseudo-header first where the protocol has one).
export function inetChecksum(...parts: Buffer[]): number {
  let s = 0;
  let odd: number | undefined;
  for (const p of parts) {
    let i = 0;
    if (odd !== undefined && p.length > 0) {
      s += (odd << 8) | p[0]!;
      odd = undefined;
      i = 1;
    }
    for (; i + 1 < p.length; i += 2) s += p.readUInt16BE(i);
    if (i < p.length) odd = p[i];
  }
  if (odd !== undefined) s += odd << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
