// Typed wrapper over the N-API bridge (native/src/bridge.cc). Generic: it
// knows BPF objects, programs, maps, pins, XDP and test runs, nothing about
// load balancing. Every failure is a BpfError carrying errno, its code and a
// message naming the operation and the object.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as util from 'node:util';

interface RawMapDesc {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  fd: number;
}

interface RawProgDesc {
  name: string;
  type: number;
  fd: number;
}

interface RawObject {
  maps(): RawMapDesc[];
  programs(): RawProgDesc[];
  setMaxEntries(map: string, n: number): number;
  setInitialValue(map: string, value: Buffer): number;
  setPinPath(map: string, path: string): number;
  reuseMapFd(map: string, fd: number): number;
  load(): number;
  log(): string;
  close(): void;
}

export interface MapInfo {
  id: number;
  type: number;
  name: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

export interface ProgInfo {
  id: number;
  type: number;
  name: string;
  tag: string;
}

export interface XdpQuery {
  attachMode: number;
  progId: number;
  drvProgId: number;
  skbProgId: number;
  hwProgId: number;
}

export interface BtfMember {
  name: string;
  bitOffset: number;
  bitSize: number;
  size: number;
}

export interface BtfStruct {
  size: number;
  members: BtfMember[];
}

interface RawBridge {
  openObject(path: string): RawObject | number;
  mapLookup(fd: number, key: Buffer, valueBytes: number): Buffer | number;
  mapUpdate(fd: number, key: Buffer, value: Buffer, flags: number): number;
  mapDelete(fd: number, key: Buffer): number;
  mapNextKey(fd: number, key: Buffer | null, keyBytes: number): Buffer | number;
  mapLookupBatch(fd: number, inBatch: Buffer | null, outBatch: Buffer, keys: Buffer, values: Buffer, count: number): { error: number; count: number };
  mapUpdateBatch(fd: number, keys: Buffer, values: Buffer, count: number, flags: number): { error: number; count: number };
  mapCreate(opts: {
    type: number;
    name: string;
    keySize: number;
    valueSize: number;
    maxEntries: number;
    flags: number;
    innerMapFd?: number;
  }): number;
  mapInfo(fd: number): MapInfo | number;
  progInfo(fd: number): ProgInfo | number;
  mapFdById(id: number): number;
  progFdById(id: number): number;
  objPin(fd: number, path: string): number;
  objGet(path: string): number;
  close(fd: number): number;
  xdpAttach(ifindex: number, progFd: number, flags: number, oldProgFd: number): number;
  xdpDetach(ifindex: number, flags: number): number;
  xdpQuery(ifindex: number): XdpQuery | number;
  ifNameToIndex(name: string): number;
  testRun(
    progFd: number,
    data: Buffer,
    repeat: number,
    outBytes: number,
    ctx: Buffer | null,
  ): { retval: number; data: Buffer; duration: number } | number;
  numPossibleCpus(): number;
  btfStruct(objectPath: string, name: string): BtfStruct | number;
  btfEnum(objectPath: string, name: string): Record<string, number> | number;
  rawOpen(family: 4 | 6, protocol: number, ifname: string, group: string | null): number;
  rawBind(fd: number, family: 4 | 6, addr: string, ifname: string): number;
  rawSend(fd: number, family: 4 | 6, data: Buffer, dst: string, ifname: string): number;
  rawWatch(fd: number, family: 4 | 6, cb: (p: RawPacket) => void): { close(): void };
  packetSend(ifname: string, frame: Buffer): number;
}

/** A packet a raw IP socket received: the payload after the IP header. */
export interface RawPacket {
  data: Buffer;
  src: string;
  dst: string;
  /** TTL / hop limit it arrived with */
  ttl: number;
}

const ADDON = path.join(__dirname, '..', '..', 'native', 'build', 'Release', 'xdpvs_bridge.node');
const raw: RawBridge = require(ADDON) as RawBridge;

export class BpfError extends Error {
  readonly errno: number;
  readonly code: string;
  readonly operation: string;

