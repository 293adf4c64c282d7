// The addresses a VRRP instance owns on the host (virtual_ipaddress and
// virtual_ipaddress_excluded), held while it is MASTER. Transitions come
// faster than `ip` runs, so one worker converges the host on the latest
// wish, one address at a time: a MASTER -> BACKUP flip in the middle of the
// adds is honoured at the next address, not after the last (a later state
// wins), and the announcement goes out only once every address is in place
// and the instance still wants them.
import type { Logger } from 'pino';
import type { VirtualAddress } from '../config/model';
import type { VrrpHost } from './host';
import { RunCode } from '../errors';

/** `ip addr add|del` arguments for one owned address. */
export function ipAddrArgs(op: 'add' | 'del', a: VirtualAddress, dev: string): string[] {
  const args = ['addr', op, `${a.addr}/${a.prefix}`, 'dev', dev];
  if (op === 'del') return args;
  if (a.label) args.push('label', a.label);
  // An IPv6 VIP skips duplicate address detection (the old master may still
  // hold it: DAD would delay the takeover, or fail it as dadfailed) and is
  // deprecated (preferred_lft 0, RFC 4862 5.5.4), so source address
  // selection (RFC 6724 rule 3) never picks it for the director's own
  // connections: health checks sent from a VIP in the LAN's prefix are
  // answered by each real's own lo address, and every real would go down.
  if (a.addr.v6) args.push('nodad', 'preferred_lft', '0');
  return args;
}

export class VipOwner {
  private wanted = false;
  /** what may be on the host (at start: everything, a dead agent may have left it) */
  private readonly present = new Map<string, VirtualAddress>();
  /** added (or taken over) since the last announcement */
  private toAnnounce = new Map<string, VirtualAddress>();
  private worker: Promise<void> | undefined;

  constructor(
    private addresses: VirtualAddress[],
    private readonly defaultDev: string,
    private readonly host: Pick<VrrpHost, 'ip'>,
    private readonly log: Logger,
    /** every address in place and still wanted: announce these */
    private readonly announce: (added: VirtualAddress[]) => void,
  ) {
    for (const a of addresses) this.present.set(this.key(a), a);
  }

  get held(): boolean {
    return this.wanted;
  }

  private key(a: VirtualAddress): string {
    return `${a.addr}/${a.prefix} ${a.dev ?? this.defaultDev} ${a.label ?? ''}`;
  }

  /** Wants the addresses on the host (MASTER) or off it; resolves when the host has caught up. */
  hold(wanted: boolean): Promise<void> {
    if (wanted && !this.wanted) for (const a of this.addresses) this.toAnnounce.set(this.key(a), a);
    if (!wanted) this.toAnnounce.clear();
    this.wanted = wanted;
    return this.settle();
  }

  /** A reload changed the list: added ones are added (and announced) if held, removed ones removed. */
  setAddresses(addresses: VirtualAddress[]): Promise<void> {
    this.addresses = addresses;
    const keys = new Set(addresses.map((a) => this.key(a)));
    for (const k of [...this.toAnnounce.keys()]) if (!keys.has(k)) this.toAnnounce.delete(k);
    return this.settle();
  }

  /** Resolves when the host holds what is wanted now. */
  settle(): Promise<void> {
    this.worker ??= this.converge().finally(() => (this.worker = undefined));
    return this.worker;
  }

  private async converge(): Promise<void> {
    // bounded: every step moves one address, and the wish only changes by the caller
    for (;;) {
      const want = new Map(this.wanted ? this.addresses.map((a) => [this.key(a), a] as const) : []);
      const extra = [...this.present].find(([k]) => !want.has(k));
      const missing = [...want].find(([k]) => !this.present.has(k));
      if (extra) {
        const [k, a] = extra;
        // an address already gone is fine: that is what we wanted
        await this.host.ip(ipAddrArgs('del', a, a.dev ?? this.defaultDev)).catch(() => undefined);
        this.present.delete(k);
      } else if (missing) {
        const [k, a] = missing;
        await this.host.ip(ipAddrArgs('add', a, a.dev ?? this.defaultDev)).catch((err: Error) => {
          if (!/File exists/.test(err.message)) this.log.error({ code: RunCode.VIP, vip: a.addr, err: err.message }, 'adding the VIP failed');
        });
        this.present.set(k, a);
        if (this.wanted) this.toAnnounce.set(k, a);
      } else break;
    }
    if (this.wanted && this.toAnnounce.size > 0) {
      const added = [...this.toAnnounce.values()];
      this.toAnnounce = new Map();
      this.announce(added);
    }
  }
}
