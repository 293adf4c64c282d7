// The running director: wires config -> health -> reconcile -> dataplane and
// keeps the maps true while reals come and go. Everything with a side effect
// (XDP attach, map writes, timers, scripts) is here or below; the pieces it
// calls are pure or injected.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { ConfigCode, ConfigError, formatDiagnostic } from './config/diagnostics';
import { loadConfig } from './config/load';
import { hostProblems } from './config/host';
import type { Config } from './config/model';
import { addrBytes } from './dataplane/addr';
import { parseAddr } from './net/addr';
import { ensurePinDir } from './dataplane/bpffs';
import { LbDataplane } from './dataplane/lb';
import { lookupAll, nextReach, type Resolved } from './reach/lookup';
import { ReachMonitor, type ReachEvent } from './reach/monitor';
import { adoptFromPins } from './reconcile/adopt';
import { runCheck, type CheckResult } from './health/checkers';
import { HealthMonitor, type Target } from './health/monitor';
import { systemClock } from './net/clock';
import { applyDiff, EMPTY_STATE } from './reconcile/apply';
import { desiredState, realKey, REAL_ACTIVE, type DesiredState, type RealState } from './reconcile/desired';
import { assignIds, IdAllocator } from './reconcile/ids';
import { FlowKind, Limits, REASON_NAMES } from './dataplane/abi';
import { ControlServer } from './control/server';
import { Metrics, type MetricsSource } from './metrics/metrics';
import { VrrpSupervisor, type VrrpStatus } from './vrrp/supervisor';
import type { Answer, Request, ServiceRow, StatsAnswer } from './control/protocol';
import { FlowCensus, type FlowCounts } from './dataplane/census';
import type { XdpMode } from './dataplane/xdp';
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

/** A real id's group: its service ("tcp 192.0.2.10:80 -> 10.0.0.1:80" -> "tcp 192.0.2.10:80"), so ids never cross services. */
const serviceOfReal = (key: string): string => key.split(' -> ')[0] ?? key;

const VERSION = (require('../../package.json') as { version: string }).version;
/**
 * Rest between two walks of the flow table (the census): the connection counts
 * of /metrics and `xdpvs list` are at most this plus one walk old.
 */
const CENSUS_REST_MS = 2000;
/** a flow seen within this many seconds counts as an active connection */
export const ACTIVE_FLOW_SECONDS = 60;
/** from a route or neighbour event to looking the reals up again */
const REACH_DEBOUNCE_MS = 100;

export class Agent implements MetricsSource {
  private config!: Config;
  private dp!: LbDataplane;
  private monitor!: HealthMonitor;
  private prev: DesiredState = EMPTY_STATE;
  private readonly states = new Map<string, RealState>();
  private readonly reach = new Map<string, Resolved>();
  /** reals whose next hop came from the pinned maps at start, kept until the kernel resolves one */
  private readonly adopted = new Set<string>();
  /** realKey()s the previous agent left active: they start up, whatever `alpha` says */
  private pinnedActive = new Set<string>();
  private readonly lastResults = new Map<string, CheckResult>();
  private vipIds = new IdAllocator(0, Limits.XDPVS_MAX_VIPS - 1);
  private realIds = new IdAllocator(1, Limits.XDPVS_MAX_REALS - 1, serviceOfReal);
  private reachTimer: NodeJS.Timeout | undefined;
  private reachSoonTimer: NodeJS.Timeout | undefined;
  private reachMonitor: ReachMonitor | undefined;
  private census: FlowCensus | undefined;
  private attached: { iface: string; mode: XdpMode }[] = [];
  private control: ControlServer | undefined;
  private readonly vrrp: VrrpSupervisor;
  private metrics: Metrics | undefined;
  private format = '';
  private readonly log: Logger;

  constructor(private readonly opts: AgentOptions) {
    this.log = opts.log;
    this.vrrp = new VrrpSupervisor({ clock: systemClock, log: opts.log, runScript: (c) => this.runScript(c), stateDir: opts.stateDir });
  }

