// Weighted Maglev consistent hashing (Eisenbud et al., NSDI 2016, section
// 3.4) for the director's mh/sh/dh rings. Every director builds the same ring
// from the same reals, so a flow lands on the same real whichever director
// receives it.
//
// Hash (documented, so other tools can rebuild a ring): SHA-256 of the real's
// key string (e.g. "10.0.1.1:80"); offset = first 8 bytes (big endian) mod M,
// skip = next 8 bytes mod (M - 1) + 1. Weights: in every round each real
// adds its weight to a credit and claims one slot per `maxWeight` of credit,
// so slot shares follow weights.
import { createHash } from 'node:crypto';
import { isPrime, RING_SIZE } from '../net/limits';

export interface MaglevReal {
  /** stable identity of the real, e.g. "10.0.1.1:80" */
  key: string;
  /** the value stored in the ring's slots (the real's id in the data plane) */
  id: number;
  weight: number;
}

export { isPrime };
export const DEFAULT_RING_SIZE: number = RING_SIZE.default;

function permutation(key: string, size: number): { offset: number; skip: number } {
  const digest = createHash('sha256').update(key).digest();
  const h1 = digest.readBigUInt64BE(0);
  const h2 = digest.readBigUInt64BE(8);
  return { offset: Number(h1 % BigInt(size)), skip: Number(h2 % BigInt(size - 1)) + 1 };
}

/**
 * The ring: `size` slots, each holding a real's id. Reals of weight 0 get no
 * slot; with no real of positive weight the ring is all zeros (no real).
 */
export function buildMaglevRing(reals: readonly MaglevReal[], size = DEFAULT_RING_SIZE): Uint32Array {
  if (!isPrime(size)) throw new RangeError(`ring size ${size} is not a prime`);
  const keys = new Set<string>();
  for (const r of reals) {
    if (keys.has(r.key)) throw new Error(`real ${r.key} appears twice in one ring`);
    keys.add(r.key);
    if (!Number.isInteger(r.weight) || r.weight < 0) throw new RangeError(`real ${r.key}: weight ${r.weight} is not an integer >= 0`);
  }
  // sorted by key: the ring does not depend on the order reals were given in
  const live = reals.filter((r) => r.weight > 0).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const ring = new Uint32Array(size);
  if (live.length === 0) return ring;

  const n = live.length;
  const offset = new Uint32Array(n);
  const skip = new Uint32Array(n);
  const next = new Uint32Array(n);
  const weight = new Float64Array(n);
  const credit = new Float64Array(n);
  let maxWeight = 0;
  live.forEach((r, i) => {
    const p = permutation(r.key, size);
    offset[i] = p.offset;
    skip[i] = p.skip;
    weight[i] = r.weight;
    maxWeight = Math.max(maxWeight, r.weight);
  });

  const taken = new Uint8Array(size);
  let filled = 0;
  while (filled < size) {
    for (let i = 0; i < n && filled < size; i++) {
      credit[i] += weight[i];
      if (credit[i] < maxWeight) continue;
      credit[i] -= maxWeight;
      // the real's next preferred slot that is still free
      let c = (offset[i] + next[i] * skip[i]) % size;
      while (taken[c]) {
        next[i]++;
        c = (offset[i] + next[i] * skip[i]) % size;
      }
      taken[c] = 1;
      ring[c] = live[i].id;
      next[i]++;
      filled++;
    }
  }
  return ring;
}
