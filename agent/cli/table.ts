// Service tables laid out as `ipvsadm -Ln` prints them, for `check` and `list`.
import type { Config } from '../config/model';
import { endpointText } from '../net/addr';

const FORWARD = { dr: 'Route', tun: 'Tunnel' } as const;

export interface TableRow {
  service: string;
  scheduler: string;
  persistence: number;
  method: 'dr' | 'tun';
  reals: { endpoint: string; weight: number; active?: number; inactive?: number; note?: string }[];
}

export function rowsFromConfig(config: Config): TableRow[] {
  return config.services.map((s) => ({
    service: s.key,
    scheduler: s.scheduler,
    persistence: s.persistenceTimeout,
    method: s.method,
    reals: s.reals.map((r) => ({
      endpoint: endpointText(r.addr, r.port),
      weight: r.weight,
      note: r.checks.map((c) => c.type.toUpperCase()).join(',') || 'no check',
    })),
  }));
}

export function formatTable(rows: TableRow[], counts: boolean): string {
  const lines = [
    'Prot LocalAddress:Port Scheduler Flags',
    counts
      ? '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn'
      : '  -> RemoteAddress:Port           Forward Weight Checks',
  ];
  for (const r of rows) {
    const [proto, vip] = r.service.split(' ');
    const flags = r.persistence > 0 ? ` persistent ${r.persistence}` : '';
    lines.push(`${proto!.toUpperCase().padEnd(4)} ${vip} ${r.scheduler}${flags}`);
    for (const x of r.reals) {
      const head = `  -> ${x.endpoint.padEnd(26)}${FORWARD[r.method].padEnd(8)}${String(x.weight).padEnd(7)}`;
      lines.push(counts ? `${head}${String(x.active ?? 0).padEnd(11)}${x.inactive ?? 0}${x.note ? `  ${x.note}` : ''}` : `${head}${x.note ?? ''}`);
    }
  }
  return lines.join('\n');
}