  private get idsFile(): string {
    return path.join(this.opts.stateDir, 'ids.json');
  }

  /** Loads config and data plane, attaches, programs the maps, starts checks. Throws ConfigError on a bad config. */
  async start(): Promise<void> {
    this.config = this.load();
    this.checkHost(this.config);
    fs.mkdirSync(this.opts.stateDir, { recursive: true });
    this.restoreIds();
    ensurePinDir(this.opts.pinDir);
    this.dp = LbDataplane.load({ pinDir: this.opts.pinDir, ...(this.opts.maxFlows ? { maxFlows: this.opts.maxFlows } : {}) });
    this.adoptPins();
    await this.refreshReach();
    this.monitor = new HealthMonitor(
      (key, up, detail) => this.onHealth(key, up, detail),
      runCheck,
      systemClock,
      Math.random,
      (key, check, result) => {
        this.lastResults.set(key, result);
        this.metrics?.observeCheck(key, check.type, result);
      },
    );
    this.monitor.set(this.targets());
    this.pinnedActive = new Set();
    this.retireUnknownSlots();
    this.reconcile();
    this.deactivateStaleSlots();
    this.sweepStale();
    for (const iface of this.opts.interfaces) this.attach(iface);
    this.control = new ControlServer(this.opts.stateDir, (req) => this.handle(req), this.log);
    if (this.opts.metrics) {
      this.metrics = new Metrics(this);
      await this.metrics.listen(this.opts.metrics, this.log);
    }
    this.reachMonitor = new ReachMonitor((e) => this.onReachEvent(e), systemClock, undefined, (why) => {
      this.log.warn({ why }, 'ip monitor ended: restarting it, and looking every real up again');
      this.reachSoon();
    });
    this.reachMonitor.start();
    this.scheduleReach();
    this.census = new FlowCensus({
      reader: this.dp,
      clock: systemClock,
      monotonicNs: () => Number(process.hrtime.bigint()), // CLOCK_MONOTONIC, as bpf_ktime_get_ns
      connKind: FlowKind.XDPVS_FLOW_CONN,
      activeNs: ACTIVE_FLOW_SECONDS * 1e9,
      restMs: CENSUS_REST_MS,
      onError: (err) => this.log.error({ code: RunCode.FLOW_WALK, err: err.message }, 'reading the flow table failed'),
    });
    this.census.start();
    // VRRP last: a director does not claim VIPs before its maps are warm
    await this.waitReached(5000);
    await this.vrrp.apply(this.config);
    this.log.info({ services: this.config.services.length, vrrp: this.vrrp.size, interfaces: this.attached }, 'xdpvs running');
  }

  /** What the file asks of this host (interfaces, addresses): a ConfigError naming file:line, before anything changes. */
  private checkHost(config: Config): void {
    const problems = hostProblems(config);
    if (problems.length > 0) throw new ConfigError(problems);
  }

  private load(): Config {
    const { config, warnings, format } = loadConfig(this.opts.configPath);
    for (const w of warnings) this.log.warn({ code: w.code, at: `${w.loc.file}:${w.loc.line}` }, w.message);
    this.log.info({ file: this.opts.configPath, format, services: config.services.length }, 'configuration loaded');
    this.format = format;
    return config;
  }

  /** Attaches, replacing atomically a director program already there (an earlier agent's). */
  private attach(iface: string): void {
    const { mode, replaced } = this.dp.attach(iface, this.opts.xdpMode);
    this.attached.push({ iface, mode });
    this.log.info({ iface, mode, replaced }, 'xdp attached');
  }

  /** Every real's health target; state is kept across reloads for unchanged checks. */
  private targets(): Target[] {
    return this.config.services.flatMap((s) =>
      s.reals.map((r) => ({ key: realKey(s, r), checks: r.checks, initialUp: !s.alpha || this.pinnedActive.has(realKey(s, r)) })),
    );
  }

