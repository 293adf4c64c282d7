// The running director: wiring. Configuration -> health and next hops ->
// reconcile (the one writer of the maps) -> dataplane; VRRP beside it; the
// status view read by the control socket and /metrics. Each owner is its own
// module; this file starts them in order, routes their events and stops them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, formatDiagnostic } from './config/diagnostics';
import { loadConfig } from './config/load';
import { hostProblems } from './config/host';
import { findReal, forwardAddrs, type Config } from './config/model';
import { ensurePinDir } from './dataplane/bpffs';
import { LbDataplane } from './dataplane/lb';
import { directorCensus, EMPTY_SNAPSHOT, type FlowCensus } from './dataplane/census';
import type { XdpMode } from './dataplane/xdp';
import { runCheck, type CheckResult } from './health/checkers';
import { HealthMonitor, type Target } from './health/monitor';
import { systemClock } from './net/clock';
import { ReachTracker } from './reach/tracker';
import { realKey, type RealState } from './reconcile/desired';
import { Reconciler, type PassInputs } from './reconcile/reconciler';
import { ControlServer } from './control/server';
import { answer } from './control/handler';
import { Metrics } from './metrics/metrics';
import { StatusView } from './status/view';
import { VrrpSupervisor } from './vrrp/supervisor';
import { Notifier } from './script';
import { RunCode } from './errors';

export interface AgentOptions {
  configPath: string;
  interfaces: string[];
  xdpMode: XdpMode;
  /** bpffs directory of the pinned maps */
  pinDir: string;
  /** directory for ids.json (and the control socket) */
  stateDir: string;
  log: Logger;
  maxFlows?: number;
  /** the resync period of next hops besides kernel events, ms (default 30 s; unreached reals: every second) */
  reachInterval?: number;
  /** HOST:PORT for /metrics; undefined: no metrics endpoint */
  metrics?: string;
}

const VERSION = (require('../../package.json') as { version: string }).version;

export class Agent {
  private config!: Config;
  private format = '';
  private dp!: LbDataplane;
  private rec!: Reconciler;
  private reach!: ReachTracker;
  private monitor!: HealthMonitor;
  /** by real key: health and runtime weight */
  private readonly states = new Map<string, RealState>();
  private readonly lastResults = new Map<string, CheckResult>();
  private census: FlowCensus | undefined;
  private control: ControlServer | undefined;
  private metrics: Metrics | undefined;
  private readonly vrrp: VrrpSupervisor;
  private readonly log: Logger;
  private readonly notify: Notifier;

  constructor(private readonly opts: AgentOptions) {
    this.log = opts.log;
    this.notify = new Notifier(this.log);
    this.vrrp = new VrrpSupervisor({ clock: systemClock, log: opts.log, runScript: this.notify.run, stateDir: opts.stateDir });
  }