  constructor(errno: number, operation: string) {
    const entry = util.getSystemErrorMap().get(-errno);
    const code = entry?.[0] ?? `errno ${errno}`;
    const text = entry?.[1] ?? 'unknown error';
    super(`${operation}: ${text} (${code})`);
    this.name = 'BpfError';
    this.errno = errno;
    this.code = code;
    this.operation = operation;
  }
}

/** The value, or a BpfError when the bridge answered a negative errno. */
function check<T>(ret: T | number, operation: string): T {
  if (typeof ret === 'number' && ret < 0) throw new BpfError(-ret, operation);
  return ret as T;
}

export const MapType = {
  HASH: 1,
  ARRAY: 2,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  DEVMAP: 14,
  DEVMAP_HASH: 25,
} as const;

const PER_CPU_TYPES = new Set<number>([MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH, 21]);

export const MapFlags = {
  /** BPF_F_INNER_MAP: an inner map whose max_entries may differ from the template */
  INNER_MAP: 1 << 12,
} as const;

export const UpdateFlags = { ANY: 0, NOEXIST: 1, EXIST: 2 } as const;

export const XdpFlags = {
  UPDATE_IF_NOEXIST: 1 << 0,
  SKB_MODE: 1 << 1,
  DRV_MODE: 1 << 2,
  HW_MODE: 1 << 3,
  REPLACE: 1 << 4,
} as const;

export const XdpAction = { ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 } as const;

/** XDP_ATTACHED_* of a query. */
export const XdpAttached = { NONE: 0, DRV: 1, SKB: 2, HW: 3, MULTI: 4 } as const;

export type XdpMode = 'native' | 'generic';

/** One batch of a walk (BPF_MAP_LOOKUP_BATCH). */
export interface MapBatch {
  /** entries read: key i at keys[i * keySize], value i at values[i * valueStride] */
  count: number;
  keys: Buffer;
  values: Buffer;
  /** where the next batch starts; undefined: the walk is complete */
  next: Buffer | undefined;
}

// errno values by name, once: the bridge answers -errno
const { EBADF, EINVAL, EIO, ENOENT, ENOSPC } = os.constants.errno;

let cpus: number | undefined;

/** Number of possible CPUs: the length of every per-CPU value. */
export function possibleCpus(): number {
  cpus ??= check(raw.numPossibleCpus(), 'count possible cpus');
  return cpus;
}

export class BpfMap {
  readonly perCpu: boolean;

  constructor(
    readonly name: string,
    readonly fd: number,
    readonly type: number,
    readonly keySize: number,
    readonly valueSize: number,
    readonly maxEntries: number,
    /** whether close() closes fd (false: the owning object does) */
    private readonly owned: boolean,
  ) {
    this.perCpu = PER_CPU_TYPES.has(type);
  }

  static fromFd(fd: number, owned = true): BpfMap {
    const info = check(raw.mapInfo(fd), `map info of fd ${fd}`);
    return new BpfMap(info.name, fd, info.type, info.keySize, info.valueSize, info.maxEntries, owned);
  }

  private op(what: string): string {
    return `${what} map ${this.name} (fd ${this.fd})`;
  }

  private checkKey(key: Buffer, what: string): void {
    if (key.length !== this.keySize) {
      throw new RangeError(`${this.op(what)}: key is ${key.length} bytes, map wants ${this.keySize}`);
    }
  }

  private get perCpuStride(): number {
    return Math.ceil(this.valueSize / 8) * 8;
  }

  /** The value, or undefined when the key is absent. Not for per-CPU maps. */
  lookup(key: Buffer): Buffer | undefined {
    if (this.perCpu) throw new TypeError(`${this.op('lookup in')}: per-CPU map, use lookupPerCpu`);
    this.checkKey(key, 'lookup in');
    const ret = raw.mapLookup(this.fd, key, this.valueSize);
    if (ret === -ENOENT) return undefined;
    return check(ret, this.op('lookup in'));
  }