  private onHealth(key: string, up: boolean, detail: string): void {
    const t = process.hrtime.bigint();
    this.states.set(key, { ...this.states.get(key), up });
    // maps first, then the log line: whoever reads "real down" finds it out of the ring
    this.reconcile();
    const mapMs = Number(process.hrtime.bigint() - t) / 1e6;
    const real = this.findReal(key);
    this.log[up ? 'info' : 'warn']({ real: key, detail, mapMs }, up ? 'real up' : 'real down');
    this.runScript(up ? real?.notifyUp : real?.notifyDown);
  }

  /** A notify / quorum script, detached: never waited for. */
  private runScript(script: string | undefined): void {
    if (!script) return;
    const child = spawn('/bin/sh', ['-c', script], { stdio: 'ignore', detached: true });
    child.on('error', (err) => this.log.error({ code: RunCode.SCRIPT, script, err: err.message }, 'notify script failed'));
    child.unref();
  }

  private findReal(key: string) {
    for (const s of this.config.services) for (const r of s.reals) if (realKey(s, r) === key) return r;
    return undefined;
  }

  /** Writes what changed since the last pass into the maps. */
  reconcile(): void {
    const compute = (): DesiredState =>
      desiredState({ config: this.config, states: this.states, reach: this.reach, ids: assignIds(this.config, this.vipIds, this.realIds), quorum: this.prev.quorum });
    let next: DesiredState;
    try {
      next = compute();
    } catch (err) {
      if (!(err instanceof RangeError) || this.realIds.retired().size === 0) throw err;
      this.reclaimRealIds();
      next = compute();
    }
    this.writeSettings();
    const stats = applyDiff(this.dp, this.prev, next);
    const before = this.prev.quorum;
    this.prev = next;
    for (const s of this.config.services) {
      const was = before.get(s.key);
      const now = next.quorum.get(s.key);
      if (was === undefined || was === now) continue;
      this.log[now ? 'info' : 'warn']({ service: s.key }, now ? 'quorum gained' : 'quorum lost');
      this.runScript(now ? s.quorumUp : s.quorumDown);
    }
    if (stats.reals + stats.tables + stats.vips + stats.removed > 0) {
      this.log.info(stats, 'maps updated');
      this.saveIds();
    }
  }

  /** Tunnel sources: our address toward the first reached TUN real of each family. */
  private writeSettings(): void {
    let src4: Buffer = Buffer.alloc(4);
    let src6: Buffer = Buffer.alloc(16);
    for (const s of this.config.services) {
      if (s.method !== 'tun') continue;
      for (const r of [...s.reals, ...(s.sorryServer ? [s.sorryServer] : [])]) {
        const src = this.reach.get(String(r.addr))?.prefsrc;
        if (!src) continue;
        const a = addrBytes(parseAddr(src));
        if (a.family === 2 && !src4.some(Boolean)) src4 = a.bytes.subarray(0, 4);
        if (a.family === 10 && !src6.some(Boolean)) src6 = a.bytes;
      }
    }
    this.dp.setSettings({ tunSrc4: src4, tunSrc6: src6 });
  }

  /**
   * A restart: what the previous agent was forwarding with stays until this
   * one knows better, so that no flow or persistent client moves while the
   * kernel answers (see reconcile/adopt.ts).
   */
  private adoptPins(): void {
    const ids = this.realIds.toJSON();
    const known = this.config.services.flatMap((s) =>
      s.reals.flatMap((r) => {
        const key = realKey(s, r);
        const id = ids[key];
        return id === undefined ? [] : [{ key, id, addr: r.addr }];
      }),
    );
    const { reach, active } = adoptFromPins(known, (id) => this.dp.real(id), this.dp.settings());
    for (const [addr, r] of reach) {
      // device and gateway unknown until the kernel answers (refreshReach)
      this.reach.set(addr, { ...r, dev: '(pinned)', hop: addr });
      this.adopted.add(addr);
    }
    // alpha services start their reals down; one the previous agent had up stays up
    for (const key of active) if (!this.states.has(key)) this.states.set(key, { up: true });
    this.pinnedActive = active;
    if (reach.size > 0) this.log.info({ reals: [...reach.keys()] }, 'next hops taken over from the pinned maps until resolved');
  }

