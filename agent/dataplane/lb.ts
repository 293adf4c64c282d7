// The director program's maps, typed: load (or re-adopt pinned maps), check
// every map's key and value size against the ABI, and read and write entries
// through the codecs of abi.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BpfObject,
  BpfMap,
  BpfProgram,
  createMap,
  mapById,
  MapFlags,
  openPinnedMap,
  MapType,
} from '../../native/index';
import { pinReplacing } from './bpffs';
import { ifaceAddress } from './iface';
import type { Prefix } from '../net/addr';
import { prefixBytes, prefixFromBytes, type AddrFamily } from './addr';
import { attachReplacing, DECAP_PROGRAM, detach, DIRECTOR_PROGRAM, openPinned, pinAttached, type Attached, type XdpMode } from './xdp';
import {
  DECAP_MAPS,
  DecapReason,
  DecapKey,
  DecapSrcKey,
  FlowKey,
  FlowState,
  IfaceDef,
  IfaceSlot,
  type IfaceSlotValue,
  LB_MAPS,
  Limits,
  LbSettings,
  RealDef,
  Reason,
  TrafficStats,
  VerdictStats,
  VipKey,
  VipMeta,
  type DecapKeyValue,
  type FlowKeyValue,
  type FlowStateValue,
  type LbSettingsValue,
  type RealDefValue,
  type TrafficStatsValue,
  type VerdictStatsValue,
  type VipKeyValue,
  type VipMetaValue,
} from './abi';
import type { AnyStruct } from './codec';

export const BPF_BUILD_DIR = path.join(__dirname, '..', '..', '..', 'bpf', 'build');
export const LB_OBJECT = path.join(BPF_BUILD_DIR, 'lb.bpf.o');
export const DECAP_OBJECT = path.join(BPF_BUILD_DIR, 'decap.bpf.o');

export interface LoadOptions {
  objectPath?: string;
  /** size of the flow table (LRU); default XDPVS_MAX_FLOWS */
  maxFlows?: number;
  /** bpffs directory: maps found there are re-used, new ones are pinned there */
  pinDir?: string;
}