  /** One value per possible CPU, or undefined when the key is absent. */
  lookupPerCpu(key: Buffer): Buffer[] | undefined {
    if (!this.perCpu) throw new TypeError(`${this.op('lookup in')}: not a per-CPU map`);
    this.checkKey(key, 'lookup in');
    const stride = this.perCpuStride;
    const ret = raw.mapLookup(this.fd, key, stride * possibleCpus());
    if (ret === -ENOENT) return undefined;
    const all = check(ret, this.op('lookup in'));
    const out: Buffer[] = [];
    for (let cpu = 0; cpu < possibleCpus(); cpu++) {
      out.push(all.subarray(cpu * stride, cpu * stride + this.valueSize));
    }
    return out;
  }

  update(key: Buffer, value: Buffer, flags: number = UpdateFlags.ANY): void {
    this.checkKey(key, 'update');
    if (value.length !== this.valueSize) {
      throw new RangeError(`${this.op('update')}: value is ${value.length} bytes, map wants ${this.valueSize}`);
    }
    let bytes = value;
    if (this.perCpu) {
      // one value for every CPU
      const stride = this.perCpuStride;
      bytes = Buffer.alloc(stride * possibleCpus());
      for (let cpu = 0; cpu < possibleCpus(); cpu++) value.copy(bytes, cpu * stride);
    }
    check(raw.mapUpdate(this.fd, key, bytes, flags), this.op('update'));
  }

  /** Deletes the key; false when it was absent. */
  delete(key: Buffer): boolean {
    this.checkKey(key, 'delete from');
    const ret = raw.mapDelete(this.fd, key);
    if (ret === -ENOENT) return false;
    check(ret, this.op('delete from'));
    return true;
  }

  *keys(): Generator<Buffer> {
    let key: Buffer | null = null;
    for (;;) {
      const ret: Buffer | number = raw.mapNextKey(this.fd, key, this.keySize);
      if (ret === -ENOENT) return;
      key = check(ret, this.op('iterate'));
      yield key;
    }
  }

  /** Bytes of one value as the kernel copies it out: per-CPU maps hold one per possible CPU. */
  get valueStride(): number {
    return this.perCpu ? this.perCpuStride * possibleCpus() : this.valueSize;
  }

  /**
   * Up to `count` entries in one syscall (BPF_MAP_LOOKUP_BATCH), from the
   * start (`cursor` undefined) or where the previous batch ended. Walking a
   * map that changes meanwhile can miss or repeat entries changed during the
   * walk, as BPF_MAP_GET_NEXT_KEY can. `into` re-uses buffers of at least
   * count entries.
   */
  lookupBatch(cursor: Buffer | undefined, count: number, into?: { keys: Buffer; values: Buffer }): MapBatch {
    // hash maps keep a bucket index (u32) as the position, the others a key
    const next = Buffer.alloc(Math.max(this.keySize, 8));
    for (let want = count; ; want *= 2) {
      const keys = into && into.keys.length >= want * this.keySize ? into.keys : Buffer.alloc(want * this.keySize);
      const values = into && into.values.length >= want * this.valueStride ? into.values : Buffer.alloc(want * this.valueStride);
      const r = raw.mapLookupBatch(this.fd, cursor ?? null, next, keys, values, want);
      if (r.error === -ENOENT) return { count: r.count, keys, values, next: undefined };
      // ENOSPC: one hash bucket holds more entries than `want`
      if (r.error === -ENOSPC && r.count === 0 && want < 1 << 20) continue;
      check(r.error, this.op(`batch lookup (${want} entries) in`));
      return { count: r.count, keys, values, next };
    }
  }

