// Forwarding rewrites of the director, byte for byte: Direct Routing and
// IPIP / IP6IP6 / 4in6 / 6in4 tunnels, with and without a VLAN tag, XDP_TX
// and redirect, and the counters they leave.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Reason } from '../../agent/dataplane/abi';
import { packetDeltas, onlyOne } from '../support/counters';
import { DIRECTOR_MAC, REAL_MAC, ROUTER_MAC, TUN_SRC4, TUN_SRC6, TestDirector, Verdict } from '../support/director';
import { flowHash } from '../support/jhash';
import {
  ETH_P_IP,
  ETH_P_IPV6,
  PROTO_IPIP,
  PROTO_IPV6,
  PROTO_TCP,
  PROTO_UDP,
  eth,
  flowFrame,
  flowIp,
  ipv4,
  ipv6,
  isV6,
  withMacs,
  type FlowSpec,
} from '../support/packet';
import { pinToOneCpu } from '../support/cpu';
import { requireRoot } from '../support/root';

const EGRESS_MAC = '02:00:00:00:00:02';

/** What a tunnel must put in front of `f`'s IP packet, built here independently. */
function expectedTunnel(f: FlowSpec, realAddr: string, dstMac: string, srcMac: string): Buffer {
  const inner = flowIp(f);
  const innerV6 = isV6(f.client);
  const next = innerV6 ? PROTO_IPV6 : PROTO_IPIP;
  const outer = isV6(realAddr)
    ? ipv6(
        {
          src: TUN_SRC6,
          dst: realAddr,
          next,
          hopLimit: 64,
          trafficClass: 0x28,
          flowLabel: flowHash(f.client, f.server, f.sport, f.dport, f.proto ?? PROTO_TCP) & 0xfffff,
        },
        inner,
      )
    : ipv4(
        {
          src: TUN_SRC4,
          dst: realAddr,
          proto: next,
          ttl: 64,
          tos: 0x28,
          id: innerV6 ? 0 : 0x4242,
          df: true,
        },
        inner,
      );
  return eth(
    { dst: dstMac, src: srcMac, type: isV6(realAddr) ? ETH_P_IPV6 : ETH_P_IP, ...(f.vlan !== undefined ? { vlan: f.vlan } : {}) },
    outer,
  );
}