  /**
   * Before the first pass: real slots in the pinned maps that no saved id
   * explains (ids.json lost, or older than the pins) may be named by flows of
   * any service; they are retired, so no new real takes one unswept.
   */
  private retireUnknownSlots(): void {
    const live = new Set(Object.values(this.realIds.toJSON()));
    const retired = this.realIds.retired();
    for (let id = 1; id < Limits.XDPVS_MAX_REALS; id++) {
      if (live.has(id) || retired.has(id)) continue;
      const slot = this.dp.real(id);
      if (slot && slot.family !== 0) this.realIds.retire(id, '');
    }
  }

  /**
   * After the first pass: a real removed while no agent ran is still ACTIVE in
   * the pinned maps, and flows pinned to it would keep using it unchecked.
   * Every active slot this configuration does not have loses ACTIVE, so its
   * flows are rescheduled.
   */
  private deactivateStaleSlots(): void {
    for (let id = 1; id < Limits.XDPVS_MAX_REALS; id++) {
      if (this.prev.reals.has(id)) continue;
      const slot = this.dp.real(id);
      if (!slot || !(slot.flags & REAL_ACTIVE)) continue;
      this.dp.setReal(id, { ...slot, flags: slot.flags & ~REAL_ACTIVE });
      this.log.info({ realId: id }, 'a real left active by an earlier run is gone from the configuration: its flows are rescheduled');
    }
  }

  /**
   * Out of fresh real ids: deletes the flow entries that name retired ids
   * (their reals are gone and inactive; the data plane never writes an
   * inactive id into an entry), then frees them. Rare: only when every id
   * has been used.
   */
  private reclaimRealIds(): void {
    const retired = this.realIds.retired();
    const stale = [];
    for (const [key, state] of this.dp.flows()) if (retired.has(state.realId)) stale.push(key);
    for (const key of stale) this.dp.deleteFlow(key);
    this.realIds.release(retired.keys());
    this.log.info({ ids: retired.size, flows: stale.length }, 'real ids reclaimed: the flow entries naming them were deleted');
  }

  /** VIPs pinned by an earlier run that this configuration no longer has. */
  private sweepStale(): void {
    const keep = new Set([...this.prev.vips.values()].map((v) => `${v.id}`));
    for (const [key, meta] of [...this.dp.vips()]) {
      if (keep.has(`${meta.id}`)) continue;
      this.dp.deleteVip(key);
      this.dp.deleteTable(meta.id);
      this.log.info({ vipId: meta.id }, 'removed a VIP left from an earlier configuration');
    }
  }

