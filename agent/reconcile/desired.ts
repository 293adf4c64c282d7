// Desired data-plane state, computed purely from the configuration, each
// real's health and administrative state, and how each real is reached.
// No I/O here: apply.ts turns the difference between two of these into map
// writes.
import { Family, Method, RealFlags, Sched, VipFlags } from '../dataplane/abi';
import { abiFamily } from '../dataplane/addr';
import { Mac, type Addr } from '../net/addr';
import { endpointKey, type Config, type Endpoint, type Real, type Service } from '../config/model';
import { buildMaglevRing } from '../sched/maglev';
import { buildWrrSequence } from '../sched/wrr';
import { Limits } from '../dataplane/abi';
import type { IdMap } from './ids';
import { realKey, sorryKey } from './keys';
import type { Reach } from '../dataplane/reach';

/** Runtime state of a real in a service, from health checks and the CLI. */
export interface RealState {
  /** false after its checks failed (or before the first success with alpha) */
  up: boolean;
  /** weight set at runtime (`xdpvs real weight`), overriding the configured one */
  weight?: number;
}

export interface DesiredReal {
  id: number;
  /** "tcp 192.0.2.10:80 -> 10.0.1.1:80" */
  key: string;
  service: string;
  addr: Addr;
  port: number;
  family: number;
  method: number;
  mac: Mac;
  srcMac: Mac;
  ifindex: number;
  /** TUN: the largest outer packet toward the real; 0 (DR, or unknown): unchecked */
  mtu: number;
  active: boolean;
  weight: number;
  up: boolean;
  sorry: boolean;
}

export interface DesiredVip {
  id: number;
  service: string;
  addr: Addr;
  family: number;
  port: number;
  proto: number;
  sched: number;
  flags: number;
  persistTimeout: number;
  /** real ids, one per slot; empty when no real can take traffic */
  table: number[];
}

export interface DesiredState {
  vips: Map<string, DesiredVip>;
  reals: Map<number, DesiredReal>;
  txports: Set<number>;
  /** by service key: whether its quorum is met (keepalived quorum / hysteresis) */
  quorum: Map<string, boolean>;
  /** the outer source address of tunnelled packets, per family */
  tunSrc: TunSources;
}

/** Our address toward the first reached TUN real of each family (undefined: none). */
export interface TunSources {
  v4: Addr | undefined;
  v6: Addr | undefined;
}

export interface Inputs {
  config: Config;
  /** by real key; a real with no entry counts as up unless the service has alpha */
  states: ReadonlyMap<string, RealState>;
  /** by real address; a real not reached yet takes no traffic */
  reach: ReadonlyMap<string, Reach>;
  /** from the allocation step (assignIds): desiredState only reads them */
  ids: IdMap;
  /** the previous pass's quorum states, for hysteresis */
  quorum?: ReadonlyMap<string, boolean>;
}

/** A real not reached yet, or sent out by XDP_TX (no source MAC of its own) */
const NO_MAC = Mac.fromBytes(Buffer.alloc(6));

const PROTO = { tcp: 6, udp: 17 } as const;
const SCHED: Record<Service['scheduler'], number> = {
  mh: Sched.XDPVS_SCHED_MH,
  sh: Sched.XDPVS_SCHED_SH,
  dh: Sched.XDPVS_SCHED_DH,
  rr: Sched.XDPVS_SCHED_RR,
  wrr: Sched.XDPVS_SCHED_RR,
  // LEAST_CONNECTION: lc/wlc/sed/nq are weighted Maglev rings. IPVS picks by
  // the connection counts of the one director; here a backup that takes over
  // never saw the master's flows and finds their real again only by hashing
  // them the way the master did, so the ring cannot follow either director's
  // counts. Without connection sync between directors, least-connection and
  // surviving a failover exclude each other; xdpvs keeps the connections.
  // Over many connections of similar length the shares match wlc's (W/sum W);
  // lc gives every real of positive weight the same share.
  lc: Sched.XDPVS_SCHED_MH,
  wlc: Sched.XDPVS_SCHED_MH,
  sed: Sched.XDPVS_SCHED_MH,
  nq: Sched.XDPVS_SCHED_MH,
};

/**
 * keepalived's quorum: met while the live reals' total weight is at least
 * `quorum`; with hysteresis it is gained at quorum + hysteresis and lost
 * below quorum - hysteresis. The first pass has no previous state and uses
 * `quorum` alone.
 */
export function quorumMet(previous: boolean | undefined, liveWeight: number, quorum: number, hysteresis: number): boolean {
  if (previous === undefined) return liveWeight >= quorum;
  return previous ? liveWeight >= quorum - hysteresis : liveWeight >= quorum + hysteresis;
}

/** Keys are re-exported: most readers of the desired state want them too. */
export { realKey, sorryKey };

