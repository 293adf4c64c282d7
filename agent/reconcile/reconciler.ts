// The one writer of the director's maps. Each pass computes the desired
// state (ids first, then desiredState) and applies what changed; the
// housekeeping a restart or an exhausted id range needs (stale slots, VIPs of
// an earlier configuration, flow entries of reclaimed ids) goes through the
// same Dataplane interface, so a test's fake sees every write. The id tables
// live here too, saved to ids.json whenever the maps change.
import * as fs from 'node:fs';
import type { Logger } from 'pino';
import { ConfigCode, ConfigError } from '../config/diagnostics';
import type { Config } from '../config/model';
import { Limits } from '../dataplane/abi';
import type { Reach } from '../dataplane/reach';
import { adoptFromPins, type Adopted, type KnownReal } from './adopt';
import { same } from '../net/same';
import { applyDiff, EMPTY_STATE, vipKey, type ApplyStats, type Dataplane } from './apply';
import { desiredState, REAL_ACTIVE, type DesiredState, type RealState } from './desired';
import { assignIds, IdAllocator } from './ids';
import { realKey } from './keys';

/** What a pass reads besides the configuration. */
export interface PassInputs {
  config: Config;
  states: ReadonlyMap<string, RealState>;
  reach: ReadonlyMap<string, Reach>;
}

/** What a pass did: map writes, and the services whose quorum changed. */
export interface Pass {
  stats: ApplyStats;
  quorum: { service: string; met: boolean }[];
}

/** A real id's group: its service ("tcp 192.0.2.10:80 -> 10.0.0.1:80" -> "tcp 192.0.2.10:80"), so ids never cross services. */
const serviceOfReal = (key: string): string => key.split(' -> ')[0] ?? key;

const freshVipIds = (): IdAllocator => new IdAllocator(0, Limits.XDPVS_MAX_VIPS - 1);
const freshRealIds = (): IdAllocator => new IdAllocator(1, Limits.XDPVS_MAX_REALS - 1, serviceOfReal);

export class Reconciler {
  private prev: DesiredState = EMPTY_STATE;
  private vipIds = freshVipIds();
  private realIds = freshRealIds();

  constructor(
    private readonly dp: Dataplane,
    private readonly log: Logger,
    /** where the id tables are kept across restarts; undefined: not kept */
    private readonly idsFile?: string,
  ) {
    this.restoreIds();
  }

  /** What the maps hold now, as this process last wrote them. */
  get state(): DesiredState {
    return this.prev;
  }

  /**
   * A restart: what the previous agent was forwarding with stays until this
   * one knows better, so that no flow or persistent client moves while the
   * kernel answers (see adopt.ts).
   */
  adopt(config: Config): Adopted {
    const ids = this.realIds.toJSON();
    const known: KnownReal[] = config.services.flatMap((s) =>
      s.reals.flatMap((r) => {
        const key = realKey(s, r);
        const id = ids[key];
        return id === undefined ? [] : [{ key, id, addr: r.addr }];
      }),
    );
    return adoptFromPins(known, (id) => this.dp.real(id), this.dp.settings());
  }

  /**
   * The first pass of a process, over maps an earlier one may have left:
   * unknown slots are retired before it, and after it the slots and VIPs
   * this configuration does not have are put out of use.
   */
  first(inputs: PassInputs): Pass {
    this.retireUnknownSlots();
    const pass = this.pass(inputs);
    this.deactivateStaleSlots();
    this.sweepStaleVips();
    return pass;
  }

  /** Writes what changed since the last pass into the maps. */
  pass(inputs: PassInputs): Pass {
    let next: DesiredState;
    try {
      next = this.compute(inputs, this.vipIds, this.realIds);
    } catch (err) {
      if (!(err instanceof RangeError) || this.realIds.retired().size === 0) throw err;
      this.reclaimRealIds();
      next = this.compute(inputs, this.vipIds, this.realIds);
    }
    const stats = applyDiff(this.dp, this.prev, next);
    const quorum: Pass['quorum'] = [];
    for (const s of inputs.config.services) {
      const was = this.prev.quorum.get(s.key);
      const met = next.quorum.get(s.key);
      if (was !== undefined && met !== undefined && was !== met) quorum.push({ service: s.key, met });
    }
    this.prev = next;
    if (stats.reals + stats.tables + stats.vips + stats.removed > 0) {
      this.log.info(stats, 'maps updated');
      this.saveIds();
    }
    return { stats, quorum };
  }

  /**
   * The pass a new configuration would make, on copies of the id tables:
   * running out of ids is a ConfigError naming `file` before anything changes.
   */
  dryRun(inputs: PassInputs, file: string): void {
    const realIds = this.realIds.clone();
    // retired ids can be reclaimed (reclaimRealIds) if the fresh ones run out
    realIds.release(realIds.retired().keys());
    try {
      this.compute(inputs, this.vipIds.clone(), realIds);
    } catch (err) {
      throw new ConfigError([{ severity: 'error', code: ConfigCode.CAPACITY, loc: { file, line: 0 }, message: (err as Error).message }]);
    }
  }

  private compute(inputs: PassInputs, vipIds: IdAllocator, realIds: IdAllocator): DesiredState {
    const { config, states, reach } = inputs;
    return desiredState({ config, states, reach, ids: assignIds(config, vipIds, realIds), quorum: this.prev.quorum });
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
   * After the first pass: VIPs pinned by an earlier run that this
   * configuration no longer has. A VIP is kept only under its own key and id;
   * a stale one's table goes too, unless a live VIP has its id now.
   */
  private sweepStaleVips(): void {
    const live = [...this.prev.vips.values()].map((v) => ({ key: vipKey(v), id: v.id }));
    const liveIds = new Set(live.map((v) => v.id));
    for (const [key, meta] of [...this.dp.vips()]) {
      if (live.some((v) => v.id === meta.id && same(v.key, key))) continue;
      this.dp.deleteVip(key);
      if (!liveIds.has(meta.id)) this.dp.deleteTable(meta.id);
      this.log.info({ vipId: meta.id }, 'removed a VIP left from an earlier configuration');
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

  private restoreIds(): void {
    if (!this.idsFile) return;
    let saved: { vips?: Record<string, number>; reals?: Record<string, number>; retiredReals?: Record<string, string> };
    try {
      saved = JSON.parse(fs.readFileSync(this.idsFile, 'utf8')) as typeof saved;
    } catch {
      return; // first run
    }
    this.vipIds = IdAllocator.fromJSON(0, Limits.XDPVS_MAX_VIPS - 1, saved.vips ?? {});
    this.realIds = IdAllocator.fromJSON(1, Limits.XDPVS_MAX_REALS - 1, saved.reals ?? {}, serviceOfReal, saved.retiredReals ?? {});
  }

  private saveIds(): void {
    if (!this.idsFile) return;
    const tmp = `${this.idsFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ vips: this.vipIds.toJSON(), reals: this.realIds.toJSON(), retiredReals: this.realIds.retiredJSON() }));
    fs.renameSync(tmp, this.idsFile);
  }
}
