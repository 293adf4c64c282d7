// Runs each real's checks on keepalived's timing and reports when a real
// goes up or down. Timing, per check:
//   - the first attempt after a random 0..warmup seconds;
//   - after a success, the next attempt delay_loop later;
//   - after a failure, up to `retry` more attempts delay_before_retry apart;
//     when those fail too the check is down, and attempts go on every
//     delay_loop; one success brings it back up.
// A real is up when all its checks are up (a real without checks always is).
// Checks run concurrently; an attempt never blocks another or the event loop.
// The clock is injected so tests run this on fake time.
import type { HealthCheck } from '../config/model';
import type { CheckResult, CheckRunner } from './checkers';
import { systemClock, type Clock } from '../net/clock';
import { same } from '../net/same';

export interface Target {
  key: string;
  checks: HealthCheck[];
  /** state before the first result: down with keepalived's alpha, else up */
  initialUp: boolean;
}

export interface CheckStatus {
  up: boolean;
  failures: number;
  last?: CheckResult;
}

export type ChangeListener = (key: string, up: boolean, detail: string) => void;
export type ResultListener = (key: string, check: HealthCheck, result: CheckResult) => void;

class CheckLoop {
  status: CheckStatus;
  private cancel: (() => void) | undefined;
  private stopped = false;

  constructor(
    readonly check: HealthCheck,
    initialUp: boolean,
    private readonly clock: Clock,
    private readonly runner: CheckRunner,
    private readonly after: (result: CheckResult) => void,
  ) {
    this.status = { up: initialUp, failures: 0 };
  }

  start(random: () => number): void {
    this.schedule(random() * this.check.warmup);
  }

  stop(): void {
    this.stopped = true;
    this.cancel?.();
  }

  private schedule(seconds: number): void {
    if (this.stopped) return;
    this.cancel = this.clock.setTimer(seconds * 1000, () => void this.attempt());
  }

  private async attempt(): Promise<void> {
    const result = await this.runner(this.check);
    if (this.stopped) return;
    const c = this.check;
    if (result.ok) {
      this.status = { up: true, failures: 0, last: result };
      this.after(result);
      this.schedule(c.delayLoop);
      return;
    }
    const failures = this.status.failures + 1;
    const retrying = failures <= c.retry;
    this.status = { up: retrying ? this.status.up : false, failures, last: result };
    this.after(result);
    this.schedule(retrying ? c.delayBeforeRetry : c.delayLoop);
  }
}

class RealMonitor {
  up: boolean;
  readonly loops: CheckLoop[];

  constructor(
    readonly target: Target,
    clock: Clock,
    runner: CheckRunner,
    onChange: ChangeListener,
    onResult: ResultListener | undefined,
  ) {
    this.up = target.checks.length === 0 ? true : target.initialUp;
    this.loops = target.checks.map(
      (check) =>
        new CheckLoop(check, target.initialUp, clock, runner, (result) => {
          onResult?.(target.key, check, result);
          const up = this.loops.every((l) => l.status.up);
          if (up !== this.up) {
            this.up = up;
            onChange(target.key, up, `${check.type} ${check.connect.addr}:${check.connect.port}: ${result.detail}`);
          }
        }),
    );
  }
}

export class HealthMonitor {
  private readonly reals = new Map<string, RealMonitor>();

  constructor(
    private readonly onChange: ChangeListener,
    private readonly runner: CheckRunner,
    private readonly clock: Clock = systemClock,
    private readonly random: () => number = Math.random,
    private readonly onResult?: ResultListener,
  ) {}

  /**
   * Monitors exactly these targets. A target whose checks did not change keeps
   * its state and timers (a reload does not flap reals); others start afresh.
   */
  set(targets: Target[]): void {
    const next = new Map(targets.map((t) => [t.key, t]));
    for (const [key, m] of this.reals) {
      const t = next.get(key);
      if (!t || !same(t.checks, m.target.checks)) {
        for (const l of m.loops) l.stop();
        this.reals.delete(key);
      }
    }
    for (const t of targets) {
      if (this.reals.has(t.key)) continue;
      const m = new RealMonitor(t, this.clock, this.runner, this.onChange, this.onResult);
      this.reals.set(t.key, m);
      for (const l of m.loops) l.start(this.random);
    }
  }

  isUp(key: string): boolean | undefined {
    return this.reals.get(key)?.up;
  }

  status(key: string): CheckStatus[] {
    return this.reals.get(key)?.loops.map((l) => l.status) ?? [];
  }

  stop(): void {
    for (const m of this.reals.values()) for (const l of m.loops) l.stop();
    this.reals.clear();
  }
}
