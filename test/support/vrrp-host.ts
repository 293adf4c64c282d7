// A fake host for VRRP runners: `ip addr` takes time on the fake clock (an
// add 10 ms, a del 1 ms, as forking ip does) and takes effect when it
// completes; sockets and frames are recorded; adverts can be delivered.
import pino from 'pino';
import type { VrrpInstance } from '../../agent/config/model';
import type { RawPacket, VrrpHost, VrrpSocket } from '../../agent/vrrp/host';
import type { RunnerDeps, VrrpRunner } from '../../agent/vrrp/instance';
import { encodeAdvert, VRRP_MCAST4, VRRP_MCAST6 } from '../../agent/vrrp/packet';
import type { FakeClock } from './clock';
import { parseAddr } from '../../agent/net/addr';

export class FakeSocket implements VrrpSocket {
  readonly sent: { data: Buffer; dst: string }[] = [];
  bound: string | undefined;
  closed = false;
  private onPacket: ((p: RawPacket) => void) | undefined;

  constructor(
    readonly family: 4 | 6,
    readonly protocol: number,
    readonly ifname: string,
    readonly group: string | undefined,
  ) {}

  bind(addr: string): void {
    this.bound = addr;
  }

  send(data: Buffer, dst: string): void {
    this.sent.push({ data, dst });
  }

  watch(fn: (p: RawPacket) => void): void {
    this.onPacket = fn;
  }

  close(): void {
    this.closed = true;
  }

  deliver(p: RawPacket): void {
    if (!this.closed) this.onPacket?.(p);
  }
}

export class FakeHost implements VrrpHost {
  /** "addr/prefix dev" -> the full `ip addr add` arguments it was added with */
  readonly table = new Map<string, string[]>();
  readonly calls: string[][] = [];
  readonly frames: { dev: string; frame: Buffer; at: number }[] = [];
  readonly sockets: FakeSocket[] = [];
  readonly links = new Map<string, boolean>();

  constructor(
    private readonly clock: FakeClock,
    readonly own: { inet: string[]; inet6: string[] } = { inet: ['198.18.0.1'], inet6: ['fe80::1'] },
  ) {}

  mac(): string {
    return '02:00:00:00:00:01';
  }

  async addresses(_dev: string, family: 'inet' | 'inet6'): Promise<string[]> {
    return this.own[family];
  }

  ip(args: string[]): Promise<void> {
    this.calls.push(args);
    const [, op, addr, , dev] = args;
    const key = `${addr} ${dev}`;
    return new Promise((resolve, reject) => {
      this.clock.setTimer(op === 'add' ? 10 : 1, () => {
        if (op === 'add') {
          if (this.table.has(key)) return reject(new Error('RTNETLINK answers: File exists'));
          this.table.set(key, args);
        } else if (!this.table.delete(key)) return reject(new Error('RTNETLINK answers: Cannot assign requested address'));
        resolve();
      });
    });
  }

  openSocket(family: 4 | 6, protocol: number, ifname: string, group?: string): FakeSocket {
    const s = new FakeSocket(family, protocol, ifname, group);
    this.sockets.push(s);
    return s;
  }

  sendFrame(dev: string, frame: Buffer): void {
    this.frames.push({ dev, frame, at: this.clock.now() });
  }

  interfaceUp(name: string): boolean {
    return this.links.get(name) ?? true;
  }

  /** the VIPs configured now, "addr/prefix" */
  get vips(): string[] {
    return [...this.table.keys()].map((k) => k.split(' ')[0]!).sort();
  }

  /** the socket that receives adverts (the first opened for `protocol`) */
  rx(protocol = 112): FakeSocket {
    const s = this.sockets.filter((x) => x.protocol === protocol && !x.closed)[0];
    if (!s) throw new Error(`no open socket for protocol ${protocol}`);
    return s;
  }
}

const log = pino({ level: 'silent' });

export function vrrpInstance(o: Partial<VrrpInstance> = {}): VrrpInstance {
  return {
    name: 'VI_1',
    initialState: 'BACKUP',
    interface: 'eth0',
    virtualRouterId: 51,
    priority: 100,
    advertInt: 1,
    version: 3,
    family: 'inet',
    virtualAddresses: [
      { addr: parseAddr('198.18.1.100'), prefix: 32, loc: { file: 'k.conf', line: 5 } },
      { addr: parseAddr('198.18.1.101'), prefix: 32, loc: { file: 'k.conf', line: 6 } },
      { addr: parseAddr('198.18.1.102'), prefix: 32, loc: { file: 'k.conf', line: 7 } },
    ],
    excludedAddresses: [],
    nopreempt: false,
    preemptDelay: 0,
    trackInterfaces: [],
    trackScripts: [],
    unicastPeers: [],
    garpMasterDelay: 5,
    garpMasterRepeat: 5,
    v3ChecksumAsV2: false,
    referenceFall: 3,
    loc: { file: 'k.conf', line: 1 },
    ...o,
  };
}

/** An advert from `src` as the wire carries it, delivered to the runner's receive socket. */
export function hear(host: FakeHost, inst: VrrpInstance, src: string, priority: number, advertIntCs = Math.round(inst.advertInt * 100)): void {
  const dst = inst.family === 'inet' ? VRRP_MCAST4 : VRRP_MCAST6;
  const data = encodeAdvert({ version: inst.version, vrid: inst.virtualRouterId, priority, advertIntCs, addresses: inst.virtualAddresses.map((a) => String(a.addr)) }, inst.family, src, dst);
  host.rx().deliver({ data, src, dst, ttl: 255 });
}

export function runnerDeps(clock: FakeClock, host: FakeHost, stateDir: string, extra: Partial<RunnerDeps> = {}): RunnerDeps {
  return { clock, log, host, stateDir, scripts: new Map(), runScript: () => undefined, ...extra };
}

/** Starts a runner, letting the fake clock run while it releases stale VIPs. */
export async function started(r: VrrpRunner, clock: FakeClock): Promise<void> {
  let done = false;
  const p = r.start().finally(() => (done = true));
  for (let n = 0; n < 1000 && !done; n++) await clock.advance(1);
  await p;
}

/** Awaits `p` while the fake clock runs in 1 ms steps (at most 10 s of it). */
export async function whileClockRuns<T>(clock: FakeClock, p: Promise<T>): Promise<T> {
  let done = false;
  const q = p.finally(() => (done = true));
  q.catch(() => undefined); // the caller sees a rejection when it awaits q; not unhandled meanwhile
  for (let n = 0; n < 10_000 && !done; n++) await clock.advance(1);
  return q;
}

/** Stops a runner (priority 0, VIPs removed), letting the fake clock run meanwhile. */
export async function stopped(r: VrrpRunner, clock: FakeClock): Promise<void> {
  const p = r.stop();
  await clock.advance(100);
  await p;
}

