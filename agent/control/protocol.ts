// The control socket's protocol: one JSON request per line, one JSON answer
// per line. `ok: false` answers carry an error naming the field at fault.

export type Request =
  | { cmd: 'list' }
  | { cmd: 'stats' }
  | { cmd: 'real'; service: string; real: string; weight: number | null };

export interface RealRow {
  addr: string;
  port: number;
  id: number;
  weight: number;
  configuredWeight: number;
  up: boolean;
  reached: boolean;
  sorry: boolean;
  activeConn: number;
  inactConn: number;
  packets: string;
  bytes: string;
  newFlows: string;
  lastCheck?: { ok: boolean; detail: string; latency: number };
}

export interface ServiceRow {
  key: string;
  scheduler: string;
  method: 'dr' | 'tun';
  persistenceTimeout: number;
  tableSize: number;
  packets: string;
  bytes: string;
  newFlows: string;
  reals: RealRow[];
}

export interface StatsAnswer {
  verdicts: Record<string, { packets: string; bytes: string }>;
  services: { key: string; packets: string; bytes: string; newFlows: string }[];
}

export interface VrrpRow {
  name: string;
  state: string;
  priority: number;
  counters: { received: number; sent: number; dropped: Partial<Record<string, number>>; transitions: number };
  /** its vrrp_sync_group, if any */
  syncGroup?: string;
  /** BACKUP with its master-down timer run out, waiting for the rest of its sync group */
  wantsMaster: boolean;
}

export type Answer =
  | { ok: true; services: ServiceRow[]; vrrp: VrrpRow[] }
  | { ok: true; stats: StatsAnswer }
  | { ok: true; done: string }
  | { ok: false; error: string };

export const SOCKET_NAME = 'xdpvs.sock';
