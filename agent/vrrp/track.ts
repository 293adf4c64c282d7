// track_script / track_interface, keepalived's rules:
//  - weight 0: the object being down puts the instance in FAULT;
//  - weight > 0: added to the priority while the object is up;
//  - weight < 0: added (subtracted) while it is down;
//  - reverse swaps up and down;
//  - priority 255 (address owner) is never changed; others stay in 1..254.
// A vrrp_script is down after `fall` failures in a row, up after `rise`
// successes; it runs every `interval`, killed after `timeout`.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import type { VrrpScript } from '../config/model';
import type { Clock } from '../net/clock';

export interface TrackState {
  name: string;
  up: boolean;
  weight: number;
  reverse: boolean;
}

export function effectivePriority(base: number, tracked: TrackState[]): { priority: number; fault: string | undefined } {
  let priority = base;
  for (const t of tracked) {
    const up = t.reverse ? !t.up : t.up;
    if (t.weight === 0) {
      if (!up) return { priority: base, fault: `${t.name} is down` };
    } else if (t.weight > 0 && up) priority += t.weight;
    else if (t.weight < 0 && !up) priority += t.weight;
  }
  if (base === 255) return { priority: 255, fault: undefined };
  return { priority: Math.min(254, Math.max(1, priority)), fault: undefined };
}

/** Runs one vrrp_script and keeps its up/down state with rise/fall. */
export class ScriptTracker {
  up: boolean;
  private streak = 0;
  private cancel: (() => void) | undefined;
  private readonly listeners: ((up: boolean) => void)[] = [];

  constructor(
    readonly script: VrrpScript,
    private readonly clock: Clock,
    private readonly run: (command: string, timeoutS: number) => Promise<boolean> = runScript,
  ) {
    this.up = !script.initFail;
  }

  onChange(fn: (up: boolean) => void): void {
    this.listeners.push(fn);
  }

  start(): void {
    this.cancel = this.clock.setTimer(0, () => void this.tick());
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  private async tick(): Promise<void> {
    const ok = await this.run(this.script.script, this.script.timeout ?? this.script.interval);
    if (!this.cancel) return;
    if (ok === this.up) this.streak = 0;
    else if (++this.streak >= (ok ? this.script.rise : this.script.fall)) {
      this.up = ok;
      this.streak = 0;
      for (const l of this.listeners) l(ok);
    }
    this.cancel = this.clock.setTimer(this.script.interval * 1000, () => void this.tick());
  }
}

/** Exit 0 within the timeout is success; the process group is killed after it. */
export function runScript(command: string, timeoutS: number): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: 'ignore', detached: true });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutS * 1000);
    child.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}

/** An interface is up while its operstate is up (or unknown, as for lo and some virtual links). */
export function interfaceUp(name: string): boolean {
  try {
    const s = fs.readFileSync(`/sys/class/net/${name}/operstate`, 'utf8').trim();
    return s === 'up' || s === 'unknown';
  } catch {
    return false;
  }
}
