// Value checks shared by both front ends: each reports at the value's
// file:line with the expected form or range, and returns undefined when the
// value is unusable so that reading can go on and list every error.
import { parseAddr, type Addr } from '../net/addr';
import { isPrime, RING_SIZE } from '../net/limits';
import { ConfigCode, type Diagnostic, type SourceLoc } from './diagnostics';

export class Collector {
  readonly diagnostics: Diagnostic[] = [];

  error(loc: SourceLoc, message: string, code: Diagnostic['code'] = ConfigCode.INVALID_VALUE): void {
    this.diagnostics.push({ severity: 'error', code, loc, message });
  }

  warn(loc: SourceLoc, message: string, code: Diagnostic['code'] = ConfigCode.UNKNOWN_KEYWORD): void {
    this.diagnostics.push({ severity: 'warning', code, loc, message });
  }

  get failed(): boolean {
    return this.diagnostics.some((d) => d.severity === 'error');
  }
}

/** An integer in [min, max]. */
export function int(c: Collector, loc: SourceLoc, what: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined || !/^-?\d+$/.test(text)) {
    c.error(loc, `${what} wants an integer from ${min} to ${max}, got ${text === undefined ? 'nothing' : `"${text}"`}`);
    return undefined;
  }
  const n = Number(text);
  if (n < min || n > max) {
    c.error(loc, `${what} ${n} is out of range ${min}..${max}`);
    return undefined;
  }
  return n;
}

/** Seconds, possibly fractional (keepalived accepts "2.5"), in [min, max]. */
export function seconds(c: Collector, loc: SourceLoc, what: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined || !/^\d+(\.\d+)?$/.test(text)) {
    c.error(loc, `${what} wants seconds from ${min} to ${max}, got ${text === undefined ? 'nothing' : `"${text}"`}`);
    return undefined;
  }
  const n = Number(text);
  if (n < min || n > max) {
    c.error(loc, `${what} ${n} is out of range ${min}..${max} seconds`);
    return undefined;
  }
  return n;
}

export function address(c: Collector, loc: SourceLoc, what: string, text: string | undefined): Addr | undefined {
  try {
    return parseAddr(text ?? '', what);
  } catch (err) {
    c.error(loc, (err as Error).message);
    return undefined;
  }
}

export function port(c: Collector, loc: SourceLoc, what: string, text: string | undefined, allowZero = false): number | undefined {
  return int(c, loc, what, text, allowZero ? 0 : 1, 65535);
}

export function oneOf<T extends string>(c: Collector, loc: SourceLoc, what: string, text: string | undefined, choices: readonly T[]): T | undefined {
  const v = text?.toLowerCase();
  if (v !== undefined && (choices as readonly string[]).includes(v)) return v as T;
  c.error(loc, `${what} wants one of ${choices.join(', ')}, got ${text === undefined ? 'nothing' : `"${text}"`}`);
  return undefined;
}

export function ringSize(c: Collector, loc: SourceLoc, what: string, text: string | undefined): number | undefined {
  const n = int(c, loc, what, text, RING_SIZE.min, RING_SIZE.max);
  if (n !== undefined && !isPrime(n)) {
    c.error(loc, `${what} ${n} is not a prime (Maglev needs one; ${RING_SIZE.default} is the default)`);
    return undefined;
  }
  return n;
}

/** "200", "200-299", or several separated by commas or blanks -> inclusive ranges. */
export function statusCodes(c: Collector, loc: SourceLoc, words: string[]): [number, number][] | undefined {
  const out: [number, number][] = [];
  for (const part of words.join(',').split(/[,\s]+/).filter(Boolean)) {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(part);
    const lo = Number(m?.[1]);
    const hi = Number(m?.[2] ?? m?.[1]);
    if (!m || lo < 100 || hi > 599 || lo > hi) {
      c.error(loc, `status_code wants codes or ranges from 100 to 599 (e.g. 200 or 200-299), got "${part}"`);
      return undefined;
    }
    out.push([lo, hi]);
  }
  if (out.length === 0) {
    c.error(loc, 'status_code wants at least one code');
    return undefined;
  }
  return out;
}

/** An MD5 hex digest, as keepalived's genhash prints it; lower-cased. */
export function digest(c: Collector, loc: SourceLoc, what: string, text: string | undefined): string | undefined {
  if (text !== undefined && /^[0-9a-fA-F]{32}$/.test(text)) return text.toLowerCase();
  c.error(loc, `${what} wants an MD5 hex digest (32 hex digits), got "${text ?? ''}"`);
  return undefined;
}