  /** Writes `count` entries in one syscall (BPF_MAP_UPDATE_BATCH); keys and values packed back to back. */
  updateBatch(keys: Buffer, values: Buffer, count: number, flags: number = UpdateFlags.ANY): void {
    if (count === 0) return;
    if (keys.length < count * this.keySize || values.length < count * this.valueStride) {
      throw new RangeError(`${this.op('batch update')}: ${count} entries want ${count * this.keySize} key and ${count * this.valueStride} value bytes`);
    }
    // on failure the kernel may or may not have written some: it reports a count only once it started
    const r = raw.mapUpdateBatch(this.fd, keys, values, count, flags);
    check(r.error, this.op(`batch update (${count} entries) of`));
  }

  pin(pinPath: string): void {
    check(raw.objPin(this.fd, pinPath), `pin map ${this.name} at ${pinPath}`);
  }

  info(): MapInfo {
    return check(raw.mapInfo(this.fd), this.op('info of'));
  }

  close(): void {
    if (this.owned) raw.close(this.fd);
  }
}

export interface TestRunResult {
  /** the XDP action (or program return value) */
  verdict: number;
  data: Buffer;
  /** average ns per run, as the kernel measured it */
  duration: number;
}

export class BpfProgram {
  constructor(
    readonly name: string,
    readonly fd: number,
    readonly type: number,
    /** whether close() closes fd (false: the owning object does) */
    private readonly owned = false,
  ) {}

  close(): void {
    if (this.owned) raw.close(this.fd);
  }

  /**
   * BPF_PROG_TEST_RUN: runs the program on `data` (`repeat` times), returns
   * the verdict and the packet as the program left it. `ctx` is an optional
   * context (struct xdp_md for XDP).
   */
  testRun(data: Buffer, opts: { repeat?: number; ctx?: Buffer; maxOut?: number } = {}): TestRunResult {
    const outBytes = opts.maxOut ?? data.length + 256;
    const ret = raw.testRun(this.fd, data, opts.repeat ?? 1, outBytes, opts.ctx ?? null);
    const r = check(ret, `test run of program ${this.name} on ${data.length} bytes`);
    return { verdict: r.retval, data: r.data, duration: r.duration };
  }

  info(): ProgInfo {
    return check(raw.progInfo(this.fd), `info of program ${this.name}`);
  }

  pin(pinPath: string): void {
    check(raw.objPin(this.fd, pinPath), `pin program ${this.name} at ${pinPath}`);
  }
}

export class BpfObject {
  private loaded = false;

  private constructor(
    private readonly obj: RawObject,
    readonly path: string,
  ) {}

  static open(objectPath: string): BpfObject {
    return new BpfObject(check(raw.openObject(objectPath), `open bpf object ${objectPath}`), objectPath);
  }

  /** Map sizes, before load(). */
  setMaxEntries(map: string, n: number): void {
    check(this.obj.setMaxEntries(map, n), `set max_entries of map ${map} in ${this.path} to ${n}`);
  }

  /** Initial contents of a global data map (.rodata, .data), before load(). */
  setInitialValue(map: string, value: Buffer): void {
    check(this.obj.setInitialValue(map, value), `set initial value of map ${map} in ${this.path}`);
  }

  /** load() re-uses the map pinned there if any, else pins the new map there. */
  setPinPath(map: string, pinPath: string): void {
    check(this.obj.setPinPath(map, pinPath), `set pin path of map ${map} to ${pinPath}`);
  }

  /** load() uses this existing map instead of creating one. */
  reuseMap(map: string, fd: number): void {
    check(this.obj.reuseMapFd(map, fd), `re-use fd ${fd} for map ${map} in ${this.path}`);
  }

  load(): void {
    const ret = this.obj.load();
    if (ret < 0) {
      const err = new BpfError(-ret, `load bpf object ${this.path}`);
      const log = this.obj.log().trim();
      if (log) err.message += `\n${log}`;
      throw err;
    }
    this.loaded = true;
  }