/** The id of `key`; the allocation step (assignIds) gave every service and real one. */
function idOf(ids: ReadonlyMap<string, number>, key: string): number {
  const id = ids.get(key);
  if (id === undefined) throw new Error(`no id assigned to ${key}`);
  return id;
}

function describe(
  service: Service,
  key: string,
  ep: Endpoint,
  weight: number,
  up: boolean,
  sorry: boolean,
  inputs: Inputs,
): DesiredReal {
  const reach = inputs.reach.get(String(ep.addr));
  return {
    id: idOf(inputs.ids.real, key),
    key,
    service: service.key,
    addr: ep.addr,
    port: ep.port,
    family: abiFamily(ep.addr),
    method: service.method === 'tun' ? Method.XDPVS_FWD_TUN : Method.XDPVS_FWD_DR,
    mac: reach?.mac ?? NO_MAC,
    srcMac: reach?.srcMac ?? NO_MAC,
    ifindex: reach?.ifindex ?? 0,
    mtu: service.method === 'tun' ? Math.min(reach?.mtu ?? 0, 0xffff) : 0,
    // unreachable or failed reals lose their flows; drained ones keep them
    active: up && reach !== undefined,
    weight,
    up,
    sorry,
  };
}

function weightOf(real: Real, state: RealState | undefined): number {
  return state?.weight ?? real.weight;
}

/** Tunnel sources: the prefsrc of the first reached TUN real (sorry servers included) of each family, in configuration order. */
function tunSources(inputs: Inputs): TunSources {
  const out: TunSources = { v4: undefined, v6: undefined };
  for (const s of inputs.config.services) {
    if (s.method !== 'tun') continue;
    for (const r of [...s.reals, ...(s.sorryServer ? [s.sorryServer] : [])]) {
      const src = inputs.reach.get(String(r.addr))?.prefsrc;
      if (!src) continue;
      if (src.family === 'inet') out.v4 ??= src;
      else out.v6 ??= src;
    }
  }
  return out;
}

/** What the maps should hold for these inputs. Pure: it reads its inputs and changes none of them. */
export function desiredState(inputs: Inputs): DesiredState {
  const { config } = inputs;
  const out: DesiredState = { vips: new Map(), reals: new Map(), txports: new Set(), quorum: new Map(), tunSrc: tunSources(inputs) };

  for (const svc of config.services) {
    const reals: DesiredReal[] = [];
    for (const r of svc.reals) {
      const key = realKey(svc, r);
      const state = inputs.states.get(key);
      const up = state?.up ?? !svc.alpha;
      // inhibit_on_failure: a failed real shows weight 0, as keepalived sets it in IPVS
      const weight = !up && r.inhibitOnFailure ? 0 : weightOf(r, state);
      reals.push(describe(svc, key, r, weight, up, false, inputs));
    }
    let serving = reals.filter((r) => r.active && r.weight > 0);
    const liveWeight = serving.reduce((sum, r) => sum + r.weight, 0);
    const met = quorumMet(inputs.quorum?.get(svc.key), liveWeight, svc.quorum, svc.hysteresis);
    out.quorum.set(svc.key, met);
    // quorum lost: a sorry server replaces every real (established flows stay on theirs)
    if (!met && svc.sorryServer) {
      serving = [];
      const key = sorryKey(svc);
      const sorry = describe(svc, key, svc.sorryServer, 1, true, true, inputs);
      reals.push(sorry);
      if (sorry.active) serving = [sorry];
    }
    for (const r of reals) {
      out.reals.set(r.id, r);
      if (r.ifindex) out.txports.add(r.ifindex);
    }

    let table: number[] = [];
    if (serving.length > 0) {
      if (svc.scheduler === 'rr' || svc.scheduler === 'wrr') {
        const weights = serving.map((r) => ({ id: r.id, weight: svc.scheduler === 'rr' ? 1 : r.weight }));
        table = [...buildWrrSequence(weights, Limits.XDPVS_MAX_TABLE)];
      } else {
        // lc/wlc/sed/nq too: a function of configuration, health and runtime
        // weights only, never of this director's connection counts, so every
        // director builds the same ring and a backup lands a master's flows
        // where the master did (see LEAST_CONNECTION below)
        const ring = serving.map((r) => ({ key: endpointKey(r), id: r.id, weight: svc.scheduler === 'lc' ? 1 : r.weight }));
        table = [...buildMaglevRing(ring, config.ringSize)];
      }
    }
    out.vips.set(svc.key, {
      id: idOf(inputs.ids.vip, svc.key),
      service: svc.key,
      addr: svc.vip,
      family: abiFamily(svc.vip),
      port: svc.port,
      proto: PROTO[svc.protocol],
      sched: SCHED[svc.scheduler],
      flags: svc.persistenceTimeout > 0 ? VipFlags.XDPVS_VIP_PERSIST : 0,
      persistTimeout: svc.persistenceTimeout,
      table,
    });
  }
  return out;
}

export const REAL_ACTIVE = RealFlags.XDPVS_REAL_ACTIVE;
export { Family };
