// ReachTracker on a fake clock, with a fake lookup and a fake `ip monitor`:
// which events cause a lookup, how they are coalesced, the resync periods,
// next hops taken over from the pins, and stop.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import pino from 'pino';
import { parseMac } from '../../agent/net/addr';
import type { ReachLookup } from '../../agent/reach/lookup';
import { DEBOUNCE_MS, ReachTracker, UNREACHED_RESYNC_MS } from '../../agent/reach/tracker';
import { FakeClock } from '../support/clock';

const RESYNC_MS = 30_000;
const mac = (n: number): ReturnType<typeof parseMac> => parseMac(`02:00:00:00:00:${n.toString(16).padStart(2, '0')}`);
const reached = (n: number, dev = 'eth0', hop?: string): ReachLookup => ({ reached: { mac: mac(n), ifindex: 0, dev, hop: hop ?? `10.0.0.${n}` } });

class Lab {
  clock = new FakeClock();
  /** what the kernel would answer, by real */
  answers = new Map<string, ReachLookup>();
  asked: string[][] = [];
  changes = 0;
  monitorOut = new PassThrough();
  /** while set, lookups wait for it */
  gate: Promise<void> | undefined;
  tracker: ReachTracker;

  constructor(addrs: string[]) {
    const proc = Object.assign(new EventEmitter(), { stdout: this.monitorOut, killed: false, kill: () => void (proc.killed = true) });
    this.tracker = new ReachTracker({
      clock: this.clock,
      log: pino({ level: 'silent' }),
      interfaces: ['eth0'],
      resyncMs: RESYNC_MS,
      onChange: () => void this.changes++,
      lookup: async (a) => {
        this.asked.push([...a]);
        await this.gate;
        return new Map(a.flatMap((x) => (this.answers.has(x) ? [[x, this.answers.get(x)!] as const] : [])));
      },
      monitor: () => proc as unknown as ChildProcess,
    });
    this.tracker.watch(addrs);
  }

  /** one monitor line, as `ip monitor label` prints it */
  async event(line: string): Promise<void> {
    this.monitorOut.write(`${line}\n`);
    await new Promise((r) => setImmediate(r));
  }
}

