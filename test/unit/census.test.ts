// The flow census on a fake flow table and a fake clock: one walk in bounded
// turns, a snapshot every consumer shares, readers that never walk.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { FlowCensus, type FlowReader, type FlowSnapshot } from '../../agent/dataplane/census';
import { FakeClock } from '../support/clock';

const CONN = 0;
const PERSIST = 1;
const SECOND = 1e9;

interface Entry {
  kind: number;
  realId: number;
  lastSeen: number;
}

/** A flow table read in batches; each read costs `msPerEntry` of fake time. */
class FakeFlows implements FlowReader {
  reads = 0;
  largestRead = 0;
  /** [start, end] of every read, in fake ms */
  spans: [number, number][] = [];
  failNext = false;

  constructor(
    public entries: Entry[],
    private readonly clock: FakeClock,
    private readonly msPerEntry = 0,
  ) {}

  readFlows(cursor: unknown, max: number, visit: (kind: number, realId: number, lastSeen: number) => void): unknown {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('batch lookup in map flows: Bad file descriptor (EBADF)');
    }
    this.reads++;
    const start = this.clock.now();
    const from = (cursor as number | undefined) ?? 0;
    const to = Math.min(from + max, this.entries.length);
    this.largestRead = Math.max(this.largestRead, to - from);
    for (let i = from; i < to; i++) visit(this.entries[i]!.kind, this.entries[i]!.realId, this.entries[i]!.lastSeen);
    // the fake clock stands still inside a turn unless we move it, as a syscall takes time
    (this.clock as unknown as { t: number }).t += (to - from) * this.msPerEntry;
    this.spans.push([start, this.clock.now()]);
    return to < this.entries.length ? to : undefined;
  }
}

function census(flows: FakeFlows, clock: FakeClock, now: number, extra: Partial<ConstructorParameters<typeof FlowCensus>[0]> = {}): { c: FlowCensus; snapshots: FlowSnapshot[] } {
  const snapshots: FlowSnapshot[] = [];
  const c = new FlowCensus({
    reader: flows,
    clock,
    monotonicNs: () => now,
    connKind: CONN,
    activeNs: 60 * SECOND,
    batch: 100,
    budgetMs: 3,
    pauseMs: 10,
    restMs: 2000,
    onSnapshot: (s) => snapshots.push(s),
    ...extra,
  });
  return { c, snapshots };
}

describe('flow census', () => {
  it('counts active and inactive connections per real, and every entry, in one walk', async () => {
    const clock = new FakeClock();
    const now = 1000 * SECOND;
    const entries: Entry[] = [
      ...Array.from({ length: 300 }, () => ({ kind: CONN, realId: 1, lastSeen: now - 5 * SECOND })),
      ...Array.from({ length: 50 }, () => ({ kind: CONN, realId: 1, lastSeen: now - 120 * SECOND })),
      ...Array.from({ length: 100 }, () => ({ kind: CONN, realId: 2, lastSeen: now + 1000 })), // refreshed on another CPU since
      ...Array.from({ length: 7 }, () => ({ kind: PERSIST, realId: 2, lastSeen: now })),
    ];
    const flows = new FakeFlows(entries, clock);
    const { c, snapshots } = census(flows, clock, now);
    assert.equal(c.latest().at, 0, 'nothing before the first walk');
    c.start();
    await clock.advance(100);
    c.stop();
    assert.equal(snapshots.length, 1);
    assert.deepEqual([...c.latest().perReal].sort(), [
      [1, { active: 300, inactive: 50 }],
      [2, { active: 100, inactive: 0 }],
    ]);
    assert.equal(c.latest().entries, 457);
  });

  it('a walk of a big table yields between turns: no turn reads past its budget, reads stay batch-sized', async () => {
    const clock = new FakeClock();
    // 0.01 ms an entry: 100 entries a read = 1 ms; a budget of 3 ms = 3 reads a turn
    const flows = new FakeFlows(Array.from({ length: 100_000 }, () => ({ kind: CONN, realId: 1, lastSeen: 0 })), clock, 0.01);
    const { c, snapshots } = census(flows, clock, 0);
    c.start();
    await clock.advance(20_000);
    c.stop();
    assert.ok(snapshots.length >= 1, 'the walk completed');
    assert.equal(snapshots[0]!.entries, 100_000);
    assert.equal(flows.largestRead, 100);
    // 1000 reads of 1 ms at 3 per turn, a 10 ms pause after each turn
    assert.ok(snapshots[0]!.walkMs >= 1000 + 333 * 10, `walk took ${snapshots[0]!.walkMs} ms: it paused between turns`);
    // a turn: reads back to back, with no time between them
    const turns: number[] = [];
    flows.spans.forEach(([start], i) => (i > 0 && start === flows.spans[i - 1]![1] ? turns[turns.length - 1]!++ : turns.push(1)));
    assert.equal(Math.max(...turns), 3, 'at most 3 reads of 1 ms within a 3 ms budget');
  });

  it('readers get the latest complete snapshot and never trigger a walk; walks repeat after the rest', async () => {
    const clock = new FakeClock();
    const flows = new FakeFlows([{ kind: CONN, realId: 3, lastSeen: 0 }], clock);
    const { c, snapshots } = census(flows, clock, 0);
    c.start();
    await clock.advance(1);
    const reads = flows.reads;
    for (let i = 0; i < 1000; i++) c.latest();
    assert.equal(flows.reads, reads, 'latest() reads nothing');
    flows.entries.push({ kind: CONN, realId: 3, lastSeen: 0 });
    assert.equal(c.latest().perReal.get(3)?.active, 1, 'the table changed, the snapshot stands until the next walk');
    await clock.advance(2000);
    assert.equal(c.latest().perReal.get(3)?.active, 2);
    await clock.advance(4000);
    assert.equal(snapshots.length, 4, 'a walk every restMs');
    c.stop();
    await clock.advance(10_000);
    assert.equal(snapshots.length, 4, 'stop() ends the walks');
  });

  it('a failed read abandons that walk: the last snapshot stands, the error is reported, the next walk retries', async () => {
    const clock = new FakeClock();
    const flows = new FakeFlows([{ kind: CONN, realId: 1, lastSeen: 0 }], clock);
    const errors: string[] = [];
    const { c, snapshots } = census(flows, clock, 0, { onError: (e) => errors.push(e.message) });
    c.start();
    await clock.advance(1);
    flows.failNext = true;
    await clock.advance(2000);
    assert.deepEqual(errors, ['batch lookup in map flows: Bad file descriptor (EBADF)']);
    assert.equal(snapshots.length, 1);
    assert.equal(c.latest().perReal.get(1)?.active, 1);
    await clock.advance(2000);
    assert.equal(snapshots.length, 2, 'the next walk ran');
    c.stop();
  });
});
