// Applies the difference between two desired states to a Dataplane, touching
// only what changed, in an order that never points at something missing:
// reals first, then tables, then VIPs; removals in the reverse order.
import type { FlowKeyValue, FlowStateValue, LbSettingsValue, RealDefValue, VipKeyValue, VipMetaValue } from '../dataplane/abi';
import { addrBytes } from '../dataplane/addr';
import { sameAddr, type Addr } from '../net/addr';
import { same } from '../net/same';
import type { DesiredReal, DesiredState, DesiredVip, TunSources } from './desired';
import { REAL_ACTIVE } from './desired';

/**
 * What reconcile needs of the data plane: every map write the agent makes
 * goes through it. LbDataplane implements it, tests use FakeDataplane.
 */
export interface Dataplane {
  setReal(id: number, real: RealDefValue): void;
  real(id: number): RealDefValue | undefined;
  setTable(vipId: number, realIds: ArrayLike<number>): void;
  deleteTable(vipId: number): void;
  setVip(key: VipKeyValue, meta: VipMetaValue): void;
  deleteVip(key: VipKeyValue): boolean;
  vips(): Iterable<[VipKeyValue, VipMetaValue]>;
  addTxPort(ifindex: number): void;
  setSettings(s: LbSettingsValue): void;
  settings(): LbSettingsValue | undefined;
  flows(): Iterable<[FlowKeyValue, FlowStateValue]>;
  deleteFlow(key: FlowKeyValue): boolean;
}

/** Before the first pass: nothing known, so the first pass writes everything (tunnel sources included). */
export const EMPTY_STATE: DesiredState = { vips: new Map(), reals: new Map(), txports: new Set(), quorum: new Map(), tunSrc: { v4: undefined, v6: undefined } };

/** The settings entry's form of the tunnel sources (zeros: none). */
function settingsOf(t: TunSources): LbSettingsValue {
  const bytes = (a: Addr | undefined, n: number): Buffer => (a ? Buffer.from(a.bytes) : Buffer.alloc(n));
  return { tunSrc4: bytes(t.v4, 4), tunSrc6: bytes(t.v6, 16) };
}

function realDef(r: DesiredReal, active: boolean): RealDefValue {
  return {
    addr: addrBytes(r.addr).bytes,
    mac: r.mac.bytes,
    srcMac: r.srcMac.bytes,
    ifindex: r.ifindex,
    family: r.family,
    method: r.method,
    flags: active ? REAL_ACTIVE : 0,
    mtu: r.mtu,
    pad: 0,
  };
}

/** The vips map's key of a desired VIP. */
export function vipKey(v: DesiredVip): VipKeyValue {
  return { addr: addrBytes(v.addr).bytes, port: v.port, proto: v.proto, family: v.family };
}

function vipMeta(v: DesiredVip): VipMetaValue {
  return { id: v.id, flags: v.flags, sched: v.sched, tableSize: v.table.length, persistTimeout: v.persistTimeout, pad: 0 };
}

const sameReal = (a: DesiredReal, b: DesiredReal): boolean =>
  a.addr.equals(b.addr) && a.mac.equals(b.mac) && a.srcMac.equals(b.srcMac) && a.ifindex === b.ifindex && a.mtu === b.mtu && a.method === b.method && a.active === b.active;

const sameTable = (a: number[], b: number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export interface ApplyStats {
  reals: number;
  tables: number;
  vips: number;
  removed: number;
}

export function applyDiff(dp: Dataplane, prev: DesiredState, next: DesiredState): ApplyStats {
  const stats: ApplyStats = { reals: 0, tables: 0, vips: 0, removed: 0 };
  // before any TUN real turns active: its packets need their outer source
  if (prev === EMPTY_STATE || !sameAddr(prev.tunSrc.v4, next.tunSrc.v4) || !sameAddr(prev.tunSrc.v6, next.tunSrc.v6)) dp.setSettings(settingsOf(next.tunSrc));
  for (const ifindex of next.txports) if (!prev.txports.has(ifindex)) dp.addTxPort(ifindex);

  for (const [id, r] of next.reals) {
    const old = prev.reals.get(id);
    if (!old || !sameReal(old, r)) {
      dp.setReal(id, realDef(r, r.active));
      stats.reals++;
    }
  }
  for (const [key, v] of next.vips) {
    const old = prev.vips.get(key);
    const tableChanged = !old || !sameTable(old.table, v.table);
    const metaChanged = !old || !same(vipMeta(old), vipMeta(v));
    // the program indexes the table modulo the VIP's table_size: a longer
    // table goes in before the size grows, a shorter one after it shrinks
    const shrinking = old !== undefined && v.table.length < old.table.length;
    if (metaChanged && shrinking) dp.setVip(vipKey(v), vipMeta(v));
    if (tableChanged) {
      if (v.table.length > 0) dp.setTable(v.id, v.table);
      else if (old && old.table.length > 0) dp.deleteTable(v.id);
      stats.tables++;
    }
    if (metaChanged && !shrinking) dp.setVip(vipKey(v), vipMeta(v));
    if (metaChanged) stats.vips++;
  }
  // ids are stable per key and freed only after a computation, so a removed
  // VIP's id is not in `next`
  for (const [key, old] of prev.vips) {
    if (next.vips.has(key)) continue;
    dp.deleteVip(vipKey(old));
    if (old.table.length > 0) dp.deleteTable(old.id);
    stats.removed++;
  }
  // a real that is gone keeps its slot, inactive, so flows pinned to it move
  for (const [id, old] of prev.reals) {
    if (!next.reals.has(id) && old.active) {
      dp.setReal(id, realDef(old, false));
      stats.removed++;
    }
  }
  return stats;
}