describe('ReachTracker: next hops by events, coalesced, with a resync', () => {
  it('a neighbour event naming a real or its next hop is looked up within DEBOUNCE_MS; an unrelated one is not', async () => {
    const lab = new Lab(['10.0.0.1', '10.0.1.5']);
    lab.answers.set('10.0.0.1', reached(1));
    lab.answers.set('10.0.1.5', reached(9, 'eth0', '10.0.0.254'));
    assert.equal(await lab.tracker.refresh(), true);
    assert.ok(lab.tracker.allReached());
    lab.tracker.start();
    const before = lab.tracker.lookups;
    await lab.event('[NEIGH]10.0.0.77 dev eth0 lladdr 02:00:00:00:00:4d REACHABLE');
    await lab.clock.advance(DEBOUNCE_MS * 5);
    assert.equal(lab.tracker.lookups, before, 'a neighbour nobody uses asks for nothing');
    // the gateway of 10.0.1.5 changed its MAC
    lab.answers.set('10.0.1.5', reached(10, 'eth0', '10.0.0.254'));
    await lab.event('[NEIGH]10.0.0.254 dev eth0 lladdr 02:00:00:00:00:0a REACHABLE');
    await lab.clock.advance(DEBOUNCE_MS);
    assert.equal(lab.tracker.lookups, before + 1);
    assert.ok(lab.tracker.reach.get('10.0.1.5')!.mac.equals(mac(10)));
    assert.equal(lab.changes, 1);
    lab.tracker.stop();
  });

  it('a burst of events within DEBOUNCE_MS is one lookup of every real; route events always count', async () => {
    const lab = new Lab(['10.0.0.1', '10.0.0.2']);
    lab.answers.set('10.0.0.1', reached(1));
    lab.answers.set('10.0.0.2', reached(2));
    await lab.tracker.refresh();
    lab.tracker.start();
    const before = lab.tracker.lookups;
    for (let i = 0; i < 50; i++) await lab.event(`[ROUTE]10.9.${i}.0/24 via 10.0.0.254 dev eth0`);
    await lab.clock.advance(DEBOUNCE_MS);
    assert.equal(lab.tracker.lookups, before + 1);
    assert.deepEqual(lab.asked.at(-1), ['10.0.0.1', '10.0.0.2']);
    assert.equal(lab.changes, 0, 'nothing changed, so nobody is told');
    lab.tracker.stop();
  });

  it('resyncs every second while a real is unreached, every resyncMs once all are; stop ends every lookup', async () => {
    const lab = new Lab(['10.0.0.1']);
    lab.tracker.start();
    await lab.clock.advance(UNREACHED_RESYNC_MS * 3);
    assert.equal(lab.tracker.lookups, 3);
    assert.equal(lab.changes, 0);
    lab.answers.set('10.0.0.1', reached(1));
    await lab.clock.advance(UNREACHED_RESYNC_MS);
    assert.equal(lab.tracker.lookups, 4);
    assert.equal(lab.changes, 1);
    await lab.clock.advance(RESYNC_MS - 1);
    assert.equal(lab.tracker.lookups, 4, 'reached: no lookup before resyncMs');
    await lab.clock.advance(1);
    assert.equal(lab.tracker.lookups, 5);
    lab.tracker.stop();
    await lab.event('[ROUTE]10.9.0.0/16 via 10.0.0.254 dev eth0');
    await lab.clock.advance(RESYNC_MS * 3);
    assert.equal(lab.tracker.lookups, 5, 'stopped: no event or timer looks again');
  });

  it('a next hop taken over from the pins is kept while lookups fail, and replaced by a definite answer', async () => {
    const lab = new Lab(['10.0.0.1']);
    lab.tracker.adopt(new Map([['10.0.0.1', { mac: mac(1), ifindex: 3 }]]));
    assert.ok(lab.tracker.allReached());
    lab.answers.set('10.0.0.1', { unknown: 'neighbour entry FAILED', route: { dev: 'eth0' } });
    assert.equal(await lab.tracker.refresh(), false);
    assert.ok(lab.tracker.reach.get('10.0.0.1')!.mac.equals(mac(1)), 'an unknown answer does not drop the adopted hop, even with a route');
    lab.answers.set('10.0.0.1', reached(7));
    assert.equal(await lab.tracker.refresh(), true);
    assert.ok(lab.tracker.reach.get('10.0.0.1')!.mac.equals(mac(7)));
    // no longer adopted: a later unreachable answer drops it
    lab.answers.set('10.0.0.1', { unreachable: 'no route' });
    assert.equal(await lab.tracker.refresh(), true);
    assert.equal(lab.tracker.reach.get('10.0.0.1'), undefined);
  });

  it('refreshes run one at a time: requests while one runs share the single queued one, which sees the latest watch list', async () => {
    const lab = new Lab(['10.0.0.1']);
    lab.answers.set('10.0.0.1', reached(1));
    lab.answers.set('10.0.0.2', reached(2));
    let open = (): void => undefined;
    lab.gate = new Promise((r) => (open = r));
    const a = lab.tracker.refresh();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(lab.asked, [['10.0.0.1']], 'the first lookup runs');
    lab.tracker.watch(['10.0.0.1', '10.0.0.2']);
    const b = lab.tracker.refresh();
    const c = lab.tracker.refresh();
    assert.equal(b, c, 'both wait for the one queued lookup');
    assert.notEqual(a, b);
    open();
    lab.gate = undefined;
    await Promise.all([a, b, c]);
    assert.equal(lab.tracker.lookups, 2);
    assert.deepEqual(lab.asked, [['10.0.0.1'], ['10.0.0.1', '10.0.0.2']]);
    // a real no longer watched is dropped at the next refresh
    lab.tracker.watch(['10.0.0.2']);
    await lab.tracker.refresh();
    assert.deepEqual([...lab.tracker.reach.keys()], ['10.0.0.2']);
  });
});
