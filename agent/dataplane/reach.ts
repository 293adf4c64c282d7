// What the reals map needs of a real's next hop. Finding it (routes,
// neighbours, kernel events) is agent/reach's job.

/** Where a real's packets go. */
export interface Reach {
  mac: string;
  /** 0: out of the interface the packet came in on (XDP_TX) */
  ifindex: number;
  /** source MAC for a redirect; empty for XDP_TX */
  srcMac?: string;
  /** the largest packet the path to the real takes (route or device MTU) */
  mtu?: number;
}
