// Stable small-integer ids for VIPs and reals. A flow entry in the data
// plane names its real by id, so an id must keep meaning the same real across
// reloads and agent restarts: ids are kept while their key exists, freed ids
// are reused lowest first, and the table serialises for a restart.

export class IdAllocator {
  private readonly byKey = new Map<string, number>();

  /** ids from `first` to `last` inclusive */
  constructor(
    private readonly first: number,
    private readonly last: number,
  ) {}

  /** The key's id, allocating one if it has none. */
  get(key: string): number {
    const have = this.byKey.get(key);
    if (have !== undefined) return have;
    const used = new Set(this.byKey.values());
    for (let id = this.first; id <= this.last; id++) {
      if (!used.has(id)) {
        this.byKey.set(key, id);
        return id;
      }
    }
    throw new RangeError(`no free id left in ${this.first}..${this.last} for ${key}`);
  }

  /** Frees every id whose key is not in `live`. */
  retain(live: Set<string>): void {
    for (const key of [...this.byKey.keys()]) if (!live.has(key)) this.byKey.delete(key);
  }

  /** A copy, for a dry run that must not change this one. */
  clone(): IdAllocator {
    return IdAllocator.fromJSON(this.first, this.last, this.toJSON());
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.byKey);
  }

  static fromJSON(first: number, last: number, saved: Record<string, number>): IdAllocator {
    const a = new IdAllocator(first, last);
    for (const [k, id] of Object.entries(saved)) if (Number.isInteger(id) && id >= first && id <= last) a.byKey.set(k, id);
    return a;
  }
}
