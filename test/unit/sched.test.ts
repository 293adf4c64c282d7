// Scheduling tables: the Maglev properties that matter to operators
// (balance, weights, minimal disruption, determinism) and the weighted
// round-robin sequence.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { buildMaglevRing, DEFAULT_RING_SIZE, isPrime, type MaglevReal } from '../../agent/sched/maglev';
import { buildWrrSequence } from '../../agent/sched/wrr';

const M = DEFAULT_RING_SIZE;
const reals = (n: number, weight = (_i: number) => 1): MaglevReal[] =>
  Array.from({ length: n }, (_, i) => ({ key: `10.0.${i >> 8}.${i & 255}:80`, id: i + 1, weight: weight(i) }));

function shares(ring: Uint32Array): Map<number, number> {
  const count = new Map<number, number>();
  for (const id of ring) count.set(id, (count.get(id) ?? 0) + 1);
  return count;
}

describe('Maglev ring', () => {
  it('with N equal reals every real owns within 1% of M/N slots', () => {
    for (const n of [3, 10, 100]) {
      const count = shares(buildMaglevRing(reals(n), M));
      assert.equal(count.size, n);
      for (const [id, c] of count) {
        assert.ok(Math.abs(c - M / n) <= 0.01 * (M / n), `n=${n} real ${id}: ${c} slots, ideal ${M / n}`);
      }
    }
  });

  it('with weights, slot shares follow weights within 1%', () => {
    const weights = [1, 2, 3, 4, 10];
    const total = weights.reduce((a, b) => a + b, 0);
    const count = shares(buildMaglevRing(reals(weights.length, (i) => weights[i] ?? 0), M));
    weights.forEach((w, i) => {
      const share = (count.get(i + 1) ?? 0) / M;
      assert.ok(Math.abs(share - w / total) <= 0.01 * (w / total), `weight ${w}: share ${share}, ideal ${w / total}`);
    });
  });

  it('removing one of N reals moves at most its own slots plus 1% of the ring', () => {
    for (const n of [5, 50]) {
      const all = reals(n);
      const before = buildMaglevRing(all, M);
      const gone = all[Math.floor(n / 2)]!;
      const after = buildMaglevRing(all.filter((r) => r !== gone), M);
      let moved = 0;
      for (let s = 0; s < M; s++) if (before[s] !== gone.id && before[s] !== after[s]) moved++;
      assert.ok(moved <= 0.01 * M, `n=${n}: ${moved} slots of surviving reals moved`);
      assert.ok(!after.includes(gone.id));
    }
  });

  it('a weight change moves only a small part of the ring', () => {
    const all = reals(10);
    const before = buildMaglevRing(all, M);
    const after = buildMaglevRing(all.map((r, i) => (i === 3 ? { ...r, weight: 2 } : r)), M);
    let moved = 0;
    for (let s = 0; s < M; s++) if (before[s] !== after[s]) moved++;
    // real 4 gains about 1/11 of the ring; the rest should stay put
    assert.ok(moved <= 0.2 * M, `${moved} slots moved`);
  });

  it('is the same whatever order the reals come in (every director builds the same ring)', () => {
    const all = reals(20, (i) => 1 + (i % 3));
    const shuffled = [...all].reverse();
    assert.deepEqual(buildMaglevRing(shuffled, 251), buildMaglevRing(all, 251));
  });

  it('reals of weight 0 own no slot; with none of positive weight the ring is empty (all 0)', () => {
    const ring = buildMaglevRing(reals(3, (i) => (i === 1 ? 0 : 1)), 251);
    assert.ok(!ring.includes(2));
    assert.deepEqual([...new Set(buildMaglevRing(reals(2, () => 0), 251))], [0]);
    assert.deepEqual([...new Set(buildMaglevRing([], 251))], [0]);
  });

  it('refuses a size that is not prime, a duplicate real and a bad weight', () => {
    assert.throws(() => buildMaglevRing(reals(2), 65536), /ring size 65536 is not a prime/);
    assert.throws(() => buildMaglevRing([...reals(1), ...reals(1)], 251), /real 10.0.0.0:80 appears twice/);
    assert.throws(() => buildMaglevRing(reals(1, () => 1.5), 251), /weight 1.5 is not an integer >= 0/);
    assert.equal(isPrime(65537), true);
    assert.equal(isPrime(65535), false);
  });
});

describe('weighted round-robin sequence', () => {
  it('each real appears weight/gcd times, interleaved smoothly', () => {
    const seq = buildWrrSequence(
      [
        { id: 1, weight: 5 },
        { id: 2, weight: 1 },
        { id: 3, weight: 1 },
      ],
      1000,
    );
    assert.deepEqual([...seq], [1, 1, 2, 1, 3, 1, 1]);
    const reduced = buildWrrSequence(
      [
        { id: 1, weight: 30 },
        { id: 2, weight: 20 },
        { id: 3, weight: 10 },
      ],
      1000,
    );
    assert.deepEqual([...reduced].sort(), [1, 1, 1, 2, 2, 3]);
  });

  it('rr is wrr with equal weights: each real once, in order', () => {
    assert.deepEqual([...buildWrrSequence([4, 5, 6].map((id) => ({ id, weight: 1 })), 10)], [4, 5, 6]);
  });

  it('weight 0 reals are skipped; none left gives an empty sequence', () => {
    assert.deepEqual([...buildWrrSequence([{ id: 1, weight: 0 }, { id: 2, weight: 3 }], 10)], [2]);
    assert.equal(buildWrrSequence([{ id: 1, weight: 0 }], 10).length, 0);
  });

  it('a sequence longer than the limit is scaled down keeping every real and the ratio roughly', () => {
    const seq = buildWrrSequence(
      [
        { id: 1, weight: 65535 },
        { id: 2, weight: 30000 },
        { id: 3, weight: 1 },
      ],
      1000,
    );
    assert.ok(seq.length <= 1000);
    const c = shares(seq);
    assert.ok((c.get(3) ?? 0) >= 1);
    const ratio = (c.get(1) ?? 0) / (c.get(2) ?? 1);
    assert.ok(Math.abs(ratio - 65535 / 30000) < 0.05, `ratio ${ratio}`);
  });
});
