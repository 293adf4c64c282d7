// The one configuration model. The YAML/JSON loader and the keepalived.conf
// translator both produce it; everything downstream (health, sched,
// reconcile) reads only this. Durations are in seconds, as keepalived's.
import type { SourceLoc } from './diagnostics';

export type Protocol = 'tcp' | 'udp';
export type Method = 'dr' | 'tun';
/** IPVS scheduler names; lc/wlc/sed/nq are fed back as weights by the agent. */
export type Scheduler = 'rr' | 'wrr' | 'lc' | 'wlc' | 'sh' | 'dh' | 'mh' | 'sed' | 'nq';
export const SCHEDULERS: readonly Scheduler[] = ['rr', 'wrr', 'lc', 'wlc', 'sh', 'dh', 'mh', 'sed', 'nq'];

export interface Endpoint {
  addr: string;
  port: number;
}

export interface CheckTiming {
  /** seconds between checks (the service's delay_loop unless overridden) */
  delayLoop: number;
  /** seconds a single attempt may take */
  connectTimeout: number;
  /** failed attempts in a row, after the first, before the real is marked down */
  retry: number;
  /** seconds between those retries */
  delayBeforeRetry: number;
  /** seconds of random delay before the first check (spreads checks out) */
  warmup: number;
}

export interface HttpUrl {
  path: string;
  /** accepted status ranges, inclusive; default 200-299 */
  statusCodes: [number, number][];
  /** MD5 hex of the body, when set */
  digest?: string;
}

export type CheckKind =
  | { type: 'tcp' }
  | { type: 'http' | 'https'; urls: HttpUrl[]; virtualhost?: string }
  | { type: 'udp'; payload?: string; require?: string }
  | { type: 'misc'; path: string; timeout?: number };

export type HealthCheck = CheckKind &
  CheckTiming & {
    /** where to connect; the real's address and port by default */
    connect: Endpoint;
    bindTo?: string;
    loc: SourceLoc;
  };

export interface Real extends Endpoint {
  weight: number;
  inhibitOnFailure: boolean;
  notifyUp?: string;
  notifyDown?: string;
  checks: HealthCheck[];
  loc: SourceLoc;
}

export interface Service {
  /** "tcp 192.0.2.10:80": stable identity across reloads */
  key: string;
  vip: string;
  /** 0: all ports */
  port: number;
  protocol: Protocol;
  scheduler: Scheduler;
  method: Method;
  /** seconds; 0: no persistence */
  persistenceTimeout: number;
  delayLoop: number;
  sorryServer?: Endpoint;
  /** keepalived alpha: reals start down until their first check succeeds */
  alpha: boolean;
  /** keepalived omega: on shutdown, run quorum_down and the reals' notify_down */
  omega: boolean;
  /** minimum total weight of live reals for the service to count as up (default 1) */
  quorum: number;
  /** weight units of slack around quorum before it flips (default 0) */
  hysteresis: number;
  quorumUp?: string;
  quorumDown?: string;
  reals: Real[];
  loc: SourceLoc;
}

export interface Config {
  routerId?: string;
  /** Maglev ring size, a prime */
  ringSize: number;
  services: Service[];
  /** files the configuration was read from */
  files: string[];
}

export function serviceKey(protocol: Protocol, vip: string, port: number): string {
  return `${protocol} ${vip.includes(':') ? `[${vip}]` : vip}:${port}`;
}

export function endpointKey(e: Endpoint): string {
  return `${e.addr.includes(':') ? `[${e.addr}]` : e.addr}:${e.port}`;
}

/** keepalived's defaults (check.h / check_parser.c). */
export const DEFAULTS = {
  delayLoop: 60,
  connectTimeout: 5,
  retry: 1,
  delayBeforeRetry: 1,
  warmup: 0,
  weight: 1,
  ringSize: 65537,
  quorum: 1,
  hysteresis: 0,
} as const;
