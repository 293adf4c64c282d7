// The split-brain guard: ping a reference address (the gateway) from the
// VRRP interface; `fall` unanswered pings in a row mean this director is cut
// off, and its instance goes to FAULT (giving the VIPs up) until one is
// answered again. ICMP / ICMPv6 echo through the bridge's raw socket, so no
// ping binary is needed.
import type { Clock } from '../net/clock';
import ipaddr from 'ipaddr.js';
import { inetChecksum } from './checksum';
import type { VrrpHost, VrrpSocket } from './host';


/** An echo request; ICMPv6 checksums are filled in by the kernel for raw ICMPv6 sockets. */
export function echoRequest(v6: boolean, id: number, seq: number): Buffer {
  const b = Buffer.alloc(16);
  b[0] = v6 ? 128 : 8;
  b.writeUInt16BE(id, 4);
  b.writeUInt16BE(seq, 6);
  b.write('xdpvs-rf', 8);
  if (!v6) b.writeUInt16BE(inetChecksum(b), 2);
  return b;
}

export class ReferenceCheck {
  up = true;
  private misses = 0;
  private seq = 0;
  private answered = true;
  private cancel: (() => void) | undefined;
  private socket: VrrpSocket | undefined;
  private readonly id = process.pid & 0xffff;
  /**
   * The address as a value: the configuration may spell it in capitals,
   * uncompressed, or with a zone (fe80::1%eth0), the kernel reports replies
   * in its own canonical text; the zone is the interface the socket is
   * bound to anyway, so it is dropped for sending.
   */
  private readonly target: ipaddr.IPv4 | ipaddr.IPv6;

  constructor(
    readonly address: string,
    private readonly ifname: string,
    private readonly intervalMs: number,
    private readonly fall: number,
    private readonly clock: Clock,
    private readonly host: Pick<VrrpHost, 'openSocket'>,
    private readonly onChange: (up: boolean) => void,
  ) {
    const parsed = ipaddr.parse(address.split('%')[0]!);
    this.target = parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress() ? (parsed as ipaddr.IPv6).toIPv4Address() : parsed;
  }

  private isTarget(src: string): boolean {
    try {
      const a = ipaddr.parse(src.split('%')[0]!);
      return a.kind() === this.target.kind() && a.toNormalizedString() === this.target.toNormalizedString();
    } catch {
      return false;
    }
  }

  start(): void {
    const v6 = this.target.kind() === 'ipv6';
    this.socket = this.host.openSocket(v6 ? 6 : 4, v6 ? 58 : 1, this.ifname);
    this.socket.watch((p) => {
      if (p.data.length < 8 || !this.isTarget(p.src)) return;
      if (p.data[0] === (v6 ? 129 : 0) && p.data.readUInt16BE(4) === this.id && p.data.readUInt16BE(6) === this.seq) this.answered = true;
    });
    this.tick();
  }

  private tick(): void {
    if (!this.answered) {
      this.misses++;
      if (this.up && this.misses >= this.fall) {
        this.up = false;
        this.onChange(false);
      }
    } else {
      this.misses = 0;
      if (!this.up) {
        this.up = true;
        this.onChange(true);
      }
    }
    this.answered = false;
    this.seq = (this.seq + 1) & 0xffff;
    try {
      this.socket?.send(echoRequest(this.target.kind() === 'ipv6', this.id, this.seq), this.target.toString());
    } catch {
      /* unreachable now: counted as a miss at the next tick */
    }
    this.cancel = this.clock.setTimer(this.intervalMs, () => this.tick());
  }

  stop(): void {
    this.cancel?.();
    this.socket?.close();
    this.socket = undefined;
  }
}
