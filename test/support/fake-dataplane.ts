// An in-memory Dataplane (agent/reconcile/apply.ts) that records every write,
// so unit tests see each map change reconcile makes, in order.
import type { FlowKeyValue, FlowStateValue, LbSettingsValue, RealDefValue, VipKeyValue, VipMetaValue } from '../../agent/dataplane/abi';
import type { Dataplane } from '../../agent/reconcile/apply';
import { REAL_ACTIVE } from '../../agent/reconcile/desired';

const vipText = (key: VipKeyValue): string => `${key.proto}/${key.family}/${key.addr.toString('hex')}/${key.port}`;
const flowText = (key: FlowKeyValue): string => JSON.stringify(key);

export class FakeDataplane implements Dataplane {
  readonly reals = new Map<number, RealDefValue>();
  readonly tables = new Map<number, number[]>();
  /** by "proto/family/addr/port" */
  readonly vipMap = new Map<string, { key: VipKeyValue; meta: VipMetaValue }>();
  readonly txports = new Set<number>();
  readonly flowMap = new Map<string, { key: FlowKeyValue; state: FlowStateValue }>();
  written: LbSettingsValue | undefined;
  readonly log: string[] = [];

  setReal(id: number, real: RealDefValue): void {
    this.reals.set(id, real);
    this.log.push(`real ${id}${real.flags & REAL_ACTIVE ? '' : ' inactive'}`);
  }

  real(id: number): RealDefValue | undefined {
    return this.reals.get(id);
  }

  setTable(vipId: number, realIds: ArrayLike<number>): void {
    this.tables.set(vipId, Array.from(realIds));
    this.log.push(`table ${vipId}`);
  }

  deleteTable(vipId: number): void {
    this.tables.delete(vipId);
    this.log.push(`table ${vipId} deleted`);
  }

  setVip(key: VipKeyValue, meta: VipMetaValue): void {
    this.vipMap.set(vipText(key), { key, meta });
    this.log.push(`vip ${meta.id}`);
  }

  deleteVip(key: VipKeyValue): boolean {
    const had = this.vipMap.delete(vipText(key));
    this.log.push('vip deleted');
    return had;
  }

  *vips(): Generator<[VipKeyValue, VipMetaValue]> {
    for (const { key, meta } of [...this.vipMap.values()]) yield [key, meta];
  }

  addTxPort(ifindex: number): void {
    this.txports.add(ifindex);
    this.log.push(`txport ${ifindex}`);
  }

  setSettings(s: LbSettingsValue): void {
    this.written = s;
    this.log.push('settings');
  }

  settings(): LbSettingsValue | undefined {
    return this.written;
  }

  /** A flow entry as the data plane would have written it. */
  addFlow(key: FlowKeyValue, state: FlowStateValue): void {
    this.flowMap.set(flowText(key), { key, state });
  }

  *flows(): Generator<[FlowKeyValue, FlowStateValue]> {
    for (const { key, state } of [...this.flowMap.values()]) yield [key, state];
  }

  deleteFlow(key: FlowKeyValue): boolean {
    this.log.push('flow deleted');
    return this.flowMap.delete(flowText(key));
  }
}
