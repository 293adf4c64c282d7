// Route and neighbour changes as the kernel announces them: one long-lived
// `ip monitor label neigh route` process for the whole agent, restarted with
// a growing delay (1 s to 30 s) if it dies. Each line is handed on as an
// event; what to do with it is the owner's choice (agent.ts looks the reals
// up again when a route changed or a line names one of their next hops).
import { spawn, type ChildProcess } from 'node:child_process';
import type { Clock } from '../net/clock';

export interface ReachEvent {
  kind: 'route' | 'neigh';
  /** the words of the line after its label ("Deleted" first when removed) */
  words: string[];
}

/** `[NEIGH]192.0.2.1 dev eth0 lladdr 02:.. REACHABLE` -> an event; undefined for other lines. */
export function parseMonitorLine(line: string): ReachEvent | undefined {
  const m = /^\[(NEIGH|ROUTE)\]\s*(.*)$/.exec(line.trim());
  if (!m) return undefined;
  return { kind: m[1] === 'NEIGH' ? 'neigh' : 'route', words: m[2]!.split(/\s+/).filter(Boolean) };
}

/** Starts a process printing monitor lines; the system's `ip monitor` by default. */
export type MonitorSpawner = () => ChildProcess;

export const systemMonitor: MonitorSpawner = () => spawn('ip', ['monitor', 'label', 'neigh', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });

export class ReachMonitor {
  private proc: ChildProcess | undefined;
  private stopped = true;
  private retryMs = 1000;
  private cancelRestart: (() => void) | undefined;
  /** how many times a monitor process was started (tests, and the count stays bounded) */
  starts = 0;

  constructor(
    private readonly onEvent: (e: ReachEvent) => void,
    private readonly clock: Clock,
    private readonly spawner: MonitorSpawner = systemMonitor,
    private readonly onRestart: (why: string) => void = () => undefined,
  ) {}

  start(): void {
    this.stopped = false;
    this.run();
  }

  private run(): void {
    if (this.stopped) return;
    this.starts++;
    const p = this.spawner();
    this.proc = p;
    let buf = '';
    p.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const e = parseMonitorLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (e) {
          this.retryMs = 1000; // it works: the next restart starts from 1 s again
          this.onEvent(e);
        }
      }
    });
    const ended = (why: string): void => {
      if (this.proc !== p) return;
      this.proc = undefined;
      if (this.stopped) return;
      this.onRestart(why);
      const ms = this.retryMs;
      this.retryMs = Math.min(30_000, this.retryMs * 2);
      this.cancelRestart = this.clock.setTimer(ms, () => this.run());
    };
    p.once('error', (err) => ended(err.message));
    p.once('exit', (code, signal) => ended(`exit ${code ?? signal}`));
  }

  stop(): void {
    this.stopped = true;
    this.cancelRestart?.();
    const p = this.proc;
    this.proc = undefined;
    p?.kill();
  }
}
