// The VRRP side of a running agent: the configuration's instances, the
// scripts they track and their sync groups, kept running across reloads.
// apply() starts what is new or changed and stops what went away; status()
// feeds `xdpvs list` and the metrics; stop() hands over (a clean stop) or
// goes silent and keeps the VIPs for the next agent (a restart).
import type { Logger } from 'pino';
import type { Config, VrrpInstance } from '../config/model';
import type { Clock } from '../net/clock';
import { same } from '../net/same';
import { VrrpRunner, type VrrpCounters } from './instance';
import type { VrrpHost } from './host';
import { ScriptTracker } from './track';
import { SyncGroups } from './syncgroup';

export interface VrrpSupervisorOptions {
  clock: Clock;
  log: Logger;
  /** runs a notify script (the agent's runner: logged, never awaited) */
  runScript: (command: string | undefined) => void;
  /** where runners note their MASTER state across an agent restart */
  stateDir: string;
  /** the host's interfaces, addresses and sockets (tests: a fake) */
  host?: VrrpHost;
  /** runs a vrrp_script's command: true when it succeeded (tests: a fake) */
  checkScript?: (command: string, timeoutS: number) => Promise<boolean>;
}

export interface VrrpStatus {
  name: string;
  state: string;
  priority: number;
  counters: VrrpCounters;
  syncGroup?: string;
  wantsMaster: boolean;
}


/**
 * What a running instance cannot change in place: another VRID, interface,
 * version or address family is another virtual router (other sockets, other
 * group, other peers), so the old one hands over and the new one starts.
 */
export function needsRestart(a: VrrpInstance, b: VrrpInstance): boolean {
  return a.virtualRouterId !== b.virtualRouterId || a.interface !== b.interface || a.version !== b.version || a.family !== b.family;
}

export class VrrpSupervisor {
  private readonly runners = new Map<string, VrrpRunner>();
  private readonly scripts = new Map<string, ScriptTracker>();
  private syncGroups = new SyncGroups([], () => undefined);

  constructor(private readonly opts: VrrpSupervisorOptions) {}

  get size(): number {
    return this.runners.size;
  }

  /** Starts the instances (and tracked scripts) of `config`; keeps unchanged ones running. */
  async apply(config: Config): Promise<void> {
    const wanted = new Map(config.vrrpInstances.map((v) => [v.name, v]));
    const inPlace: [VrrpRunner, VrrpInstance][] = [];
    for (const [name, r] of [...this.runners]) {
      const w = wanted.get(name);
      if (w && same(w, r.inst)) continue;
      if (w && !needsRestart(r.inst, w)) {
        inPlace.push([r, w]);
        continue;
      }
      await r.stop();
      this.runners.delete(name);
    }
    this.applyScripts(config);
    this.syncGroups = new SyncGroups(config.vrrpSyncGroups, (name) => this.runners.get(name));
    for (const [r, w] of inPlace) await r.update(w);
    // a replaced tracker starts afresh: instances that kept running follow it now
    for (const r of this.runners.values()) r.trackingChanged();
    for (const v of config.vrrpInstances) {
      if (this.runners.has(v.name)) continue;
      const r = this.runner(v);
      // in the map while it starts: its group sees it from its first transition
      this.runners.set(v.name, r);
      try {
        await r.start();
      } catch (err) {
        this.runners.delete(v.name);
        throw err;
      }
    }
    this.syncGroups.settle();
  }

  status(): VrrpStatus[] {
    return [...this.runners.values()].map((r) => {
      const group = this.syncGroups.groupName(r.inst.name);
      return { name: r.inst.name, state: r.state, priority: r.priority, counters: r.counters, ...(group ? { syncGroup: group } : {}), wantsMaster: r.wantsMaster };
    });
  }

  /**
   * `handOver`: a clean stop, priority 0 at once; otherwise (a restart) go
   * silent, note which instances were MASTER and keep their VIPs.
   */
  async stop(handOver: boolean): Promise<void> {
    if (!handOver) VrrpRunner.noteMasters(this.opts.stateDir, [...this.runners.values()].filter((r) => r.state === 'MASTER').map((r) => r.inst.name));
    for (const r of this.runners.values()) {
      if (handOver) await r.stop();
      else r.abandon();
    }
    this.runners.clear();
    for (const t of this.scripts.values()) t.stop();
    this.scripts.clear();
  }

  /** The tracked scripts: only those an instance uses, restarted when their definition changed. */
  private applyScripts(config: Config): void {
    const used = new Set(config.vrrpInstances.flatMap((v) => v.trackScripts.map((t) => t.name)));
    /** the last state of an edited script: kept until the new one has results of its own (rise / fall) */
    const lastUp = new Map<string, boolean>();
    for (const [name, t] of [...this.scripts]) {
      const def = config.vrrpScripts.find((s) => s.name === name);
      if (!used.has(name) || !def || !same(def, t.script)) {
        t.stop();
        this.scripts.delete(name);
        lastUp.set(name, t.up);
      }
    }
    for (const s of config.vrrpScripts) {
      if (!used.has(s.name) || this.scripts.has(s.name)) continue;
      const t = new ScriptTracker(s, this.opts.clock, this.opts.checkScript);
      const up = lastUp.get(s.name);
      if (up !== undefined) t.up = up;
      t.onChange((up) => {
        this.opts.log[up ? 'info' : 'warn']({ script: s.name }, up ? 'vrrp_script up' : 'vrrp_script down');
        // looked up at each change: the instances tracking it now, whether or not a reload restarted them
        for (const r of this.runners.values()) if (r.inst.trackScripts.some((x) => x.name === s.name)) r.trackingChanged();
      });
      this.scripts.set(s.name, t);
      t.start();
    }
  }

  /** A runner whose FAULT and state changes move its sync group (this.syncGroups, current after reloads). */
  private runner(v: VrrpInstance): VrrpRunner {
    const { clock, log, runScript, stateDir, host } = this.opts;
    return new VrrpRunner(v, {
      ...(host ? { host } : {}),
      clock,
      log,
      scripts: this.scripts,
      runScript,
      stateDir,
      onOwnFault: (name) => this.syncGroups.ownFault(name),
      onOwnState: (name, from, to) => this.syncGroups.ownState(name, from, to),
      mayBecomeMaster: (name) => this.syncGroups.mayBecomeMaster(name),
    });
  }
}
