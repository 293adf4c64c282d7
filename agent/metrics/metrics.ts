// Prometheus metrics (prom-client) and the /metrics HTTP endpoint. Counters
// the kernel keeps (packets, bytes, new flows, verdicts) are read at scrape
// time and exposed as counters holding the kernel's totals, which survive
// agent restarts because the maps are pinned.
import * as http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'pino';
import type { CheckResult } from '../health/checkers';
import type { ServiceRow, StatsAnswer } from '../control/protocol';
import { LagMonitor } from './lag';

export interface MetricsSource {
  services(): ServiceRow[];
  stats(): StatsAnswer;
  mapUsage(): { map: string; entries: number; capacity: number }[];
  info(): { version: string; format: string; config: string };
  vrrpStatus(): { name: string; state: string; priority: number; counters: { received: number; sent: number; dropped: Partial<Record<string, number>>; transitions: number } }[];
  /** when the flow counts were taken (Date.now() ms; 0: not yet) and how long the walk took */
  flowSnapshot(): { at: number; walkMs: number };
}

const VRRP_STATES: Record<string, number> = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3 };

/** A counter that shows an absolute total read at scrape time. */
function totals(registry: Registry, name: string, help: string, labelNames: string[], read: () => [Record<string, string>, number][]): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect(this: Counter) {
      this.reset();
      for (const [labels, value] of read()) if (value > 0) this.inc(labels, value);
    },
  });
}

function split(realKey: string): { service: string; real: string } {
  const [service, real] = realKey.split(' -> ');
  return { service: service ?? realKey, real: real ?? '' };
}

export class Metrics {
  readonly registry = new Registry();
  private readonly checkDuration: Histogram;
  private readonly checks: Counter;
  private readonly reloads: Counter;
  private server: http.Server | undefined;
  private readonly lag: LagMonitor;
  /** one snapshot per scrape, shared by the collectors */
  private snapshot: { at: number; services: ServiceRow[] } | undefined;