  /** Loads config and data plane, attaches, programs the maps, starts checks. Throws ConfigError on a bad config. */
  async start(): Promise<void> {
    this.config = this.load();
    fs.mkdirSync(this.opts.stateDir, { recursive: true });
    ensurePinDir(this.opts.pinDir);
    this.dp = LbDataplane.load({ pinDir: this.opts.pinDir, ...(this.opts.maxFlows ? { maxFlows: this.opts.maxFlows } : {}) });
    this.rec = new Reconciler(this.dp, this.log, path.join(this.opts.stateDir, 'ids.json'));
    this.reach = new ReachTracker({ clock: systemClock, log: this.log, interfaces: this.opts.interfaces, resyncMs: this.opts.reachInterval ?? 30_000, onChange: () => this.reconcile() });
    this.reach.watch(forwardAddrs(this.config));
    // a restart: the previous agent's next hops, and the reals it had up, until this one knows better
    const adopted = this.rec.adopt(this.config);
    this.reach.adopt(adopted.reach);
    for (const key of adopted.active) if (!this.states.has(key)) this.states.set(key, { up: true });
    await this.reach.refresh();
    this.monitor = new HealthMonitor((key, up, detail) => this.onHealth(key, up, detail), runCheck, systemClock, Math.random, (key, check, result) => {
      this.lastResults.set(key, result);
      this.metrics?.observeCheck(key, check.type, result);
    });
    this.monitor.set(targets(this.config, adopted.active));
    this.notify.quorum(this.config, this.rec.first(this.inputs()).quorum);
    for (const iface of this.opts.interfaces) {
      const { mode, replaced } = this.dp.attach(iface, this.opts.xdpMode);
      this.log.info({ iface, mode, replaced }, 'xdp attached');
    }
    this.census = directorCensus(this.dp, systemClock, (err) => this.log.error({ code: RunCode.FLOW_WALK, err: err.message }, 'reading the flow table failed'));
    this.census.start();
    const view = this.statusView();
    this.control = new ControlServer(this.opts.stateDir, (req) => answer(req, view, (s, r, w) => this.setWeight(s, r, w)), this.log);
    if (this.opts.metrics) {
      this.metrics = new Metrics(view);
      await this.metrics.listen(this.opts.metrics, this.log);
    }
    this.reach.start();
    // VRRP last: a director does not claim VIPs before its maps are warm
    await this.reach.waitReached(5000);
    await this.vrrp.apply(this.config);
    this.log.info({ services: this.config.services.length, vrrp: this.vrrp.size, interfaces: this.dp.attachments }, 'xdpvs running');
  }

  /** The file, and what it asks of this host: a ConfigError naming file:line, before anything changes. */
  private load(): Config {
    const { config, warnings, format } = loadConfig(this.opts.configPath);
    for (const w of warnings) this.log.warn({ code: w.code, at: `${w.loc.file}:${w.loc.line}` }, w.message);
    const problems = hostProblems(config);
    if (problems.length > 0) throw new ConfigError(problems);
    this.log.info({ file: this.opts.configPath, format, services: config.services.length }, 'configuration loaded');
    this.format = format;
    return config;
  }

  private statusView(): StatusView {
    return new StatusView({
      config: () => this.config,
      state: () => this.rec.state,
      counters: this.dp,
      flows: () => this.census?.latest() ?? EMPTY_SNAPSHOT,
      lastCheck: (key) => this.lastResults.get(key),
      reached: (addr) => this.reach.reach.has(addr),
      vrrp: () => this.vrrp.status(),
      version: VERSION,
      format: () => this.format,
      configPath: this.opts.configPath,
    });
  }

  private inputs(config = this.config): PassInputs {
    return { config, states: this.states, reach: this.reach.reach };
  }

  /** Writes what changed into the maps (reconcile/reconciler.ts). */
  private reconcile(): void {
    this.notify.quorum(this.config, this.rec.pass(this.inputs()).quorum);
  }

  private onHealth(key: string, up: boolean, detail: string): void {
    const t = process.hrtime.bigint();
    this.states.set(key, { ...this.states.get(key), up });
    // maps first, then the log line: whoever reads "real down" finds it out of the ring
    this.reconcile();
    const mapMs = Number(process.hrtime.bigint() - t) / 1e6;
    this.log[up ? 'info' : 'warn']({ real: key, detail, mapMs }, up ? 'real up' : 'real down');
    this.notify.health(this.config, key, up);
  }

