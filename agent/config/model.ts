// The one configuration model. The YAML/JSON loader and the keepalived.conf
// translator both produce it; everything downstream (health, sched,
// reconcile) reads only this. Durations are in seconds, as keepalived's;
// addresses are parsed values (net/addr.ts), which print as their text.
// Defaults and ranges are in keywords.ts, the table both front ends read.
import { endpointText, type Addr } from '../net/addr';
import { RING_SIZE } from '../net/limits';
import type { SourceLoc } from './diagnostics';

export type Protocol = 'tcp' | 'udp';
export type Method = 'dr' | 'tun';
/** IPVS scheduler names; lc/wlc/sed/nq are weighted Maglev rings, the same on every director (reconcile/desired.ts). */
export type Scheduler = 'rr' | 'wrr' | 'lc' | 'wlc' | 'sh' | 'dh' | 'mh' | 'sed' | 'nq';
export const SCHEDULERS: readonly Scheduler[] = ['rr', 'wrr', 'lc', 'wlc', 'sh', 'dh', 'mh', 'sed', 'nq'];

export interface Endpoint {
  addr: Addr;
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
    bindTo?: Addr;
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
  vip: Addr;
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
  vrrpInstances: VrrpInstance[];
  vrrpScripts: VrrpScript[];
  vrrpSyncGroups: VrrpSyncGroup[];
  /** files the configuration was read from */
  files: string[];
}

export function serviceKey(protocol: Protocol, vip: Addr, port: number): string {
  return `${protocol} ${endpointText(vip, port)}`;
}

export function endpointKey(e: Endpoint): string {
  return endpointText(e.addr, e.port);
}

/** Every real address a configuration forwards to, sorry servers included. */
export function forwardAddrs(config: Config): string[] {
  return config.services.flatMap((s) => [...s.reals, ...(s.sorryServer ? [s.sorryServer] : [])].map((r) => String(r.addr)));
}

/**
 * The service and real a request names: the service by its key, the real as
 * ADDR:PORT (IPv6 with or without brackets). Throws an Error naming the field.
 */
export function findReal(config: Config, service: string, real: string): { service: Service; real: Real } {
  const svc = config.services.find((s) => s.key === service);
  if (!svc) throw new Error(`service: no service ${service} (services: ${config.services.map((x) => x.key).join(', ')})`);
  const r = svc.reals.find((x) => endpointKey(x) === real || `${x.addr}:${x.port}` === real);
  if (!r) throw new Error(`real: no real ${real} in service ${service}`);
  return { service: svc, real: r };
}

/** A vrrp_script: run every `interval`; `fall` failures / `rise` successes flip it. */
export interface VrrpScript {
  name: string;
  script: string;
  interval: number;
  timeout?: number;
  /** 0: a failure puts tracking instances in FAULT; else added on success (>0) or on failure (<0) */
  weight: number;
  reverse: boolean;
  rise: number;
  fall: number;
  initFail: boolean;
  loc: SourceLoc;
}

export interface VirtualAddress {
  addr: Addr;
  prefix: number;
  dev?: string;
  label?: string;
  loc: SourceLoc;
}

export interface Tracked {
  name: string;
  /** undefined: the tracked object's own weight (scripts) or 0 (interfaces) */
  weight?: number;
  reverse: boolean;
  loc: SourceLoc;
}

export interface VrrpInstance {
  name: string;
  /** the state asked for at start; the protocol decides afterwards */
  initialState: 'MASTER' | 'BACKUP';
  interface: string;
  virtualRouterId: number;
  priority: number;
  /** seconds */
  advertInt: number;
  version: 2 | 3;
  family: 'inet' | 'inet6';
  authPass?: string;
  virtualAddresses: VirtualAddress[];
  excludedAddresses: VirtualAddress[];
  nopreempt: boolean;
  /** seconds */
  preemptDelay: number;
  trackInterfaces: Tracked[];
  trackScripts: Tracked[];
  notifyMaster?: string;
  notifyBackup?: string;
  notifyFault?: string;
  notifyStop?: string;
  notify?: string;
  unicastSrcIp?: Addr;
  unicastPeers: Addr[];
  /** seconds after becoming master for the second burst of gratuitous ARP / NA */
  garpMasterDelay: number;
  /** gratuitous ARPs / NAs per burst */
  garpMasterRepeat: number;
  /** keepalived old_unicast_checksum: VRRPv3 checksum without the pseudo-header */
  v3ChecksumAsV2: boolean;
  /**
   * xdpvs split-brain guard: an address (the gateway, typically) pinged every
   * advert_int; unanswered `referenceFall` times in a row puts the instance in
   * FAULT, so a director cut off from the network gives the VIPs up.
   */
  referenceAddress?: Addr;
  referenceFall: number;
  loc: SourceLoc;
}

export interface VrrpSyncGroup {
  name: string;
  group: string[];
  /** tracked by every member, weights honoured (keepalived's group tracking) */
  trackInterfaces: Tracked[];
  trackScripts: Tracked[];
  /**
   * sync_group_tracking_weight (or the deprecated global_tracking): members
   * keep the weights of their own tracked objects; without it keepalived
   * drops weighted scripts and makes weighted interfaces weight 0.
   */
  trackingWeight: boolean;
  loc: SourceLoc;
}


export function emptyConfig(files: string[]): Config {
  return { ringSize: RING_SIZE.default, services: [], vrrpInstances: [], vrrpScripts: [], vrrpSyncGroups: [], files };
}
