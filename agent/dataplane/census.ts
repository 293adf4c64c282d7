// The flow census: the one walk of the flow table, shared by everything that
// wants connection counts (/metrics, `xdpvs list`). The table holds up to
// millions of entries (a batch read costs the kernel about 0.7 us an entry:
// 0.7 s of CPU for a million) and the agent's event loop also sends VRRP
// adverts, so the walk reads in batches, gives the event loop back whenever a
// turn's time budget is spent, pauses between turns so that it takes a
// bounded share of a CPU (a process that never sleeps is the one the kernel
// preempts for longest), and rests between walks. Readers never walk: they get the latest complete snapshot.
import type { Clock } from '../net/clock';
import { FlowKind } from './abi';

/** Where a walk stands; opaque to the census (a batch position of the map). */
export type FlowCursor = unknown;

export interface FlowReader {
  /**
   * Visits up to `max` entries after `cursor` (undefined: from the start);
   * returns where the next read starts, or undefined when the walk is complete.
   */
  readFlows(cursor: FlowCursor | undefined, max: number, visit: (kind: number, realId: number, lastSeenNs: number) => void): FlowCursor | undefined;
}

export interface FlowCounts {
  active: number;
  inactive: number;
}

export interface FlowSnapshot {
  /** connection entries per real id */
  perReal: Map<number, FlowCounts>;
  /** every entry of the table, persistence entries included */
  entries: number;
  /** clock time (ms) the walk completed; 0: no walk has completed yet */
  at: number;
  /** how long the walk took, ms, rests between turns included */
  walkMs: number;
}

export interface CensusOptions {
  reader: FlowReader;
  clock: Clock;
  /**
   * monotonic ns, the clock of the entries' last_seen (bpf_ktime_get_ns), as
   * a double: exact to 256 ns for 36 years of uptime, and no BigInt per entry
   */
  monotonicNs: () => number;
  /** the kind of a connection entry (the others are persistence entries) */
  connKind: number;
  /** an entry seen within this many ns counts as active */
  activeNs: number;
  /** entries per read (one syscall) */
  batch?: number;
  /** ms of walking per event-loop turn before yielding */
  budgetMs?: number;
  /** ms between two turns of a walk */
  pauseMs?: number;
  /** ms between the end of a walk and the start of the next */
  restMs?: number;
  /** called with each completed snapshot */
  onSnapshot?: (s: FlowSnapshot) => void;
  /** a read failed: that walk is abandoned, the last snapshot stands, the next walk retries */
  onError?: (err: Error) => void;
}

/** a flow seen within this many seconds counts as an active connection (ipvsadm's ActiveConn) */
export const ACTIVE_FLOW_SECONDS = 60;

/**
 * The director's census: connection entries are those of kind CONN, and
 * their last_seen is CLOCK_MONOTONIC (bpf_ktime_get_ns), which
 * process.hrtime reads too.
 */
export function directorCensus(reader: FlowReader, clock: Clock, onError: (err: Error) => void): FlowCensus {
  return new FlowCensus({
    reader,
    clock,
    monotonicNs: () => Number(process.hrtime.bigint()),
    connKind: FlowKind.XDPVS_FLOW_CONN,
    activeNs: ACTIVE_FLOW_SECONDS * 1e9,
    onError,
  });
}

export const EMPTY_SNAPSHOT: FlowSnapshot = { perReal: new Map(), entries: 0, at: 0, walkMs: 0 };

export class FlowCensus {
  private snapshot: FlowSnapshot = EMPTY_SNAPSHOT;
  private running = false;
  /** cancels the pending timer: the next turn, or the next walk */
  private cancelRest: (() => void) | undefined;
  /** the walk under way */
  private walk: { cursor: FlowCursor | undefined; started: number; counts: Map<number, FlowCounts>; entries: number; now: number } | undefined;

  constructor(private readonly o: CensusOptions) {}

  /** The latest complete walk. */
  latest(): FlowSnapshot {
    return this.snapshot;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.begin();
  }

  stop(): void {
    this.running = false;
    this.cancelRest?.();
    this.cancelRest = undefined;
    this.walk = undefined;
  }

  private begin(): void {
    if (!this.running) return;
    this.walk = { cursor: undefined, started: this.o.clock.now(), counts: new Map(), entries: 0, now: this.o.monotonicNs() };
    this.turn();
  }

  /** One event-loop turn of the walk: batches until the budget is spent. */
  private turn(): void {
    this.cancelRest = undefined;
    const w = this.walk;
    if (!this.running || !w) return;
    const { connKind, activeNs } = this.o;
    const visit = (kind: number, realId: number, lastSeen: number): void => {
      w.entries++;
      if (kind !== connKind) return;
      let c = w.counts.get(realId);
      if (!c) w.counts.set(realId, (c = { active: 0, inactive: 0 }));
      // last_seen may be a little ahead of `now` (refreshed on another CPU since)
      if (w.now - lastSeen <= activeNs) c.active++;
      else c.inactive++;
    };
    const t0 = this.o.clock.now();
    const budget = this.o.budgetMs ?? 3;
    let done = false;
    try {
      do {
        w.cursor = this.o.reader.readFlows(w.cursor, this.o.batch ?? 1024, visit);
        done = w.cursor === undefined;
      } while (!done && this.o.clock.now() - t0 < budget);
    } catch (err) {
      this.walk = undefined;
      this.rest();
      this.o.onError?.(err as Error);
      return;
    }
    if (!done) {
      this.cancelRest = this.o.clock.setTimer(this.o.pauseMs ?? 10, () => this.turn());
      return;
    }
    const at = this.o.clock.now();
    this.snapshot = { perReal: w.counts, entries: w.entries, at, walkMs: at - w.started };
    this.walk = undefined;
    this.rest();
    this.o.onSnapshot?.(this.snapshot);
  }

  private rest(): void {
    if (this.running) this.cancelRest = this.o.clock.setTimer(this.o.restMs ?? 2000, () => this.begin());
  }
}
