// Tunnelling and the MTU, byte for byte: a packet that fits once encapsulated
// is forwarded; one that does not gets ICMP frag-needed (IPv4 with DF) or
// ICMPv6 packet-too-big back to the client, from the VIP, quoting it; no ICMP
// for IPv4 without DF or for an ICMP error (dropped, counted).
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Limits, Reason } from '../../agent/dataplane/abi';
import { onlyOne, packetDeltas } from '../support/counters';
import { CLIENT_MAC, DIRECTOR_MAC, ROUTER_MAC, TestDirector, Verdict } from '../support/director';
import {
  ETH_P_IP,
  ETH_P_IPV6,
  PROTO_ICMP,
  PROTO_ICMPV6,
  PROTO_TCP,
  eth,
  flowFrame,
  flowIp,
  icmp4Error,
  icmp6Error,
  ipv4,
  ipv6,
  isV6,
  tcp,
  type FlowSpec,
} from '../support/packet';
import { pinToOneCpu } from '../support/cpu';
import { requireRoot } from '../support/root';

const MTU = 1500;

/** A TCP flow whose IP packet is `ipLen` bytes long. */
function sized(f: FlowSpec, ipLen: number): FlowSpec {
  const headers = (isV6(f.client) ? 40 : 20) + 20;
  return { ...f, flags: 0x18, payload: Buffer.alloc(ipLen - headers, 0x61) };
}

/** The reply the director must send, built here independently. */
function expectedTooBig(f: FlowSpec, reported: number): Buffer {
  const quote = flowIp(f).subarray(0, Limits.XDPVS_ICMP_QUOTE);
  const l2 = { dst: CLIENT_MAC, src: DIRECTOR_MAC, ...(f.vlan !== undefined ? { vlan: f.vlan } : {}) };
  if (isV6(f.client)) {
    const msg = icmp6Error(2, 0, reported, quote, f.server, f.client);
    return eth({ ...l2, type: ETH_P_IPV6 }, ipv6({ src: f.server, dst: f.client, next: PROTO_ICMPV6, hopLimit: 64 }, msg));
  }
  const msg = icmp4Error(3, 4, reported, quote);
  return eth({ ...l2, type: ETH_P_IP }, ipv4({ src: f.server, dst: f.client, proto: PROTO_ICMP, tos: 0xc0, ttl: 64, id: 0, df: false }, msg));
}

