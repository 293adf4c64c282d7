// Weighted round-robin sequences for the rr/wrr schedulers: the data plane
// steps a per-CPU cursor through this sequence. The order is the "smooth"
// weighted round-robin (each step picks the real with the highest running
// credit), which interleaves reals instead of sending bursts to one: weights
// 5:1:1 give a a b a c a a, not a a a a a b c. Over a full sequence each real
// appears exactly weight/gcd times.

export interface WrrReal {
  id: number;
  weight: number;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * The sequence of real ids. Reals of weight 0 are absent. When the exact
 * sequence would be longer than `maxLength`, weights are scaled down in
 * proportion (each positive weight stays >= 1) until it fits.
 */
export function buildWrrSequence(reals: readonly WrrReal[], maxLength: number): Uint32Array {
  for (const r of reals) {
    if (!Number.isInteger(r.weight) || r.weight < 0) throw new RangeError(`real ${r.id}: weight ${r.weight} is not an integer >= 0`);
  }
  let live = reals.filter((r) => r.weight > 0).map((r) => ({ id: r.id, weight: r.weight }));
  if (live.length === 0) return new Uint32Array(0);
  if (live.length > maxLength) throw new RangeError(`${live.length} reals do not fit a sequence of ${maxLength}`);

  const reduce = (ws: { id: number; weight: number }[]): { id: number; weight: number }[] => {
    const g = ws.reduce((acc, r) => gcd(acc, r.weight), 0);
    return ws.map((r) => ({ id: r.id, weight: r.weight / g }));
  };
  live = reduce(live);
  let total = live.reduce((s, r) => s + r.weight, 0);
  if (total > maxLength) {
    const scale = (maxLength - live.length) / total;
    live = reduce(live.map((r) => ({ id: r.id, weight: Math.max(1, Math.floor(r.weight * scale)) })));
    total = live.reduce((s, r) => s + r.weight, 0);
  }

  const seq = new Uint32Array(total);
  const current = live.map(() => 0);
  for (let step = 0; step < total; step++) {
    let best = 0;
    for (let i = 0; i < live.length; i++) {
      current[i] = current[i] + (live[i].weight);
      if (current[i] > current[best]) best = i;
    }
    current[best] -= total;
    seq[step] = live[best].id;
  }
  return seq;
}