  /**
   * SIGHUP: a new configuration, or the old one kept. Everything that can be
   * checked is checked before anything changes (the file, what it asks of
   * this host, the ids it needs); a failure while applying after that puts
   * the previous configuration back. Never throws: "reload rejected" is logged.
   */
  async reload(): Promise<boolean> {
    const rejected = (why: string): false => {
      this.log.error({ code: RunCode.RELOAD, why }, 'reload rejected: the previous configuration keeps serving');
      this.metrics?.reloaded(false);
      return false;
    };
    let config: Config;
    try {
      config = this.load();
      this.rec.dryRun(this.inputs(config), this.opts.configPath);
    } catch (err) {
      if (!(err instanceof ConfigError)) return rejected((err as Error).message);
      const errors = err.diagnostics.filter((x) => x.severity === 'error');
      for (const d of errors) this.log.error({ code: d.code }, formatDiagnostic(d));
      return rejected(`${errors.length} error(s) in ${this.opts.configPath}`);
    }
    const previous = { config: this.config, states: new Map(this.states) };
    try {
      await this.switchTo(config);
    } catch (err) {
      this.log.error({ code: RunCode.RELOAD, err: (err as Error).message }, 'applying the new configuration failed: restoring the previous one');
      try {
        this.states.clear();
        for (const [k, v] of previous.states) this.states.set(k, v);
        await this.switchTo(previous.config);
      } catch (again) {
        this.log.error({ code: RunCode.RELOAD, err: (again as Error).message }, 'restoring the previous configuration failed');
      }
      return rejected((err as Error).message);
    }
    this.log.info('configuration reloaded');
    this.metrics?.reloaded(true);
    return true;
  }

  private async switchTo(config: Config): Promise<void> {
    this.config = config;
    this.monitor.set(targets(config));
    // as keepalived re-syncs IPVS to its file: runtime weights (`xdpvs real`) end with a reload
    for (const key of [...this.states.keys()]) {
      const up = this.monitor.isUp(key);
      if (up === undefined) this.states.delete(key);
      else this.states.set(key, { up });
    }
    this.reach.watch(forwardAddrs(config));
    await this.reach.refresh();
    this.reconcile();
    await this.vrrp.apply(config);
  }

  /** Runtime weight of a real (`xdpvs real weight|drain|enable`); undefined clears the override. */
  private setWeight(service: string, real: string, weight: number | undefined): void {
    const { service: svc, real: r } = findReal(this.config, service, real);
    const key = realKey(svc, r);
    const up = this.states.get(key)?.up ?? this.monitor.isUp(key) ?? true;
    this.states.set(key, weight === undefined ? { up } : { up, weight });
    this.log.info({ real: key, weight: weight ?? r.weight }, 'weight changed');
    this.reconcile();
  }

  /**
   * Stops checks and timers. `detach`: take the program off the interfaces
   * (a clean stop); otherwise it stays attached with its pinned maps, and the
   * next agent re-adopts them without dropping traffic.
   */
  async stop(detach: boolean): Promise<void> {
    // VRRP: a clean stop hands the VIPs over at once (priority 0); a restart
    // (SIGUSR2) goes silent and keeps them for the next agent
    await this.vrrp.stop(detach);
    // keepalived omega: a clean shutdown runs the down notifiers of what was up
    if (detach && this.config && this.rec) {
      this.notify.omega(this.config, (s) => this.rec.state.quorum.get(s), (key) => this.states.get(key)?.up ?? this.monitor?.isUp(key));
    }
    this.reach?.stop();
    this.census?.stop();
    this.control?.close();
    this.metrics?.close();
    this.monitor?.stop();
    if (detach && this.dp) {
      for (const { iface, error } of this.dp.detachAll()) {
        if (error) this.log.error({ code: RunCode.STOP, iface, err: error }, 'detach failed');
        else this.log.info({ iface }, 'xdp detached');
      }
    }
    this.dp?.close();
  }
}

/**
 * Every real's health target; the monitor keeps the state of unchanged
 * checks across reloads. `pinnedActive`: at start, reals the previous agent
 * had up start up, whatever `alpha` says.
 */
function targets(config: Config, pinnedActive: ReadonlySet<string> = new Set()): Target[] {
  return config.services.flatMap((s) => s.reals.map((r) => ({ key: realKey(s, r), checks: r.checks, initialUp: !s.alpha || pinnedActive.has(realKey(s, r)) })));
}