describe('tunnelling and the MTU', () => {
  let d: TestDirector;

  before(() => {
    requireRoot('packet');
    pinToOneCpu();
    d = new TestDirector()
      .real(2, { addr: '10.0.2.1', mac: ROUTER_MAC, method: 'tun', mtu: MTU })
      .real(3, { addr: 'fd00:2::1', mac: ROUTER_MAC, method: 'tun', mtu: MTU })
      .real(4, { addr: '10.0.2.4', mac: ROUTER_MAC, method: 'tun' })
      .vip({ addr: '192.0.2.11', port: 80, id: 2, table: [2] })
      .vip({ addr: '2001:db8::11', port: 443, id: 3, table: [3] })
      .vip({ addr: '192.0.2.12', port: 80, id: 4, table: [3] })
      .vip({ addr: '2001:db8::12', port: 443, id: 5, table: [2] })
      .vip({ addr: '192.0.2.14', port: 80, id: 6, table: [4] });
  });
  after(() => d?.close());

  const v4: FlowSpec = { client: '198.51.100.7', server: '192.0.2.11', sport: 40000, dport: 80 };
  const v6: FlowSpec = { client: '2001:db8:ff::7', server: '2001:db8::11', sport: 40000, dport: 443 };
  const cases: { description: string; flow: FlowSpec; ipLen: number; reported: number }[] = [
    { description: 'IPIP: one byte over 1500 - 20 gets frag-needed reporting 1480', flow: v4, ipLen: MTU - 19, reported: MTU - 20 },
    { description: 'IPIP behind an 802.1Q tag: the reply keeps the tag', flow: { ...v4, vlan: 42 }, ipLen: MTU - 10, reported: MTU - 20 },
    { description: 'IP6IP6: packet-too-big reporting 1460', flow: v6, ipLen: MTU - 39, reported: MTU - 40 },
    { description: '4in6: an IPv4 packet over an IPv6 tunnel gets frag-needed reporting 1460', flow: { ...v4, server: '192.0.2.12' }, ipLen: MTU - 39, reported: MTU - 40 },
    { description: '6in4: an IPv6 packet over an IPv4 tunnel gets packet-too-big reporting 1480', flow: { ...v6, server: '2001:db8::12' }, ipLen: MTU - 19, reported: MTU - 20 },
  ];

  const vipPackets = (): bigint => [2, 3, 4, 5].reduce((n, id) => n + d.dp.vipStats(id).packets, 0n);

  for (const c of cases) {
    it(c.description, () => {
      const before = d.dp.verdicts();
      const vipBefore = vipPackets();
      const f = sized(c.flow, c.ipLen);
      const r = d.run(flowFrame(f));
      assert.equal(r.verdict, Verdict.TX);
      assert.deepEqual(r.data, expectedTooBig(f, c.reported));
      assert.deepEqual(packetDeltas(before, d.dp.verdicts()), onlyOne(Reason.XDPVS_R_TOO_BIG, Reason.XDPVS_R_MAX));
      assert.equal(vipPackets(), vipBefore, 'not counted as traffic to the VIP');
    });
  }

  it('a packet that fits exactly once encapsulated is tunnelled (outer length = the mtu)', () => {
    for (const [flow, ipLen] of [[v4, MTU - 20], [v6, MTU - 40]] as const) {
      const r = d.run(flowFrame(sized(flow, ipLen)));
      assert.equal(r.verdict, Verdict.TX);
      assert.equal(r.data.length, 14 + MTU);
      assert.equal(r.data.readUInt16BE(12), isV6(flow.client) ? ETH_P_IPV6 : ETH_P_IP);
    }
  });

  it('a real with mtu 0 is not checked: the driver decides, as before', () => {
    const r = d.run(flowFrame(sized({ ...v4, server: '192.0.2.14' }, 2000)));
    assert.equal(r.verdict, Verdict.TX);
    assert.equal(r.data.length, 14 + 20 + 2000);
  });

  it('IPv4 without DF is dropped and counted drop_too_big: no ICMP is due and XDP cannot fragment', () => {
    const f = sized(v4, MTU);
    const frame = eth({ type: ETH_P_IP }, ipv4({ src: f.client, dst: f.server, proto: PROTO_TCP, df: false }, tcp({ src: f.client, dst: f.server, sport: f.sport, dport: f.dport, flags: 0x18 }, f.payload)));
    const before = d.dp.verdicts();
    const r = d.run(frame);
    assert.equal(r.verdict, Verdict.DROP);
    assert.deepEqual(r.data, frame, 'left as it came');
    assert.deepEqual(packetDeltas(before, d.dp.verdicts()), onlyOne(Reason.XDPVS_R_DROP_TOO_BIG, Reason.XDPVS_R_MAX));
  });

  it('an ICMP error too big to tunnel gets no ICMP error back: dropped, counted drop_too_big', () => {
    // a router's frag-needed toward the VIP quoting the real's reply, with much of it
    assert.equal(d.run(flowFrame({ ...v4, sport: 8001 })).verdict, Verdict.TX, 'the flow exists');
    const reply = flowIp({ client: v4.server, server: v4.client, sport: 80, dport: 8001, payload: Buffer.alloc(1600) }).subarray(0, MTU - 20 - 8 - 20 + 1);
    const frame = eth({ type: ETH_P_IP }, ipv4({ src: '203.0.113.1', dst: v4.server, proto: PROTO_ICMP, df: true }, icmp4Error(3, 4, 1400, reply)));
    const before = d.dp.verdicts();
    const r = d.run(frame);
    assert.equal(r.verdict, Verdict.DROP);
    assert.deepEqual(packetDeltas(before, d.dp.verdicts()), onlyOne(Reason.XDPVS_R_DROP_TOO_BIG, Reason.XDPVS_R_MAX));
  });
});