  private async waitReached(limitMs: number): Promise<void> {
    const deadline = Date.now() + limitMs;
    while (this.allRealAddrs().some((a) => !this.reach.has(a)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      if (await this.refreshReach()) this.reconcile();
    }
  }

  vrrpStatus(): VrrpStatus[] {
    return this.vrrp.status();
  }

  /**
   * Next hops follow the kernel's events (reach/monitor.ts): a route change,
   * or a neighbour line naming a real or a next hop, looks every real up
   * again within REACH_DEBOUNCE_MS (two `ip` processes, whatever the number
   * of reals). Besides, a slow resync every reachInterval (30 s) in case an
   * event was lost, and every second while a real is not reached yet.
   */
  private onReachEvent(e: ReachEvent): void {
    if (e.kind === 'neigh') {
      const watched = new Set(this.allRealAddrs());
      for (const r of this.reach.values()) watched.add(r.hop);
      if (!e.words.some((w) => watched.has(w))) return;
    }
    this.reachSoon();
  }

  /** One refresh soon, however many events ask for it meanwhile. */
  private reachSoon(): void {
    if (this.reachSoonTimer || !this.reachTimer) return;
    this.reachSoonTimer = setTimeout(() => {
      this.reachSoonTimer = undefined;
      void this.refreshReach()
        .then((changed) => changed && this.reconcile())
        .catch((err: Error) => this.log.error({ code: RunCode.REACH, err: err.message }, 'resolving reals failed'));
    }, REACH_DEBOUNCE_MS);
  }

  /** The resync: every second while a real is unreached, else every reachInterval. */
  private scheduleReach(): void {
    const unreached = this.allRealAddrs().some((a) => !this.reach.has(a));
    const ms = unreached ? 1000 : (this.opts.reachInterval ?? 30_000);
    this.reachTimer = setTimeout(() => {
      void this.refreshReach()
        .then((changed) => changed && this.reconcile())
        .catch((err: Error) => this.log.error({ code: RunCode.REACH, err: err.message }, 'resolving reals failed'))
        .finally(() => this.reachTimer && this.scheduleReach());
    }, ms);
  }

  private allRealAddrs(): string[] {
    const addrs = new Set<string>();
    for (const s of this.config.services) {
      for (const r of s.reals) addrs.add(String(r.addr));
      if (s.sorryServer) addrs.add(String(s.sorryServer.addr));
    }
    return [...addrs];
  }

  /**
   * Re-resolves every real; true when something changed. A failed lookup
   * keeps a reached real's last next hop (dataplane/reach.ts: nextReach).
   */
  private async refreshReach(): Promise<boolean> {
    const addrs = new Set(this.allRealAddrs());
    let changed = false;
    const lookups = await lookupAll([...addrs], this.opts.interfaces);
    await Promise.all(
      [...addrs].map(async (addr) => {
        const lookup = lookups.get(addr) ?? { unknown: 'not looked up' };
        const old = this.reach.get(addr);
        // a next hop taken over from the pins at start has no device known
        // ('(pinned)'): it stays until the kernel answers definitely
        const adopted = this.adopted.has(addr);
        const r = adopted && 'unknown' in lookup ? old : nextReach(addr, old, lookup);
        if (!('unknown' in lookup)) this.adopted.delete(addr);
        if (old && r === old && 'unknown' in lookup) this.log.debug({ real: addr, why: lookup.unknown }, 'lookup failed: keeping the last known next hop');
        if (JSON.stringify(r) === JSON.stringify(old)) return;
        changed = true;
        if (r) this.reach.set(addr, r);
        else this.reach.delete(addr);
        if (r) this.log.info({ real: addr, mac: r.mac, dev: r.dev }, 'real reached');
        else if (old) this.log.warn({ real: addr, why: 'unreachable' in lookup ? lookup.unreachable : 'unknown' in lookup ? lookup.unknown : '' }, 'real unreachable: the kernel reports a changed route');
        else this.log.info({ real: addr }, 'real not reachable yet');
      }),
    );
    for (const addr of [...this.reach.keys()]) if (!addrs.has(addr)) this.reach.delete(addr);
    return changed;
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
      this.checkHost(config);
      this.dryRun(config);
    } catch (err) {
      if (!(err instanceof ConfigError)) return rejected((err as Error).message);
      for (const d of err.diagnostics.filter((x) => x.severity === 'error')) this.log.error({ code: d.code }, formatDiagnostic(d));
      return rejected(`${err.diagnostics.filter((x) => x.severity === 'error').length} error(s) in ${this.opts.configPath}`);
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

  /** The new configuration's desired state computed on copies of the id tables: out of ids throws before anything changes. */
  private dryRun(config: Config): void {
    const realIds = this.realIds.clone();
    // retired ids can be reclaimed (reclaimRealIds) if the fresh ones run out
    realIds.release(realIds.retired().keys());
    try {
      desiredState({ config, states: this.states, reach: this.reach, ids: assignIds(config, this.vipIds.clone(), realIds), quorum: this.prev.quorum });
    } catch (err) {
      throw new ConfigError([{ severity: 'error', code: ConfigCode.CAPACITY, loc: { file: this.opts.configPath, line: 0 }, message: (err as Error).message }]);
    }
  }

  private async switchTo(config: Config): Promise<void> {
    this.config = config;
    this.monitor.set(this.targets());
    // as keepalived re-syncs IPVS to its file: runtime weights (`xdpvs real`) end with a reload
    for (const key of [...this.states.keys()]) {
      const up = this.monitor.isUp(key);
      if (up === undefined) this.states.delete(key);
      else this.states.set(key, { up });
    }
    await this.refreshReach();
    this.reconcile();
    await this.vrrp.apply(this.config);
  }

  /** Runtime weight of a real (`xdpvs real weight|drain|enable`); undefined clears the override. */
  setWeight(serviceKey: string, real: string, weight: number | undefined): void {
    const svc = this.config.services.find((s) => s.key === serviceKey);
    const r = svc?.reals.find((x) => `${x.addr}:${x.port}` === real || `[${x.addr}]:${x.port}` === real);
    if (!svc) throw new Error(`service: no service ${serviceKey} (services: ${this.config.services.map((x) => x.key).join(', ')})`);
    if (!r) throw new Error(`real: no real ${real} in service ${serviceKey}`);
    const key = realKey(svc, r);
    const up = this.states.get(key)?.up ?? this.monitor.isUp(key) ?? true;
    this.states.set(key, weight === undefined ? { up } : { up, weight });
    this.log.info({ real: key, weight: weight ?? r.weight }, 'weight changed');
    this.reconcile();
  }

  /** The live service table: configuration, health, weights and counters. */
  services(): ServiceRow[] {
    const counts = this.flowCounts();
    return this.config.services.map((s) => {
      const vip = this.prev.vips.get(s.key);
      const vs = vip ? this.dp.vipStats(vip.id) : undefined;
      const reals = [...this.prev.reals.values()].filter((r) => r.service === s.key && (!r.sorry || r.active));
      return {
        key: s.key,
        scheduler: s.scheduler,
        method: s.method,
        persistenceTimeout: s.persistenceTimeout,
        tableSize: vip?.table.length ?? 0,
        packets: String(vs?.packets ?? 0n),
        bytes: String(vs?.bytes ?? 0n),
        newFlows: String(vs?.newFlows ?? 0n),
        reals: reals.map((r) => {
          const configured = s.reals.find((x) => realKey(s, x) === r.key);
          const last = this.lastResults.get(r.key);
          const st = this.dp.realStats(r.id);
          return {
            addr: String(r.addr),
            port: r.port,
            id: r.id,
            weight: r.weight,
            configuredWeight: configured?.weight ?? 1,
            up: r.up,
            reached: this.reach.has(String(r.addr)),
            sorry: r.sorry,
            activeConn: counts.get(r.id)?.active ?? 0,
            inactConn: counts.get(r.id)?.inactive ?? 0,
            packets: String(st.packets),
            bytes: String(st.bytes),
            newFlows: String(st.newFlows),
            ...(last ? { lastCheck: { ok: last.ok, detail: last.detail, latency: last.latency } } : {}),
          };
        }),
      };
    });
  }

  stats(): StatsAnswer {
    const verdicts: Record<string, { packets: string; bytes: string }> = {};
    this.dp.verdicts().forEach((v, i) => (verdicts[REASON_NAMES[i] ?? `reason_${i}`] = { packets: String(v.packets), bytes: String(v.bytes) }));
    const services = [...this.prev.vips.values()].map((v) => {
      const st = this.dp.vipStats(v.id);
      return { key: v.service, packets: String(st.packets), bytes: String(st.bytes), newFlows: String(st.newFlows) };
    });
    return { verdicts, services };
  }

  mapUsage(): { map: string; entries: number; capacity: number }[] {
    const flows = this.census?.latest().entries ?? 0;
    return [
      { map: 'vips', entries: this.prev.vips.size, capacity: this.dp.capacity('vips') },
      { map: 'reals', entries: this.prev.reals.size, capacity: this.dp.capacity('reals') - 1 },
      { map: 'flows', entries: flows, capacity: this.dp.capacity('flows') },
    ];
  }

  info(): { version: string; format: string; config: string } {
    return { version: VERSION, format: this.format, config: this.opts.configPath };
  }

  /** Answers a control-socket request. */
  handle(req: Request): Answer {
    if (req.cmd === 'list') return { ok: true, services: this.services(), vrrp: this.vrrpStatus() };
    if (req.cmd === 'stats') return { ok: true, stats: this.stats() };
    try {
      this.setWeight(req.service, req.real, req.weight ?? undefined);
      return { ok: true, done: `${req.service} -> ${req.real}: weight ${req.weight ?? 'as configured'}` };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  /**
   * Connection entries per real id, from the census's latest walk: active when
   * seen in the last ACTIVE_FLOW_SECONDS, inactive otherwise (xdpvs does not
   * track TCP states, so this stands in for IPVS's ActiveConn / InActConn).
   */
  flowCounts(): Map<number, FlowCounts> {
    return this.census?.latest().perReal ?? new Map();
  }

  flowSnapshot(): { at: number; walkMs: number } {
    const s = this.census?.latest();
    return { at: s?.at ?? 0, walkMs: s?.walkMs ?? 0 };
  }

  get dataplane(): LbDataplane {
    return this.dp;
  }

  private restoreIds(): void {
    try {
      const saved = JSON.parse(fs.readFileSync(this.idsFile, 'utf8')) as { vips?: Record<string, number>; reals?: Record<string, number>; retiredReals?: Record<string, string> };
      this.vipIds = IdAllocator.fromJSON(0, Limits.XDPVS_MAX_VIPS - 1, saved.vips ?? {});
      this.realIds = IdAllocator.fromJSON(1, Limits.XDPVS_MAX_REALS - 1, saved.reals ?? {}, serviceOfReal, saved.retiredReals ?? {});
    } catch {
      /* first run */
    }
  }

  private saveIds(): void {
    const tmp = `${this.idsFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ vips: this.vipIds.toJSON(), reals: this.realIds.toJSON(), retiredReals: this.realIds.retiredJSON() }));
    fs.renameSync(tmp, this.idsFile);
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
    if (detach && this.config) {
      for (const s of this.config.services.filter((x) => x.omega)) {
        if (this.prev.quorum.get(s.key)) this.runScript(s.quorumDown);
        for (const r of s.reals) if (this.states.get(realKey(s, r))?.up ?? this.monitor?.isUp(realKey(s, r))) this.runScript(r.notifyDown);
      }
    }
    if (this.reachTimer) clearTimeout(this.reachTimer);
    this.reachTimer = undefined;
    if (this.reachSoonTimer) clearTimeout(this.reachSoonTimer);
    this.reachSoonTimer = undefined;
    this.reachMonitor?.stop();
    this.census?.stop();
    this.control?.close();
    this.metrics?.close();
    this.monitor?.stop();
    if (detach) {
      for (const [i, { iface, mode }] of this.attached.entries()) {
        try {
          this.dp.detach(iface, mode, i === this.attached.length - 1);
          this.log.info({ iface }, 'xdp detached');
        } catch (err) {
          this.log.error({ code: RunCode.STOP, iface, err: (err as Error).message }, 'detach failed');
        }
      }
    }
    this.attached = [];
    this.dp?.close();
  }
}

