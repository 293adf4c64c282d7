// Addresses as values every layer shares: parsed once (the configuration, a
// CLI flag), then compared by their bytes and printed in one canonical form
// (RFC 5952 for IPv6), so "2001:DB8::1" and "2001:db8::1" are one VIP. No
// I/O and no map layout here: the data plane's 16-byte form is
// dataplane/addr.ts. toJSON prints the text, so a model holding these stays
// JSON-printable (`xdpvs check`, `list`) and its JSON compares by value.
import ipaddr from 'ipaddr.js';

export type AddrFamily = 'inet' | 'inet6';

export class Addr {
  /** 4 bytes (IPv4) or 16 (IPv6), network order */
  readonly bytes: Buffer;
  private readonly text: string;

  private constructor(bytes: Uint8Array) {
    this.bytes = Buffer.from(bytes);
    this.text = ipaddr.fromByteArray([...this.bytes]).toString();
  }

  /** 4 bytes: IPv4; 16: IPv6. */
  static fromBytes(bytes: Uint8Array): Addr {
    if (bytes.length !== 4 && bytes.length !== 16) throw new RangeError(`an address is 4 or 16 bytes, got ${bytes.length}`);
    return new Addr(bytes);
  }

  get family(): AddrFamily {
    return this.bytes.length === 4 ? 'inet' : 'inet6';
  }

  get v6(): boolean {
    return this.bytes.length === 16;
  }

  equals(other: Addr): boolean {
    return this.bytes.equals(other.bytes);
  }

  toString(): string {
    return this.text;
  }

  toJSON(): string {
    return this.text;
  }
}

/** Parses an IPv4 or IPv6 address; throws naming `what` when it is not one. */
export function parseAddr(text: string, what = 'address'): Addr {
  // strict dotted quad, as inet_pton: no "10.1.2" or "0x0a.1.2.3" shorthands
  const valid = ipaddr.IPv4.isValidFourPartDecimal(text) || (text.includes(':') && ipaddr.IPv6.isValid(text));
  if (!valid) throw new Error(`${what}: "${text}" is not an IPv4 or IPv6 address`);
  return Addr.fromBytes(Uint8Array.from(ipaddr.parse(text).toByteArray()));
}

/** Both absent, or the same address. */
export function sameAddr(a: Addr | undefined, b: Addr | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}

/** "192.0.2.1:80", "[2001:db8::1]:80": the form keys and the CLI use. */
export function endpointText(addr: Addr, port: number): string {
  return addr.v6 ? `[${addr}]:${port}` : `${addr}:${port}`;
}

export class Prefix {
  private constructor(
    readonly addr: Addr,
    /** 0..32 for IPv4, 0..128 for IPv6 */
    readonly len: number,
  ) {}

  /** `addr` with its host bits cleared, or an error naming the masked form. */
  static of(addr: Addr, len: number): Prefix {
    const max = addr.bytes.length * 8;
    if (!Number.isInteger(len) || len < 0 || len > max) throw new RangeError(`prefix length ${len} is not between 0 and ${max}`);
    return new Prefix(Addr.fromBytes(mask(addr.bytes, len)), len);
  }

  /** Whether `a` lies in this prefix (an address of the other family never does). */
  contains(a: Addr): boolean {
    return a.bytes.length === this.addr.bytes.length && mask(a.bytes, this.len).equals(this.addr.bytes);
  }

  equals(other: Prefix): boolean {
    return this.len === other.len && this.addr.equals(other.addr);
  }

  toString(): string {
    return `${this.addr}/${this.len}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

function mask(bytes: Buffer, len: number): Buffer {
  const out = Buffer.from(bytes);
  for (let bit = len; bit < out.length * 8; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return out;
}

/**
 * "10.0.2.0/24", "fd00::/64", or a bare address (a /32 or /128). Host bits
 * must be zero: "10.0.2.1/24" is refused naming 10.0.2.0/24, as a typo for a
 * single address would otherwise widen silently to its whole subnet.
 */
export function parsePrefix(text: string, what = 'prefix'): Prefix {
  const slash = text.indexOf('/');
  const a = parseAddr(slash < 0 ? text : text.slice(0, slash), what);
  const max = a.bytes.length * 8;
  const lenText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
    throw new Error(`${what}: "${text}" has no prefix length between 0 and ${max}`);
  }
  const p = Prefix.of(a, Number(lenText));
  if (!p.addr.equals(a)) throw new Error(`${what}: "${text}" has host bits set: did you mean ${p}?`);
  return p;
}

export class Mac {
  /** 6 bytes */
  readonly bytes: Buffer;

  private constructor(bytes: Uint8Array) {
    this.bytes = Buffer.from(bytes);
  }

  static fromBytes(bytes: Uint8Array): Mac {
    if (bytes.length !== 6) throw new RangeError(`a MAC address is 6 bytes, got ${bytes.length}`);
    return new Mac(bytes);
  }

  get zero(): boolean {
    return this.bytes.every((b) => b === 0);
  }

  equals(other: Mac): boolean {
    return this.bytes.equals(other.bytes);
  }

  toString(): string {
    return [...this.bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
  }

  toJSON(): string {
    return this.toString();
  }
}

/** "aa:bb:cc:dd:ee:ff" (or with '-'). */
export function parseMac(text: string, what = 'MAC address'): Mac {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new Error(`${what}: "${text}" is not a MAC address like 02:00:00:00:00:01`);
  }
  return Mac.fromBytes(Uint8Array.from(parts.map((p) => parseInt(p, 16))));
}