  /** What libbpf said during the last load() (warnings, verifier log on failure). */
  log(): string {
    return this.obj.log();
  }

  map(name: string): BpfMap {
    const m = this.obj.maps().find((d) => d.name === name);
    if (!m) throw new BpfError(ENOENT, `find map ${name} in ${this.path}`);
    if (!this.loaded) throw new BpfError(EBADF, `map ${name} of ${this.path} before load`);
    return new BpfMap(m.name, m.fd, m.type, m.keySize, m.valueSize, m.maxEntries, false);
  }

  program(name: string): BpfProgram {
    const p = this.obj.programs().find((d) => d.name === name);
    if (!p) throw new BpfError(ENOENT, `find program ${name} in ${this.path}`);
    if (!this.loaded) throw new BpfError(EBADF, `program ${name} of ${this.path} before load`);
    return new BpfProgram(p.name, p.fd, p.type);
  }

  mapNames(): string[] {
    return this.obj.maps().map((m) => m.name);
  }

  /** A map's definition as the object declares it (sizes as set so far); usable before load(). */
  mapDef(name: string): { type: number; keySize: number; valueSize: number; maxEntries: number } {
    const m = this.obj.maps().find((d) => d.name === name);
    if (!m) throw new BpfError(ENOENT, `find map ${name} in ${this.path}`);
    return { type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries };
  }

  /** Closes the object and its fds; pinned maps and attached programs stay. */
  close(): void {
    this.obj.close();
  }
}

export function createMap(opts: {
  type: number;
  name: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  innerMap?: BpfMap;
}): BpfMap {
  const fd = check(
    raw.mapCreate({
      type: opts.type,
      name: opts.name,
      keySize: opts.keySize,
      valueSize: opts.valueSize,
      maxEntries: opts.maxEntries,
      flags: opts.flags ?? 0,
      ...(opts.innerMap ? { innerMapFd: opts.innerMap.fd } : {}),
    }),
    `create map ${opts.name} (${opts.maxEntries} entries)`,
  );
  return new BpfMap(opts.name, fd, opts.type, opts.keySize, opts.valueSize, opts.maxEntries, true);
}

/** A map pinned in bpffs; close() it when done. */
export function openPinnedMap(pinPath: string): BpfMap {
  return BpfMap.fromFd(check(raw.objGet(pinPath), `open pinned map ${pinPath}`));
}

/** A program pinned in bpffs. */
export function openPinnedProgram(pinPath: string): BpfProgram {
  const fd = check(raw.objGet(pinPath), `open pinned program ${pinPath}`);
  const info = check(raw.progInfo(fd), `info of pinned program ${pinPath}`);
  return new BpfProgram(info.name, fd, info.type, true);
}

/** Removes a pin; the object lives on while anything else holds it. */
export function unpin(pinPath: string): void {
  try {
    fs.unlinkSync(pinPath);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new BpfError(e.errno ? -e.errno : EIO, `unpin ${pinPath}`);
  }
}

/** A map by kernel id (e.g. the inner map an outer map holds); close() it when done. */
export function mapById(id: number): BpfMap {
  return BpfMap.fromFd(check(raw.mapFdById(id), `open map id ${id}`));
}

export function ifIndex(ifname: string): number {
  return check(raw.ifNameToIndex(ifname), `find interface ${ifname}`);
}

function describeIface(iface: string | number): { ifindex: number; label: string } {
  if (typeof iface === 'number') return { ifindex: iface, label: `ifindex ${iface}` };
  const ifindex = ifIndex(iface);
  return { ifindex, label: `${iface} (ifindex ${ifindex})` };
}

/**
 * Attaches an XDP program. `replace` swaps exactly that program atomically
 * (XDP_FLAGS_REPLACE). Returns the mode the kernel reports afterwards.
 */
export function attachXdp(
  iface: string | number,
  prog: BpfProgram,
  mode: XdpMode,
  replace?: BpfProgram,
): XdpMode {
  const { ifindex, label } = describeIface(iface);
  const flags = mode === 'native' ? XdpFlags.DRV_MODE : XdpFlags.SKB_MODE;
  check(raw.xdpAttach(ifindex, prog.fd, flags, replace ? replace.fd : -1), `attach xdp (${mode}) to ${label}`);
  const q = queryXdp(ifindex);
  if (q.attachMode === XdpAttached.DRV) return 'native';
  if (q.attachMode === XdpAttached.SKB) return 'generic';
  throw new BpfError(EINVAL, `attach xdp (${mode}) to ${label}: kernel reports attach mode ${q.attachMode}`);
}

export function detachXdp(iface: string | number, mode: XdpMode): void {
  const { ifindex, label } = describeIface(iface);
  const flags = mode === 'native' ? XdpFlags.DRV_MODE : XdpFlags.SKB_MODE;
  check(raw.xdpDetach(ifindex, flags), `detach xdp (${mode}) from ${label}`);
}

export function queryXdp(iface: string | number): XdpQuery {
  const { ifindex, label } = describeIface(iface);
  return check(raw.xdpQuery(ifindex), `query xdp on ${label}`);
}

/** A program by kernel id (e.g. the one attached to an interface); close() it when done. */
export function programById(id: number): BpfProgram {
  const fd = check(raw.progFdById(id), `open program id ${id}`);
  const info = check(raw.progInfo(fd), `info of program id ${id}`);
  return new BpfProgram(info.name, fd, info.type, true);
}

/** Layout of a struct in an object's BTF. */
export function btfStruct(objectPath: string, name: string): BtfStruct {
  return check(raw.btfStruct(objectPath, name), `read struct ${name} from BTF of ${objectPath}`);
}

/** Values of an enum in an object's BTF. */
export function btfEnum(objectPath: string, name: string): Record<string, number> {
  return check(raw.btfEnum(objectPath, name), `read enum ${name} from BTF of ${objectPath}`);
}

/**
 * A raw IP socket for one protocol on one interface (e.g. VRRP, 112): TTL /
 * hop limit 255, multicast loop off, `group` joined. Receiving runs on the
 * event loop (uv_poll), never on a thread of its own.
 */
export class RawSocket {
  private watcher: { close(): void } | undefined;
  private closed = false;

