// The agent's one equality of values: whether two configurations, checks or
// next hops are the same, for every owner that keeps state across a reload or
// a lookup. Structural: plain objects and arrays compare member by member,
// values with their own `equals` (Addr, Prefix, Mac, Buffer) by it. Where a
// thing was written is not what it is: `loc` (file:line) members are ignored,
// and so is a member that is undefined.

type Equatable = { equals(other: unknown): boolean };

const isEquatable = (x: object): x is Equatable => typeof (x as Partial<Equatable>).equals === 'function';

const members = (o: object): string[] => Object.keys(o).filter((k) => k !== 'loc' && (o as Record<string, unknown>)[k] !== undefined);

export function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return Number.isNaN(a) && Number.isNaN(b);
  if (isEquatable(a)) return Object.getPrototypeOf(a) === Object.getPrototypeOf(b) && a.equals(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  }
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map && b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !same(v, b.get(k))) return false;
    return true;
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = members(a);
  const kb = members(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && same(ra[k], rb[k]));
}
