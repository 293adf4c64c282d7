// Fixtures for packet tests: a freshly loaded director program with VIPs,
// reals and tables written through the agent's own dataplane module.
import { Family, Method, RealFlags, Sched, VipFlags } from '../../agent/dataplane/abi';
import { addrBytes } from '../../agent/dataplane/addr';
import { parseAddr, parseMac } from '../../agent/net/addr';
import { LbDataplane } from '../../agent/dataplane/lb';
import { XdpAction } from '../../native/index';
import { PROTO_TCP } from './packet';

export const DIRECTOR_MAC = '02:00:00:00:00:01';
export const CLIENT_MAC = '02:00:00:00:00:aa';
/** A real server's MAC (DR), and the router a tunnel's next hop resolves to. */
export const REAL_MAC = '02:00:00:00:01:01';
export const ROUTER_MAC = '02:00:00:00:fe:fe';
/** The ingress ifindex of BPF_PROG_TEST_RUN: the namespace's loopback. */
export const TEST_IFINDEX = 1;
export const TUN_SRC4 = '10.0.0.1';
export const TUN_SRC6 = 'fd00::1';

export interface VipSpec {
  addr: string;
  port: number;
  proto?: number;
  id: number;
  sched?: keyof typeof SCHEDS;
  table: number[];
  persist?: number;
}

export const SCHEDS = {
  mh: Sched.XDPVS_SCHED_MH,
  sh: Sched.XDPVS_SCHED_SH,
  dh: Sched.XDPVS_SCHED_DH,
  rr: Sched.XDPVS_SCHED_RR,
} as const;

export interface RealSpec {
  addr: string;
  mac: string;
  method?: 'dr' | 'tun';
  ifindex?: number;
  srcMac?: string;
  active?: boolean;
  /** TUN: largest outer packet; 0 or absent: unchecked */
  mtu?: number;
}

export class TestDirector {
  readonly dp: LbDataplane;

  /** `objectPath`: another build of the director (the cost harness); `maxFlows`: the flow table's size (default 4096). */
  constructor(opts: { objectPath?: string; maxFlows?: number } = {}) {
    this.dp = LbDataplane.load({ maxFlows: opts.maxFlows ?? 4096, ...(opts.objectPath ? { objectPath: opts.objectPath } : {}) });
    // BPF_PROG_TEST_RUN delivers on lo (ifindex 1) unless told otherwise
    this.dp.setInterface(TEST_IFINDEX, parseMac(DIRECTOR_MAC).bytes);
    this.dp.setSettings({ tunSrc4: parseAddr(TUN_SRC4).bytes, tunSrc6: parseAddr(TUN_SRC6).bytes });
  }

  vip(v: VipSpec): this {
    const a = addrBytes(parseAddr(v.addr));
    this.dp.setVip(
      { addr: a.bytes, port: v.port, proto: v.proto ?? PROTO_TCP, family: a.family },
      {
        id: v.id,
        flags: v.persist ? VipFlags.XDPVS_VIP_PERSIST : 0,
        sched: SCHEDS[v.sched ?? 'mh'],
        tableSize: v.table.length,
        persistTimeout: v.persist ?? 0,
        pad: 0,
      },
    );
    if (v.table.length) this.dp.setTable(v.id, v.table);
    return this;
  }

  real(id: number, r: RealSpec): this {
    const a = addrBytes(parseAddr(r.addr));
    this.dp.setReal(id, {
      addr: a.bytes,
      mac: parseMac(r.mac).bytes,
      srcMac: r.srcMac ? parseMac(r.srcMac).bytes : Buffer.alloc(6),
      ifindex: r.ifindex ?? 0,
      family: a.family,
      method: r.method === 'tun' ? Method.XDPVS_FWD_TUN : Method.XDPVS_FWD_DR,
      flags: r.active === false ? 0 : RealFlags.XDPVS_REAL_ACTIVE,
      mtu: r.mtu ?? 0,
      pad: 0,
    });
    return this;
  }

  run(frame: Buffer): { verdict: number; data: Buffer } {
    return this.dp.program.testRun(frame);
  }

  close(): void {
    this.dp.close();
  }
}

export const Verdict = XdpAction;
export { Family };

/** The services several tests start from: DR over IPv4 (VIP id 1 to real 1), TUN over IPv4 (VIP 2 to real 2), DR over IPv6 (VIP 3 to real 3). */
export function basicDirector(): TestDirector {
  return new TestDirector()
    .real(1, { addr: '10.0.1.1', mac: REAL_MAC, method: 'dr' })
    .real(2, { addr: '10.0.2.1', mac: ROUTER_MAC, method: 'tun' })
    .real(3, { addr: 'fd00:1::1', mac: REAL_MAC, method: 'dr' })
    .vip({ addr: '192.0.2.10', port: 80, id: 1, table: [1] })
    .vip({ addr: '192.0.2.11', port: 80, id: 2, table: [2] })
    .vip({ addr: '2001:db8::10', port: 80, id: 3, table: [3] });
}
