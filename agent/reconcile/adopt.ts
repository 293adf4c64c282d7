// What a restarted agent takes over from the pinned maps before the kernel
// has answered it: the next hop of each real the previous agent was
// forwarding to. A new agent resolves every real afresh (route, neighbour);
// until it has, the previous agent's next hop is the best knowledge there is,
// and the program is forwarding with it right now. Writing such a real
// inactive instead moved its established flows and rewrote its persistent
// clients' entries to other reals for good (issue 11, defect 18).
import type { LbSettingsValue, RealDefValue } from '../dataplane/abi';
import { Family, RealFlags } from '../dataplane/abi';
import { addrBytes, addrFromBytes } from '../dataplane/addr';
import { Mac, type Addr } from '../net/addr';
import type { Reach } from '../dataplane/reach';

/** A real of this configuration that kept its id across the restart. */
export interface KnownReal {
  /** realKey(): service and endpoint */
  key: string;
  id: number;
  addr: Addr;
}

export interface Adopted {
  /** by real address: the next hop to keep until the kernel resolves one */
  reach: Map<string, Reach>;
  /** realKey()s the previous agent had active: up until a check says otherwise */
  active: Set<string>;
}

const isZero = (b: Buffer): boolean => b.every((x) => x === 0);

/**
 * The pinned real of each known real, taken only when it is the same address
 * and was active with a MAC: an id whose entry names another address (a
 * stale pin) or an inactive real teaches nothing. `settings` gives the
 * tunnel source the previous agent used, as the prefsrc of TUN reals.
 */
export function adoptFromPins(known: readonly KnownReal[], pinned: (id: number) => RealDefValue | undefined, settings?: LbSettingsValue): Adopted {
  const out: Adopted = { reach: new Map(), active: new Set() };
  for (const k of known) {
    const def = pinned(k.id);
    if (!def || !(def.flags & RealFlags.XDPVS_REAL_ACTIVE) || isZero(def.mac)) continue;
    const want = addrBytes(k.addr);
    if (def.family !== want.family || !def.addr.equals(want.bytes)) continue;
    out.active.add(k.key);
    if (out.reach.has(String(k.addr))) continue;
    const src = settings && (def.family === Family.XDPVS_AF_INET ? settings.tunSrc4 : settings.tunSrc6);
    out.reach.set(String(k.addr), {
      mac: Mac.fromBytes(def.mac),
      ifindex: def.ifindex,
      ...(isZero(def.srcMac) ? {} : { srcMac: Mac.fromBytes(def.srcMac) }),
      ...(def.mtu ? { mtu: def.mtu } : {}),
      ...(src && !isZero(src) ? { prefsrc: addrFromBytes(src, def.family) } : {}),
    });
  }
  return out;
}