  private constructor(
    private readonly fd: number,
    readonly family: 4 | 6,
    readonly ifname: string,
    private readonly what: string,
  ) {}

  static open(family: 4 | 6, protocol: number, ifname: string, group?: string): RawSocket {
    const what = `raw IPv${family} socket for protocol ${protocol} on ${ifname}`;
    const fd = check(raw.rawOpen(family, protocol, ifname, group ?? null), `open ${what}${group ? ` joining ${group}` : ''}`);
    return new RawSocket(fd, family, ifname, what);
  }

  /** The source address of what this socket sends. */
  bind(addr: string): void {
    check(raw.rawBind(this.fd, this.family, addr, this.ifname), `bind ${this.what} to ${addr}`);
  }

  send(data: Buffer, dst: string): void {
    check(raw.rawSend(this.fd, this.family, data, dst, this.ifname), `send ${data.length} bytes to ${dst} on ${this.what}`);
  }

  /** Calls `onPacket` for every packet received, until close(). */
  watch(onPacket: (p: RawPacket) => void): void {
    if (this.watcher) throw new Error(`${this.what} is already watched`);
    this.watcher = raw.rawWatch(this.fd, this.family, onPacket);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.watcher) this.watcher.close();
    else raw.close(this.fd);
  }
}

/** Sends one Ethernet frame, as it is, out of an interface (gratuitous ARP, unsolicited NA). */
export function sendFrame(ifname: string, frame: Buffer): void {
  check(raw.packetSend(ifname, frame), `send a ${frame.length}-byte frame on ${ifname}`);
}