describe('director forwarding', () => {
  let d: TestDirector;

  before(() => {
    requireRoot('packet');
    pinToOneCpu();
    d = new TestDirector()
      .real(1, { addr: '10.0.1.1', mac: REAL_MAC, method: 'dr' })
      .real(2, { addr: '10.0.2.1', mac: ROUTER_MAC, method: 'tun' })
      .real(3, { addr: 'fd00:2::1', mac: ROUTER_MAC, method: 'tun' })
      .real(4, { addr: 'fd00:1::1', mac: REAL_MAC, method: 'dr' })
      .real(5, { addr: '10.0.1.5', mac: REAL_MAC, method: 'dr', ifindex: 1, srcMac: EGRESS_MAC })
      .real(6, { addr: '10.0.1.6', mac: REAL_MAC, method: 'dr', ifindex: 999 })
      .vip({ addr: '192.0.2.10', port: 80, id: 1, table: [1] })
      .vip({ addr: '192.0.2.11', port: 80, id: 2, table: [2] })
      .vip({ addr: '192.0.2.12', port: 80, id: 3, table: [3] })
      .vip({ addr: '2001:db8::10', port: 80, id: 4, table: [4] })
      .vip({ addr: '2001:db8::11', port: 443, id: 5, table: [3] })
      .vip({ addr: '2001:db8::12', port: 443, id: 6, table: [2] })
      .vip({ addr: '192.0.2.13', port: 53, proto: PROTO_UDP, id: 7, table: [2] })
      .vip({ addr: '192.0.2.14', port: 80, id: 8, table: [5] })
      .vip({ addr: '192.0.2.15', port: 80, id: 9, table: [6] });
    // one of the two-armed cases: lo stands in for a second NIC
    d.dp.addTxPort(1);
  });
  after(() => d?.close());

  const cases: { description: string; flow: FlowSpec; verdict: number; expect: (f: FlowSpec) => Buffer }[] = [
    {
      description: 'DR over IPv4 rewrites both MACs and nothing else',
      flow: { client: '198.51.100.7', server: '192.0.2.10', sport: 40000, dport: 80 },
      verdict: Verdict.TX,
      expect: (f) => withMacs(flowFrame(f), REAL_MAC, DIRECTOR_MAC),
    },
    {
      description: 'DR over IPv6 rewrites both MACs and nothing else',
      flow: { client: '2001:db8:ff::7', server: '2001:db8::10', sport: 40000, dport: 80 },
      verdict: Verdict.TX,
      expect: (f) => withMacs(flowFrame(f), REAL_MAC, DIRECTOR_MAC),
    },
    {
      description: 'DR keeps an 802.1Q tag',
      flow: { client: '198.51.100.7', server: '192.0.2.10', sport: 40001, dport: 80, vlan: 42 },
      verdict: Verdict.TX,
      expect: (f) => withMacs(flowFrame(f), REAL_MAC, DIRECTOR_MAC),
    },
    {
      description: 'IPIP: IPv4 in IPv4 with TOS, DF and id carried over, TTL 64, valid checksum',
      flow: { client: '198.51.100.7', server: '192.0.2.11', sport: 40000, dport: 80 },
      verdict: Verdict.TX,
      expect: (f) => expectedTunnel(f, '10.0.2.1', ROUTER_MAC, DIRECTOR_MAC),
    },
    {
      description: 'IPIP of a UDP flow',
      flow: { client: '198.51.100.7', server: '192.0.2.13', sport: 5353, dport: 53, proto: PROTO_UDP, payload: Buffer.from('query') },
      verdict: Verdict.TX,
      expect: (f) => expectedTunnel(f, '10.0.2.1', ROUTER_MAC, DIRECTOR_MAC),
    },
    {
      description: 'IPIP behind an 802.1Q tag',
      flow: { client: '198.51.100.7', server: '192.0.2.11', sport: 40002, dport: 80, vlan: 7 },
      verdict: Verdict.TX,
      expect: (f) => expectedTunnel(f, '10.0.2.1', ROUTER_MAC, DIRECTOR_MAC),
    },
    {
      description: 'IP6IP6: IPv6 in IPv6, flow label from the flow hash, hop limit 64',
      flow: { client: '2001:db8:ff::7', server: '2001:db8::11', sport: 40000, dport: 443, payload: Buffer.from('hello') },
      verdict: Verdict.TX,
      expect: (f) => expectedTunnel(f, 'fd00:2::1', ROUTER_MAC, DIRECTOR_MAC),
    },
    {
      description: '4in6: IPv4 VIP to an IPv6 real (next header 4)',
      flow: { client: '198.51.100.7', server: '192.0.2.12', sport: 40000, dport: 80 },
      verdict: Verdict.TX,
      expect: (f) => expectedTunnel(f, 'fd00:2::1', ROUTER_MAC, DIRECTOR_MAC),
    },
    {
      description: '6in4: IPv6 VIP to an IPv4 real (protocol 41, DF set)',
      flow: { client: '2001:db8:ff::7', server: '2001:db8::12', sport: 40000, dport: 443 },
      verdict: Verdict.TX,
      expect: (f) => expectedTunnel(f, '10.0.2.1', ROUTER_MAC, DIRECTOR_MAC),
    },
    {
      description: 'two-armed: redirect through txports with the egress MAC as source',
      flow: { client: '198.51.100.7', server: '192.0.2.14', sport: 40000, dport: 80 },
      verdict: Verdict.REDIRECT,
      expect: (f) => withMacs(flowFrame(f), REAL_MAC, EGRESS_MAC),
    },
  ];

  for (const c of cases) {
    it(c.description, () => {
      const r = d.run(flowFrame(c.flow));
      assert.equal(r.verdict, c.verdict);
      assert.deepEqual(r.data, c.expect(c.flow));
    });
  }

  it('Ethernet padding of a short frame stays behind the tunnelled packet', () => {
    const f: FlowSpec = { client: '198.51.100.8', server: '192.0.2.11', sport: 40100, dport: 80 };
    const padded = Buffer.concat([flowFrame(f), Buffer.alloc(6)]);
    const r = d.run(padded);
    assert.equal(r.verdict, Verdict.TX);
    assert.deepEqual(r.data, Buffer.concat([expectedTunnel(f, '10.0.2.1', ROUTER_MAC, DIRECTOR_MAC), Buffer.alloc(6)]));
  });

  it('a redirect to an interface missing from txports is dropped and counted drop_config', () => {
    const before = d.dp.verdicts();
    const r = d.run(flowFrame({ client: '198.51.100.7', server: '192.0.2.15', sport: 40000, dport: 80 }));
    assert.equal(r.verdict, Verdict.DROP);
    assert.deepEqual(packetDeltas(before, d.dp.verdicts()), onlyOne(Reason.XDPVS_R_DROP_CONFIG, Reason.XDPVS_R_MAX));
    assert.equal(d.dp.vipStats(9).packets, 0n);
  });

  it('tunnelling without an outer source address drops and counts drop_config', () => {
    const bare = new TestDirector();
    try {
      bare.dp.setSettings({ tunSrc4: Buffer.alloc(4), tunSrc6: Buffer.alloc(16) });
      bare.real(2, { addr: '10.0.2.1', mac: ROUTER_MAC, method: 'tun' });
      bare.real(3, { addr: 'fd00:2::1', mac: ROUTER_MAC, method: 'tun' });
      bare.vip({ addr: '192.0.2.11', port: 80, id: 2, table: [2] });
      bare.vip({ addr: '192.0.2.12', port: 80, id: 3, table: [3] });
      for (const server of ['192.0.2.11', '192.0.2.12']) {
        const frame = flowFrame({ client: '198.51.100.7', server, sport: 1, dport: 80 });
        assert.equal(bare.run(frame).verdict, Verdict.DROP);
      }
      assert.equal(bare.dp.verdicts()[Reason.XDPVS_R_DROP_CONFIG]?.packets, 2n);
      assert.equal(bare.dp.vipStats(2).packets, 0n);
    } finally {
      bare.close();
    }
  });

  it('counters add up: per verdict, per VIP, per real, bytes and new flows', () => {
    const c = new TestDirector();
    try {
      c.real(1, { addr: '10.0.1.1', mac: REAL_MAC })
        .real(2, { addr: '10.0.2.1', mac: ROUTER_MAC, method: 'tun' })
        .vip({ addr: '192.0.2.10', port: 80, id: 1, table: [1] })
        .vip({ addr: '192.0.2.11', port: 80, id: 2, table: [2] });
      const frames = [
        flowFrame({ client: '198.51.100.1', server: '192.0.2.10', sport: 1000, dport: 80 }),
        flowFrame({ client: '198.51.100.1', server: '192.0.2.10', sport: 1000, dport: 80, flags: 0x10 }),
        flowFrame({ client: '198.51.100.2', server: '192.0.2.10', sport: 1000, dport: 80 }),
        flowFrame({ client: '198.51.100.1', server: '192.0.2.11', sport: 1000, dport: 80, payload: Buffer.alloc(100) }),
        flowFrame({ client: '198.51.100.1', server: '192.0.2.99', sport: 1000, dport: 80 }),
      ];
      for (const f of frames) c.run(f);
      const v = c.dp.verdicts();
      const bytes = (fs: Buffer[]): bigint => fs.reduce((n, f) => n + BigInt(f.length), 0n);
      assert.deepEqual(v[Reason.XDPVS_R_FWD_DR], { packets: 3n, bytes: bytes(frames.slice(0, 3)) });
      assert.deepEqual(v[Reason.XDPVS_R_FWD_TUN], { packets: 1n, bytes: bytes(frames.slice(3, 4)) });
      assert.deepEqual(v[Reason.XDPVS_R_PASS_NOT_VIP], { packets: 1n, bytes: bytes(frames.slice(4)) });
      const total = v.reduce((n, s) => n + s.packets, 0n);
      assert.equal(total, BigInt(frames.length));
      assert.deepEqual(c.dp.vipStats(1), { packets: 3n, bytes: bytes(frames.slice(0, 3)), newFlows: 2n });
      assert.deepEqual(c.dp.realStats(1), { packets: 3n, bytes: bytes(frames.slice(0, 3)), newFlows: 2n });
      assert.deepEqual(c.dp.vipStats(2), { packets: 1n, bytes: bytes(frames.slice(3, 4)), newFlows: 1n });
      assert.deepEqual(c.dp.realStats(2), { packets: 1n, bytes: bytes(frames.slice(3, 4)), newFlows: 1n });
    } finally {
      c.close();
    }
  });

  it('the verdict is the same however often a frame is run (no state leaks into the bytes)', () => {
    const f = flowFrame({ client: '198.51.100.9', server: '192.0.2.11', sport: 1, dport: 80 });
    const first = d.run(f);
    const again = d.run(f);
    assert.equal(again.verdict, first.verdict);
    assert.deepEqual(again.data, first.data);
    assert.notEqual(first.data.length, f.length);
  });
});
