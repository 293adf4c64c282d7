// A fake host for VRRP runners: `ip addr` takes time on the fake clock (an
// add 10 ms, a del 1 ms, as forking ip does) and takes effect when it
// completes; sockets and frames are recorded; adverts can be delivered.
import type { RawPacket, VrrpHost, VrrpSocket } from '../../agent/vrrp/host';
import type { FakeClock } from './clock';

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