function u32key(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** Fails when a map's key or value size differs from the ABI. */
function checkSizes(obj: BpfObject, sizes: Record<string, { keySize: number; valueSize: number }>): void {
  for (const [name, want] of Object.entries(sizes)) {
    const m = obj.map(name);
    if (m.keySize !== want.keySize || m.valueSize !== want.valueSize) {
      throw new Error(
        `map ${name} in ${obj.path}: key/value ${m.keySize}/${m.valueSize} bytes, ` +
          `agent/dataplane/abi.ts expects ${want.keySize}/${want.valueSize}: rebuild bpf/ and agent/ together`,
      );
    }
  }
}

/** Every slot of a table map, in one batch read. */
function readTable(m: BpfMap): Uint32Array {
  const out = new Uint32Array(m.maxEntries);
  let cursor: Buffer | undefined;
  let n = 0;
  do {
    const b = m.lookupBatch(cursor, m.maxEntries - n);
    for (let i = 0; i < b.count && n < out.length; i++, n++) out[b.keys.readUInt32LE(i * 4)] = b.values.readUInt32LE(i * 4);
    cursor = b.next;
  } while (cursor && n < out.length);
  return out;
}

/** Writes slots `which` (null: all) of `want` into a table map, in batches. */
function writeSlots(m: BpfMap, which: number[] | null, want: Uint32Array): void {
  const count = which ? which.length : want.length;
  const BATCH = 16384;
  for (let base = 0; base < count; base += BATCH) {
    const n = Math.min(BATCH, count - base);
    const keys = Buffer.alloc(n * 4);
    const values = Buffer.alloc(n * 4);
    for (let j = 0; j < n; j++) {
      const slot = which ? which[base + j]! : base + j;
      keys.writeUInt32LE(slot, j * 4);
      values.writeUInt32LE(want[slot]!, j * 4);
    }
    m.updateBatch(keys, values, n);
  }
}

function sumStats<T>(codec: AnyStruct, perCpu: Buffer[] | undefined): T {
  const total: Record<string, bigint> = {};
  for (const name of Object.keys(codec.fields)) total[name] = 0n;
  for (const buf of perCpu ?? []) {
    const v = codec.decode(buf) as Record<string, bigint>;
    for (const name of Object.keys(total)) total[name] = (total[name] ?? 0n) + (v[name] ?? 0n);
  }
  return total as T;
}

/** Every entry 0..count-1 of a per-CPU counter map, summed over CPUs. */
function sumEach<T>(codec: AnyStruct, map: BpfMap, count: number): T[] {
  const out: T[] = [];
  for (let i = 0; i < count; i++) out.push(sumStats<T>(codec, map.lookupPerCpu(u32key(i))));
  return out;
}

/**
 * Loads an object whose maps live in `pinDir` (bpffs): a map pinned there is
 * re-used, after checking it is the same kind of map; the others are created
 * and pinned; every map's key and value size is checked against the ABI
 * before `make` wraps the object. Done here rather than by libbpf's pin_path because libbpf 1.1
 * refuses to re-use a devmap (the kernel adds BPF_F_RDONLY_PROG to its flags).
 */
function loadObject<T>(
  objectPath: string,
  sizes: Record<string, { keySize: number; valueSize: number }>,
  pinDir: string | undefined,
  configure: (obj: BpfObject) => void,
  make: (obj: BpfObject) => T,
): T {
  const mapNames = Object.keys(sizes);
  const obj = BpfObject.open(objectPath);
  const adopted: BpfMap[] = [];
  try {
    configure(obj);
    if (pinDir) {
      fs.mkdirSync(pinDir, { recursive: true });
      for (const name of mapNames) {
        const pin = path.join(pinDir, name);
        if (!fs.existsSync(pin)) continue;
        const m = openPinnedMap(pin);
        adopted.push(m);
        const want = obj.mapDef(name);
        const have = { type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries };
        if (JSON.stringify(have) !== JSON.stringify(want)) {
          throw new Error(
            `pinned map ${pin} is ${JSON.stringify(have)} but ${objectPath} wants ${JSON.stringify(want)}: ` +
              `remove the pin to start afresh (its entries are lost)`,
          );
        }
        obj.reuseMap(name, m.fd);
      }
    }
    obj.load();
    if (pinDir) {
      for (const name of mapNames) {
        const pin = path.join(pinDir, name);
        if (!fs.existsSync(pin)) obj.map(name).pin(pin);
      }
    }
    checkSizes(obj, sizes);
    return make(obj);
  } catch (err) {
    obj.close();
    throw err;
  } finally {
    for (const m of adopted) m.close();
  }
}

/**
 * What lives in the pin directory besides the maps, so that a restarted agent
 * finds it by path (BPF_OBJ_GET) rather than by id (BPF_*_GET_FD_BY_ID, which
 * needs CAP_SYS_ADMIN): the attached program, and each VIP's inner table map
 * (the outer map `tables` answers user space with ids only). No dots: bpffs
 * refuses them in names.
 */
const TABLE_PIN_DIR = 'vip_tables';

export class LbDataplane {
  readonly program: BpfProgram;
  private readonly maps: Record<keyof typeof LB_MAPS, BpfMap>;
  /** the inner table maps this process opened or created, by VIP id */
  private readonly tableMaps = new Map<number, BpfMap>();
  /** each VIP's table as this process last wrote it, so a rewrite reads nothing back */
  private readonly written = new Map<number, Uint32Array>();
  /** buffers of the flow census's batch reads, re-used */
  private flowScratch: { keys: Buffer; values: Buffer } | undefined;
  /** where attach() put the program */
  private attachedTo: { iface: string; mode: XdpMode }[] = [];
  /** the program an earlier agent pinned (and maybe left attached), opened at load */
  private readonly pinnedProgram: BpfProgram | undefined;

  private constructor(
    private readonly obj: BpfObject,
    private readonly pinDir: string | undefined,
  ) {
    this.program = obj.program(DIRECTOR_PROGRAM);
    const maps = {} as Record<keyof typeof LB_MAPS, BpfMap>;
    for (const name of Object.keys(LB_MAPS) as (keyof typeof LB_MAPS)[]) maps[name] = obj.map(name);
    this.maps = maps;
    if (pinDir) {
      fs.mkdirSync(path.join(pinDir, TABLE_PIN_DIR), { recursive: true });
      this.pinnedProgram = openPinned(this.programPin);
    }
  }

  static load(opts: LoadOptions = {}): LbDataplane {
    return loadObject(
      opts.objectPath ?? LB_OBJECT,
      LB_MAPS,
      opts.pinDir,
      (o) => {
        if (opts.maxFlows !== undefined) o.setMaxEntries('flows', opts.maxFlows);
      },
      (o) => new LbDataplane(o, opts.pinDir),
    );
  }

  private get programPin(): string {
    return path.join(this.pinDir ?? '', this.program.name);
  }

  private tablePin(vipId: number): string | undefined {
    return this.pinDir ? path.join(this.pinDir, TABLE_PIN_DIR, String(vipId)) : undefined;
  }

  /**
   * Attaches the program to `iface`, replacing atomically the director
   * program an earlier agent left there, and pins it for the next agent.
   */
  attach(iface: string, mode: XdpMode): Attached {
    // before the program sees a frame from it: without its MAC it forwards nothing
    const { ifindex, mac } = ifaceAddress(iface);
    this.setInterface(ifindex, mac);
    let attached: Attached;
    if (!this.pinDir) attached = attachReplacing(iface, this.program, mode, undefined, '(no pin directory)');
    else {
      attached = attachReplacing(iface, this.program, mode, this.pinnedProgram, this.programPin);
      pinAttached(this.program, this.programPin);
    }
    this.attachedTo.push({ iface, mode: attached.mode });
    return attached;
  }

  /** A map of the object besides the director's own (a harness's, as bpf/cost.bpf.c's `costframe`). */
  extraMap(name: string): BpfMap {
    if (name in LB_MAPS) throw new Error(`extraMap: ${name} is a director map: use its typed access`);
    return this.obj.map(name);
  }

  /** The interfaces the program is attached to, and how. */
  get attachments(): readonly { iface: string; mode: XdpMode }[] {
    return this.attachedTo;
  }

  /**
   * Takes the program off every interface it was attached to (a clean stop);
   * the program's pin goes with the last. An interface that fails is reported
   * and the others are still detached.
   */
  detachAll(): { iface: string; error?: string }[] {
    const out = this.attachedTo.map(({ iface, mode }, i) => {
      try {
        detach(iface, mode);
        if (i === this.attachedTo.length - 1 && this.pinDir) fs.rmSync(this.programPin, { force: true });
        return { iface };
      } catch (err) {
        return { iface, error: (err as Error).message };
      }
    });
    this.attachedTo = [];
    return out;
  }

  /**
   * The MAC the program accepts frames to, and sends from, on `ifindex`:
   * into `ifaces`, then into the interface's slot of `ifslots` unless another
   * interface still in `ifaces` holds it (the program then finds this one in
   * `ifaces`).
   */
  setInterface(ifindex: number, mac: Buffer): void {
    this.maps.ifaces.update(u32key(ifindex), IfaceDef.encode({ mac, pad: 0 }));
    const holder = this.interfaceSlot(ifindex);
    if (holder.ifindex !== 0 && holder.ifindex !== ifindex && this.maps.ifaces.lookup(u32key(holder.ifindex))) return;
    this.maps.ifslots.update(u32key(ifindex % Limits.XDPVS_IFACE_SLOTS), IfaceSlot.encode({ ifindex, mac, pad: 0 }));
  }

  /** What the slot `ifindex` maps to holds (ifindex 0: empty). */
  interfaceSlot(ifindex: number): IfaceSlotValue {
    const v = this.maps.ifslots.lookup(u32key(ifindex % Limits.XDPVS_IFACE_SLOTS));
    return v ? IfaceSlot.decode(v) : { ifindex: 0, mac: Buffer.alloc(6), pad: 0 };
  }

  deleteInterface(ifindex: number): boolean {
    // the slot first: the program never finds a slot whose interface is gone from `ifaces`
    if (this.interfaceSlot(ifindex).ifindex === ifindex) {
      this.maps.ifslots.update(u32key(ifindex % Limits.XDPVS_IFACE_SLOTS), IfaceSlot.encode({ ifindex: 0, mac: Buffer.alloc(6), pad: 0 }));
    }
    return this.maps.ifaces.delete(u32key(ifindex));
  }

  setVip(key: VipKeyValue, meta: VipMetaValue): void {
    this.maps.vips.update(VipKey.encode(key), VipMeta.encode(meta));
  }

  deleteVip(key: VipKeyValue): boolean {
    return this.maps.vips.delete(VipKey.encode(key));
  }

  *vips(): Generator<[VipKeyValue, VipMetaValue]> {
    for (const k of this.maps.vips.keys()) {
      const v = this.maps.vips.lookup(k);
      if (v) yield [VipKey.decode(k), VipMeta.decode(v)];
    }
  }

  setReal(id: number, real: RealDefValue): void {
    if (id === 0) throw new RangeError('real id 0 means "no real" and cannot be written');
    this.maps.reals.update(u32key(id), RealDef.encode(real));
  }

  real(id: number): RealDefValue | undefined {
    const v = this.maps.reals.lookup(u32key(id));
    return v ? RealDef.decode(v) : undefined;
  }

  /**
   * Writes a VIP's table (Maglev ring or rr sequence). A table of the same
   * length is updated in place, only the slots that differ from what this
   * process last wrote (read back once, after a restart); another length gets
   * a new inner map, swapped in with one update of `tables`. Slots go in
   * batches (BPF_MAP_UPDATE_BATCH): a 65537-slot ring is a few syscalls.
   */
  setTable(vipId: number, realIds: ArrayLike<number>): void {
    if (realIds.length === 0) throw new RangeError(`table of VIP id ${vipId} is empty: delete it instead`);
    const want = Uint32Array.from(realIds);
    // a table this process cannot open without CAP_SYS_ADMIN (no pin) is replaced whole
    const current = this.tableMaps.get(vipId) ?? this.pinnedTable(vipId);
    if (current) this.tableMaps.set(vipId, current);
    if (current && current.maxEntries === want.length) {
      const have = this.written.get(vipId) ?? readTable(current);
      const changed: number[] = [];
      for (let i = 0; i < want.length; i++) if (have[i] !== want[i]) changed.push(i);
      writeSlots(current, changed, want);
      this.written.set(vipId, want);
      return;
    }
    const inner = createMap({
      type: MapType.ARRAY,
      name: `table${vipId}`,
      keySize: 4,
      valueSize: 4,
      maxEntries: want.length,
      flags: MapFlags.INNER_MAP,
    });
    try {
      writeSlots(inner, null, want);
      const fd = Buffer.alloc(4);
      fd.writeInt32LE(inner.fd);
      this.maps.tables.update(u32key(vipId), fd);
    } catch (err) {
      inner.close();
      throw err;
    }
    current?.close();
    this.tableMaps.set(vipId, inner);
    this.written.set(vipId, want);
    // after the swap: a pin that lags (a crash in between) is noticed by its id in tableMap
    const pin = this.tablePin(vipId);
    if (pin) pinReplacing(pin, (at) => inner.pin(at));
  }

  /** The real ids of a VIP's table, or undefined when it has none. */
  table(vipId: number): number[] | undefined {
    const m = this.tableMap(vipId);
    return m ? [...readTable(m)] : undefined;
  }

  deleteTable(vipId: number): void {
    this.maps.tables.delete(u32key(vipId));
    this.written.delete(vipId);
    this.tableMaps.get(vipId)?.close();
    this.tableMaps.delete(vipId);
    const pin = this.tablePin(vipId);
    if (pin) fs.rmSync(pin, { force: true });
  }

  private tableMap(vipId: number): BpfMap | undefined {
    const known = this.tableMaps.get(vipId);
    if (known) return known;
    const m = this.pinnedTable(vipId) ?? this.tableById(vipId);
    if (m) this.tableMaps.set(vipId, m);
    return m;
  }

  /**
   * A VIP's table after a restart, from its pin: only when it is the map the
   * outer map holds (the outer map answers user space with the inner map's id).
   */
  private pinnedTable(vipId: number): BpfMap | undefined {
    const pin = this.tablePin(vipId);
    const id = this.maps.tables.lookup(u32key(vipId))?.readUInt32LE(0);
    if (!pin || id === undefined || !fs.existsSync(pin)) return undefined;
    const m = openPinnedMap(pin);
    if (m.info().id === id) return m;
    m.close();
    return undefined;
  }

  /**
   * A VIP's table by the id the outer map holds: needs CAP_SYS_ADMIN, so only
   * for reading a table that has no pin yet (a pin directory of an older
   * agent); writes replace such a table instead (setTable).
   */
  private tableById(vipId: number): BpfMap | undefined {
    const id = this.maps.tables.lookup(u32key(vipId));
    return id ? mapById(id.readUInt32LE(0)) : undefined;
  }

  settings(): LbSettingsValue | undefined {
    const v = this.maps.settings.lookup(u32key(0));
    return v ? LbSettings.decode(v) : undefined;
  }

  setSettings(s: LbSettingsValue): void {
    this.maps.settings.update(u32key(0), LbSettings.encode(s));
  }

  /** Lets reals name this interface as their egress (XDP_REDIRECT). */
  addTxPort(ifindex: number): void {
    this.maps.txports.update(u32key(ifindex), u32key(ifindex));
  }

  /** max_entries of one of the director's maps. */
  capacity(map: keyof typeof LB_MAPS): number {
    return this.maps[map].maxEntries;
  }

  resetCursor(vipId: number): void {
    this.maps.cursors.update(u32key(vipId), u32key(0));
  }

  vipStats(vipId: number): TrafficStatsValue {
    return sumStats(TrafficStats, this.maps.vipstats.lookupPerCpu(u32key(vipId)));
  }

  realStats(realId: number): TrafficStatsValue {
    return sumStats(TrafficStats, this.maps.realstats.lookupPerCpu(u32key(realId)));
  }

  /** Verdict counters summed over CPUs, indexed by enum xdpvs_reason. */
  verdicts(): VerdictStatsValue[] {
    return sumEach(VerdictStats, this.maps.verdicts, Reason.XDPVS_R_MAX);
  }

  flow(key: FlowKeyValue): FlowStateValue | undefined {
    const v = this.maps.flows.lookup(FlowKey.encode(key));
    return v ? FlowState.decode(v) : undefined;
  }

  /**
   * The flow census's reader (census.ts): up to `max` entries per syscall
   * (BPF_MAP_LOOKUP_BATCH), decoding only kind, real id and last seen.
   */
  readFlows(cursor: unknown, max: number, visit: (kind: number, realId: number, lastSeenNs: number) => void): unknown {
    const flows = this.maps.flows;
    if (!this.flowScratch || this.flowScratch.keys.length < max * flows.keySize) {
      this.flowScratch = { keys: Buffer.alloc(max * flows.keySize), values: Buffer.alloc(max * flows.valueStride) };
    }
    const b = flows.lookupBatch(cursor as Buffer | undefined, max, this.flowScratch);
    const kindAt = FlowKey.fields.kind.offset;
    const realAt = FlowState.fields.realId.offset;
    const seenAt = FlowState.fields.lastSeen.offset;
    for (let i = 0; i < b.count; i++) {
      const v = i * flows.valueStride;
      const seen = b.values.readUInt32LE(v + seenAt + 4) * 4294967296 + b.values.readUInt32LE(v + seenAt);
      visit(b.keys[i * flows.keySize + kindAt]!, b.values.readUInt32LE(v + realAt), seen);
    }
    return b.next;
  }

  *flows(): Generator<[FlowKeyValue, FlowStateValue]> {
    for (const k of this.maps.flows.keys()) {
      const v = this.maps.flows.lookup(k);
      if (v) yield [FlowKey.decode(k), FlowState.decode(v)];
    }
  }

  /** Writes a flow entry (e.g. state synced from another director). */
  setFlow(key: FlowKeyValue, state: FlowStateValue): void {
    this.maps.flows.update(FlowKey.encode(key), FlowState.encode(state));
  }

  deleteFlow(key: FlowKeyValue): boolean {
    return this.maps.flows.delete(FlowKey.encode(key));
  }

  close(): void {
    for (const m of this.tableMaps.values()) m.close();
    this.tableMaps.clear();
    this.pinnedProgram?.close();
    this.obj.close();
  }
}

/** The family word is matched whole before the address: see struct decap_src_key. */
const FAMILY_BITS = 32;

export class DecapDataplane {
  readonly program: BpfProgram;
  private readonly addrs: BpfMap;
  private readonly srcs: BpfMap;
  private readonly stats: BpfMap;

  private constructor(private readonly obj: BpfObject) {
    this.program = obj.program(DECAP_PROGRAM);
    this.addrs = obj.map('decapaddrs');
    this.srcs = obj.map('decapsrcs');
    this.stats = obj.map('decapstats');
  }

  static load(opts: { objectPath?: string; pinDir?: string } = {}): DecapDataplane {
    return loadObject(opts.objectPath ?? DECAP_OBJECT, DECAP_MAPS, opts.pinDir, () => {}, (o) => new DecapDataplane(o));
  }

  addAddress(key: DecapKeyValue): void {
    this.addrs.update(DecapKey.encode(key), u32key(1));
  }

  deleteAddress(key: DecapKeyValue): boolean {
    return this.addrs.delete(DecapKey.encode(key));
  }

  addresses(): DecapKeyValue[] {
    return [...this.addrs.keys()].map((k) => DecapKey.decode(k));
  }

  /**
   * Makes the accepted tunnel sources exactly `prefixes`: the new ones are
   * written before the stale ones go, so a source in both lists is never
   * refused in between. Empty: every tunnel is refused.
   */
  setSources(prefixes: readonly Prefix[]): void {
    if (prefixes.length > this.srcs.maxEntries) {
      throw new RangeError(`${prefixes.length} allowed sources: the decap program holds at most ${this.srcs.maxEntries}`);
    }
    const keys = prefixes.map(prefixBytes).map((p) => DecapSrcKey.encode({ prefixLen: FAMILY_BITS + p.len, family: p.family, addr: p.bytes }));
    for (const k of keys) this.srcs.update(k, u32key(1));
    for (const old of [...this.srcs.keys()]) if (!keys.some((k) => k.equals(old))) this.srcs.delete(old);
  }

  sources(): Prefix[] {
    return [...this.srcs.keys()].map((k) => {
      const v = DecapSrcKey.decode(k);
      return prefixFromBytes({ family: v.family as AddrFamily, bytes: v.addr, len: v.prefixLen - FAMILY_BITS });
    });
  }

  /** Counters summed over CPUs, indexed by enum decap_reason. */
  counters(): VerdictStatsValue[] {
    return sumEach(VerdictStats, this.stats, DecapReason.DECAP_R_MAX);
  }

  close(): void {
    this.obj.close();
  }
}
