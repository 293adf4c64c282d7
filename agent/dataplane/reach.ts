// What the reals map needs of a real's next hop. Finding it (routes,
// neighbours, kernel events) is agent/reach's job.
import type { Addr, Mac } from '../net/addr';

/** Where a real's packets go. */
export interface Reach {
  mac: Mac;
  /** 0: out of the interface the packet came in on (XDP_TX) */
  ifindex: number;
  /** source MAC for a redirect; absent for XDP_TX */
  srcMac?: Mac;
  /** the largest packet the path to the real takes (route or device MTU) */
  mtu?: number;
  /** our address toward the real: the outer source of tunnelled packets */
  prefsrc?: Addr;
}
