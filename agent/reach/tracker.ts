// The next hop of every real, kept current. Kernel events (monitor.ts) ask
// for a lookup of every real (lookup.ts: two `ip` processes, whatever the
// number of reals) within DEBOUNCE_MS; besides, a slow resync every
// `resyncMs` in case an event was lost, and every second while a real is not
// reached yet. Lookups run one at a time; a change calls `onChange`.
import type { Logger } from 'pino';
import type { Clock } from '../net/clock';
import { same } from '../net/same';
import { RunCode } from '../errors';
import type { Reach } from '../dataplane/reach';
import { lookupAll, nextReach, type ReachLookup, type Resolved } from './lookup';
import { ReachMonitor, systemMonitor, type MonitorSpawner, type ReachEvent } from './monitor';

/** from a route or neighbour event to looking the reals up again */
export const DEBOUNCE_MS = 100;
/** the resync period while some real is not reached */
export const UNREACHED_RESYNC_MS = 1000;

export interface ReachTrackerOptions {
  clock: Clock;
  log: Logger;
  /** the interfaces the director program is on */
  interfaces: string[];
  /** the resync period once every real is reached, ms */
  resyncMs: number;
  /** a refresh the tracker ran by itself changed a next hop */
  onChange: () => void;
  /** every real looked up at once (default: lookup.ts with the system's ip) */
  lookup?: (addrs: string[], interfaces: string[]) => Promise<Map<string, ReachLookup>>;
  /** the event source's process (default: `ip monitor`) */
  monitor?: MonitorSpawner;
}

export class ReachTracker {
  private readonly known = new Map<string, Resolved>();
  /** reals whose next hop came from the pinned maps at start, kept until the kernel resolves one */
  private readonly adopted = new Set<string>();
  private addrs: string[] = [];
  private running = false;
  private cancelResync: (() => void) | undefined;
  private cancelSoon: (() => void) | undefined;
  private monitor: ReachMonitor | undefined;
  /** the lookup in flight, and one queued behind it (requests meanwhile share it) */
  private current: Promise<boolean> | undefined;
  private queued: Promise<boolean> | undefined;
  /** lookups started (tests) */
  lookups = 0;

  constructor(private readonly opts: ReachTrackerOptions) {}

  /** By real address: the reals reached, with their next hop. */
  get reach(): ReadonlyMap<string, Reach> {
    return this.known;
  }

  /** The reals to follow (the configuration's, sorry servers included); the next refresh drops the others. */
  watch(addrs: Iterable<string>): void {
    this.addrs = [...new Set(addrs)];
  }

  /** Next hops taken over from the pinned maps at a restart: kept until the kernel answers definitely. */
  adopt(reach: ReadonlyMap<string, Reach>): void {
    for (const [addr, r] of reach) {
      // device and gateway unknown until the kernel answers
      this.known.set(addr, { ...r, dev: '(pinned)', hop: addr });
      this.adopted.add(addr);
    }
    if (reach.size > 0) this.opts.log.info({ reals: [...reach.keys()] }, 'next hops taken over from the pinned maps until resolved');
  }

  /** Whether every watched real is reached. */
  allReached(): boolean {
    return this.addrs.every((a) => this.known.has(a));
  }

  /** Starts following events and the resync timer. */
  start(): void {
    this.running = true;
    this.monitor = new ReachMonitor((e) => this.onEvent(e), this.opts.clock, this.opts.monitor ?? systemMonitor, (why) => {
      this.opts.log.warn({ why }, 'ip monitor ended: restarting it, and looking every real up again');
      this.soon();
    });
    this.monitor.start();
    this.scheduleResync();
  }

  stop(): void {
    this.running = false;
    this.cancelResync?.();
    this.cancelResync = undefined;
    this.cancelSoon?.();
    this.cancelSoon = undefined;
    this.monitor?.stop();
    this.monitor = undefined;
  }

