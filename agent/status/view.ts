// What the director is doing, as the control socket (`xdpvs list`, `stats`)
// and /metrics both show it: one view over the configuration, the state the
// maps were last written with, health, next hops, the flow census and the
// data plane's counters. It reads; it never writes.
import type { CheckResult } from '../health/checkers';
import type { Config } from '../config/model';
import type { ServiceRow, StatsAnswer, VrrpRow } from '../control/protocol';
import { REASON_NAMES, type TrafficStatsValue, type VerdictStatsValue } from '../dataplane/abi';
import type { FlowSnapshot } from '../dataplane/census';
import type { MetricsSource } from '../metrics/metrics';
import type { DesiredState } from '../reconcile/desired';
import { realKey } from '../reconcile/keys';

/** The data plane's counters and sizes. LbDataplane has them. */
export interface Counters {
  vipStats(vipId: number): TrafficStatsValue;
  realStats(realId: number): TrafficStatsValue;
  verdicts(): VerdictStatsValue[];
  capacity(map: 'vips' | 'reals' | 'flows'): number;
}

/** Where the view reads from: each read is live, so the view is never stale. */
export interface StatusSources {
  config(): Config;
  /** what the maps hold (the last reconcile pass) */
  state(): DesiredState;
  counters: Counters;
  /** the flow census's latest walk */
  flows(): FlowSnapshot;
  lastCheck(realKey: string): CheckResult | undefined;
  reached(addr: string): boolean;
  vrrp(): VrrpRow[];
  version: string;
  /** the configuration's format ("yaml", "keepalived") and file */
  format(): string;
  configPath: string;
}

export class StatusView implements MetricsSource {
  constructor(private readonly src: StatusSources) {}

  /** The live service table: configuration, health, weights and counters. */
  services(): ServiceRow[] {
    const config = this.src.config();
    const state = this.src.state();
    const counts = this.src.flows().perReal;
    return config.services.map((s) => {
      const vip = state.vips.get(s.key);
      const vs = vip ? this.src.counters.vipStats(vip.id) : undefined;
      const reals = [...state.reals.values()].filter((r) => r.service === s.key && (!r.sorry || r.active));
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
          const last = this.src.lastCheck(r.key);
          const st = this.src.counters.realStats(r.id);
          return {
            addr: String(r.addr),
            port: r.port,
            id: r.id,
            weight: r.weight,
            configuredWeight: configured?.weight ?? 1,
            up: r.up,
            reached: this.src.reached(String(r.addr)),
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
    this.src.counters.verdicts().forEach((v, i) => (verdicts[REASON_NAMES[i] ?? `reason_${i}`] = { packets: String(v.packets), bytes: String(v.bytes) }));
    const services = [...this.src.state().vips.values()].map((v) => {
      const st = this.src.counters.vipStats(v.id);
      return { key: v.service, packets: String(st.packets), bytes: String(st.bytes), newFlows: String(st.newFlows) };
    });
    return { verdicts, services };
  }

  mapUsage(): { map: string; entries: number; capacity: number }[] {
    const state = this.src.state();
    const c = this.src.counters;
    return [
      { map: 'vips', entries: state.vips.size, capacity: c.capacity('vips') },
      // id 0 means "no real"
      { map: 'reals', entries: state.reals.size, capacity: c.capacity('reals') - 1 },
      { map: 'flows', entries: this.src.flows().entries, capacity: c.capacity('flows') },
    ];
  }

  info(): { version: string; format: string; config: string } {
    return { version: this.src.version, format: this.src.format(), config: this.src.configPath };
  }

  vrrpStatus(): VrrpRow[] {
    return this.src.vrrp();
  }

  flowSnapshot(): { at: number; walkMs: number } {
    const s = this.src.flows();
    return { at: s.at, walkMs: s.walkMs };
  }
}
