// Stable small-integer ids for VIPs and reals. A flow entry in the data
// plane names its real by id, so an id must keep meaning the same real across
// reloads and agent restarts: ids are kept while their key exists, and the
// table serialises for a restart.
//
// Connection entries never expire (the flow table is an LRU), so an idle flow
// may still name the id of a real that is gone. With `group` (reals: the
// service a real belongs to), a freed id is retired, not free: only a real of
// the same service may take it (its flows would be rescheduled within that
// service anyway), never a real of another service. When nothing else is
// left, the owner sweeps the flow table of the retired ids and release()s
// them. Without `group` (VIP ids, which no flow names) a freed id is free.

import type { Config } from '../config/model';
import { realKey, sorryKey } from './keys';

/** The ids of one configuration: services by key, reals (sorry servers too) by real key. */
export interface IdMap {
  vip: ReadonlyMap<string, number>;
  real: ReadonlyMap<string, number>;
}

/**
 * The allocation step, the one place ids change: every service and real of
 * `config` gets an id (keeping the one it had), a sorry server too whether
 * or not it serves now (so it keeps its id across quorum changes), and the
 * ids of what is gone are freed or retired. Throws a RangeError when ids run
 * out (the keys before that one keep what they got; nothing is freed).
 */
export function assignIds(config: Config, vipIds: IdAllocator, realIds: IdAllocator): IdMap {
  const vip = new Map<string, number>();
  const real = new Map<string, number>();
  for (const svc of config.services) {
    vip.set(svc.key, vipIds.get(svc.key));
    for (const r of svc.reals) {
      const key = realKey(svc, r);
      real.set(key, realIds.get(key));
    }
    if (svc.sorryServer) real.set(sorryKey(svc), realIds.get(sorryKey(svc)));
  }
  vipIds.retain(new Set(vip.keys()));
  realIds.retain(new Set(real.keys()));
  return { vip, real };
}

export class IdAllocator {
  private readonly byKey = new Map<string, number>();
  /** freed ids that flows may still name -> the group that used them ('' : unknown) */
  private readonly retiredIds = new Map<number, string>();

  /** ids from `first` to `last` inclusive */
  constructor(
    private readonly first: number,
    private readonly last: number,
    private readonly group?: (key: string) => string,
  ) {}

  /** The key's id, allocating one if it has none: a retired id of its own group first, else the lowest free one. */
  get(key: string): number {
    const have = this.byKey.get(key);
    if (have !== undefined) return have;
    const used = new Set(this.byKey.values());
    if (this.group) {
      const g = this.group(key);
      let own: number | undefined;
      for (const [id, owner] of this.retiredIds) if (owner === g && !used.has(id) && (own === undefined || id < own)) own = id;
      if (own !== undefined) {
        this.retiredIds.delete(own);
        this.byKey.set(key, own);
        return own;
      }
    }
    for (let id = this.first; id <= this.last; id++) {
      if (!used.has(id) && !this.retiredIds.has(id)) {
        this.byKey.set(key, id);
        return id;
      }
    }
    const retired = this.retiredIds.size > 0 ? ` (${this.retiredIds.size} retired: usable once no flow names them)` : '';
    throw new RangeError(`no free id left in ${this.first}..${this.last} for ${key}${retired}`);
  }

  /** Frees every id whose key is not in `live` (retires it, with `group`). */
  retain(live: Set<string>): void {
    for (const [key, id] of [...this.byKey]) {
      if (live.has(key)) continue;
      this.byKey.delete(key);
      if (this.group) this.retiredIds.set(id, this.group(key));
    }
  }

  /** Marks an id as possibly named by flows (e.g. a slot found in pinned maps); ignored for a live id. */
  retire(id: number, group: string): void {
    if (id < this.first || id > this.last || [...this.byKey.values()].includes(id)) return;
    this.retiredIds.set(id, group);
  }

  /** Retired ids and the group that used them. */
  retired(): Map<number, string> {
    return new Map(this.retiredIds);
  }

  /** Makes retired ids free: call once no flow entry names them. */
  release(ids: Iterable<number>): void {
    for (const id of ids) this.retiredIds.delete(id);
  }

  /** Whether `id` is live (some key has it). */
  isLive(id: number): boolean {
    return [...this.byKey.values()].includes(id);
  }

  /** A copy, for a dry run that must not change this one. */
  clone(): IdAllocator {
    return IdAllocator.fromJSON(this.first, this.last, this.toJSON(), this.group, this.retiredJSON());
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.byKey);
  }

  retiredJSON(): Record<string, string> {
    return Object.fromEntries([...this.retiredIds].map(([id, g]) => [String(id), g]));
  }

  static fromJSON(first: number, last: number, saved: Record<string, number>, group?: (key: string) => string, retired: Record<string, string> = {}): IdAllocator {
    const a = new IdAllocator(first, last, group);
    for (const [k, id] of Object.entries(saved)) if (Number.isInteger(id) && id >= first && id <= last) a.byKey.set(k, id);
    if (group) for (const [id, g] of Object.entries(retired)) a.retire(Number(id), typeof g === 'string' ? g : '');
    return a;
  }
}