  /** Up to `limitMs` for every real to be reached, looking again every 200 ms; `onChange` on each change. */
  async waitReached(limitMs: number): Promise<void> {
    const deadline = this.opts.clock.now() + limitMs;
    while (!this.allReached() && this.opts.clock.now() < deadline) {
      await new Promise<void>((r) => this.opts.clock.setTimer(200, r));
      if (await this.refresh()) this.opts.onChange();
    }
  }

  /**
   * Looks every watched real up; true when a next hop changed. One lookup at
   * a time: a request while one runs shares the single one queued behind it,
   * so the answer reflects the addresses watched when it was asked.
   */
  refresh(): Promise<boolean> {
    if (this.queued) return this.queued;
    const before = this.current ?? Promise.resolve(false);
    const p: Promise<boolean> = before
      .catch(() => false)
      .then(() => {
        this.queued = undefined;
        this.current = p;
        return this.lookOnce();
      })
      .finally(() => {
        if (this.current === p) this.current = undefined;
      });
    this.queued = p;
    return p;
  }

  private async lookOnce(): Promise<boolean> {
    this.lookups++;
    const addrs = this.addrs;
    const lookups = await (this.opts.lookup ?? lookupAll)(addrs, this.opts.interfaces);
    let changed = false;
    for (const addr of addrs) {
      const lookup = lookups.get(addr) ?? { unknown: 'not looked up' };
      const old = this.known.get(addr);
      // a next hop taken over from the pins stays until the kernel answers definitely
      const r = this.adopted.has(addr) && 'unknown' in lookup ? old : nextReach(addr, old, lookup);
      if (!('unknown' in lookup)) this.adopted.delete(addr);
      if (old && r === old && 'unknown' in lookup) this.opts.log.debug({ real: addr, why: lookup.unknown }, 'lookup failed: keeping the last known next hop');
      if (same(r, old)) continue;
      changed = true;
      if (r) {
        this.known.set(addr, r);
        this.opts.log.info({ real: addr, mac: String(r.mac), dev: r.dev }, 'real reached');
      } else {
        this.known.delete(addr);
        const why = 'unreachable' in lookup ? lookup.unreachable : 'unknown' in lookup ? lookup.unknown : '';
        if (old) this.opts.log.warn({ real: addr, why }, 'real unreachable: the kernel reports a changed route');
      }
    }
    const watched = new Set(addrs);
    for (const addr of [...this.known.keys()]) {
      if (watched.has(addr)) continue;
      this.known.delete(addr);
      this.adopted.delete(addr);
    }
    return changed;
  }

  /** A route change, or a neighbour line naming a real or a next hop: every real looked up soon. */
  private onEvent(e: ReachEvent): void {
    if (e.kind === 'neigh') {
      const watched = new Set(this.addrs);
      for (const r of this.known.values()) watched.add(r.hop);
      if (!e.words.some((w) => watched.has(w))) return;
    }
    this.soon();
  }

  /** One refresh soon, however many events ask for it meanwhile. */
  private soon(): void {
    if (this.cancelSoon || !this.running) return;
    this.cancelSoon = this.opts.clock.setTimer(DEBOUNCE_MS, () => {
      this.cancelSoon = undefined;
      this.refreshThenTell();
    });
  }

  /** The resync: every second while a real is unreached, else every resyncMs. */
  private scheduleResync(): void {
    const ms = this.allReached() ? this.opts.resyncMs : UNREACHED_RESYNC_MS;
    this.cancelResync = this.opts.clock.setTimer(ms, () => {
      void this.refreshThenTell().finally(() => this.running && this.scheduleResync());
    });
  }

  private refreshThenTell(): Promise<void> {
    return this.refresh()
      .then((changed) => {
        if (changed && this.running) this.opts.onChange();
      })
      .catch((err: Error) => this.opts.log.error({ code: RunCode.REACH, err: err.message }, 'resolving reals failed'));
  }
}