  constructor(source: MetricsSource) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'xdpvs_agent_' });
    const services = (): ServiceRow[] => {
      const now = Date.now();
      if (!this.snapshot || now - this.snapshot.at > 500) this.snapshot = { at: now, services: source.services() };
      return this.snapshot.services;
    };
    const perReal = (f: (x: ServiceRow['reals'][number]) => number) => (): [Record<string, string>, number][] =>
      services().flatMap((s) => s.reals.map((x): [Record<string, string>, number] => [{ service: s.key, real: `${x.addr}:${x.port}` }, f(x)]));

    totals(r, 'xdpvs_vip_packets_total', 'Packets forwarded for a service', ['service'], () => services().map((s) => [{ service: s.key }, Number(s.packets)]));
    totals(r, 'xdpvs_vip_bytes_total', 'Bytes forwarded for a service', ['service'], () => services().map((s) => [{ service: s.key }, Number(s.bytes)]));
    totals(r, 'xdpvs_vip_new_flows_total', 'New flows of a service', ['service'], () => services().map((s) => [{ service: s.key }, Number(s.newFlows)]));
    totals(r, 'xdpvs_real_packets_total', 'Packets forwarded to a real', ['service', 'real'], perReal((x) => Number(x.packets)));
    totals(r, 'xdpvs_real_bytes_total', 'Bytes forwarded to a real', ['service', 'real'], perReal((x) => Number(x.bytes)));
    totals(r, 'xdpvs_real_new_flows_total', 'New flows sent to a real', ['service', 'real'], perReal((x) => Number(x.newFlows)));
    totals(r, 'xdpvs_verdict_packets_total', 'Packets by verdict reason', ['reason'], () =>
      Object.entries(source.stats().verdicts).map(([reason, v]) => [{ reason }, Number(v.packets)]),
    );
    totals(r, 'xdpvs_verdict_bytes_total', 'Bytes by verdict reason', ['reason'], () =>
      Object.entries(source.stats().verdicts).map(([reason, v]) => [{ reason }, Number(v.bytes)]),
    );

    const gauge = (name: string, help: string, labelNames: string[], read: () => [Record<string, string>, number][]): void => {
      new Gauge({
        name,
        help,
        labelNames,
        registers: [r],
        collect(this: Gauge) {
          this.reset();
          for (const [labels, value] of read()) this.set(labels, value);
        },
      });
    };
    gauge('xdpvs_real_up', 'Health of a real: 1 up, 0 down', ['service', 'real'], perReal((x) => (x.up ? 1 : 0)));
    gauge('xdpvs_real_weight', 'Weight in effect for a real', ['service', 'real'], perReal((x) => x.weight));
    gauge('xdpvs_real_active_connections', 'Flows to a real seen in the last 60 s', ['service', 'real'], perReal((x) => x.activeConn));
    gauge('xdpvs_real_inactive_connections', 'Older flows to a real still in the flow table', ['service', 'real'], perReal((x) => x.inactConn));
    gauge('xdpvs_map_entries', 'Entries in use in a BPF map', ['map'], () => source.mapUsage().map((m) => [{ map: m.map }, m.entries]));
    gauge('xdpvs_map_capacity', 'Capacity of a BPF map', ['map'], () => source.mapUsage().map((m) => [{ map: m.map }, m.capacity]));
    gauge('xdpvs_vrrp_state', 'VRRP state: 0 init, 1 backup, 2 master, 3 fault', ['instance'], () =>
      source.vrrpStatus().map((v) => [{ instance: v.name }, VRRP_STATES[v.state] ?? 0]),
    );
    gauge('xdpvs_vrrp_priority', 'VRRP priority in effect (after tracking)', ['instance'], () => source.vrrpStatus().map((v) => [{ instance: v.name }, v.priority]));
    totals(r, 'xdpvs_vrrp_adverts_received_total', 'Valid VRRP advertisements received', ['instance'], () =>
      source.vrrpStatus().map((v) => [{ instance: v.name }, v.counters.received]),
    );
    totals(r, 'xdpvs_vrrp_adverts_sent_total', 'VRRP advertisements sent', ['instance'], () => source.vrrpStatus().map((v) => [{ instance: v.name }, v.counters.sent]));
    totals(r, 'xdpvs_vrrp_adverts_dropped_total', 'VRRP advertisements dropped, by reason', ['instance', 'reason'], () =>
      source.vrrpStatus().flatMap((v) => Object.entries(v.counters.dropped).map(([reason, n]): [Record<string, string>, number] => [{ instance: v.name, reason }, n ?? 0])),
    );
    totals(r, 'xdpvs_vrrp_transitions_total', 'VRRP state transitions', ['instance'], () => source.vrrpStatus().map((v) => [{ instance: v.name }, v.counters.transitions]));
    gauge('xdpvs_info', 'Agent version and configuration in use', ['version', 'format', 'config'], () => [[source.info(), 1]]);

    this.checkDuration = new Histogram({
      name: 'xdpvs_check_duration_seconds',
      help: 'Duration of health-check attempts',
      labelNames: ['service', 'real', 'type'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [r],
    });
    this.checks = new Counter({
      name: 'xdpvs_checks_total',
      help: 'Health-check attempts by result',
      labelNames: ['service', 'real', 'type', 'result'],
      registers: [r],
    });
    this.reloads = new Counter({ name: 'xdpvs_config_reloads_total', help: 'Configuration reloads by result', labelNames: ['result'], registers: [r] });
    gauge('xdpvs_flow_snapshot_age_seconds', 'Age of the connection counts (one walk of the flow table, shared by metrics and list)', [], () => {
      const { at } = source.flowSnapshot();
      return at ? [[{}, (Date.now() - at) / 1000]] : [];
    });
    gauge('xdpvs_flow_walk_seconds', 'Duration of the last complete walk of the flow table', [], () => {
      const { at, walkMs } = source.flowSnapshot();
      return at ? [[{}, walkMs / 1000]] : [];
    });
    const lag = new Histogram({
      name: 'xdpvs_event_loop_lag_seconds',
      help: 'How late a 10 ms timer of the agent fires: the delay any VRRP advert or health check may see',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [r],
    });
    this.lag = new LagMonitor((s) => lag.observe(s));
    this.lag.start();
  }

  observeCheck(realKey: string, type: string, result: CheckResult): void {
    const labels = { ...split(realKey), type };
    this.checkDuration.observe(labels, result.latency / 1000);
    this.checks.inc({ ...labels, result: result.ok ? 'ok' : 'fail' });
  }

  reloaded(ok: boolean): void {
    this.reloads.inc({ result: ok ? 'ok' : 'rejected' });
  }

  /** Serves GET /metrics on HOST:PORT. */
  listen(hostPort: string, log: Logger): Promise<void> {
    const m = /^(.*):(\d+)$/.exec(hostPort);
    if (!m) throw new Error(`--metrics: wants HOST:PORT, got "${hostPort}"`);
    const host = m[1]!.replace(/^\[|\]$/g, '');
    this.server = http.createServer((req, res) => {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
        res.writeHead(404).end('see /metrics\n');
        return;
      }
      this.registry
        .metrics()
        .then((text) => res.writeHead(200, { 'Content-Type': this.registry.contentType }).end(text))
        .catch((err: Error) => res.writeHead(500).end(`${err.message}\n`));
    });
    return new Promise((resolve, reject) => {
      this.server!.once('error', (err) => reject(new Error(`--metrics ${hostPort}: ${err.message}`)));
      this.server!.listen(Number(m[2]), host, () => {
        log.info({ url: `http://${hostPort}/metrics` }, 'metrics served');
        resolve();
      });
    });
  }

  close(): void {
    this.lag.stop();
    this.server?.close();
  }
}
