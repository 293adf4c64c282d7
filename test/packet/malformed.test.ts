// Every packet the director cannot or must not forward gets a defined verdict
// and a counter, and is never rewritten: non-VIP traffic, ARP, VRRP,
// truncated headers at every layer, bad IHL, inconsistent lengths, IPv4
// options, IPv6 extension headers, fragments, zero-length UDP.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { REASON_NAMES, Reason } from '../../agent/dataplane/abi';
import { packetDeltas, onlyOne } from '../support/counters';
import { DIRECTOR_MAC, REAL_MAC, TestDirector, Verdict } from '../support/director';
import {
  ETH_P_IP,
  ETH_P_IPV6,
  PROTO_ICMP,
  PROTO_TCP,
  PROTO_UDP,
  PROTO_VRRP,
  arpRequest,
  eth,
  flowFrame,
  icmp4Echo,
  icmp4Error,
  ipv4,
  ipv6,
  ipv6Ext,
  ipv6Frag,
  tcp,
  udp,
  withMacs,
} from '../support/packet';
import { pinToOneCpu } from '../support/cpu';
import { requireRoot } from '../support/root';

const VIP = '192.0.2.10';
const VIP6 = '2001:db8::10';
const UVIP = '192.0.2.20';
const AVIP = '192.0.2.30';
const CLIENT = '198.51.100.7';
const CLIENT6 = '2001:db8:ff::7';

const l4 = { src: CLIENT, dst: VIP, sport: 1234, dport: 80 };
const l4u = { src: CLIENT, dst: UVIP, sport: 1234, dport: 53 };
const syn = tcp(l4);
const v4 = (o: Partial<Parameters<typeof ipv4>[0]>, payload: Buffer): Buffer =>
  eth({ type: ETH_P_IP }, ipv4({ src: CLIENT, dst: VIP, proto: PROTO_TCP, ...o }, payload));
const v6 = (next: number, payload: Buffer, dst = VIP6): Buffer =>
  eth({ type: ETH_P_IPV6 }, ipv6({ src: CLIENT6, dst, next }, payload));
const tcp6 = tcp({ src: CLIENT6, dst: VIP6, sport: 1234, dport: 80 });

interface Case {
  description: string;
  input: Buffer;
  verdict: number;
  reason: number;
  /** expected output; defaults to the input unchanged */
  output?: Buffer;
}

const cases: Case[] = [
  { description: 'ARP passes', input: arpRequest(), verdict: Verdict.PASS, reason: Reason.XDPVS_R_PASS_NOT_IP },
  {
    description: 'IPv4 to a non-VIP address passes',
    input: flowFrame({ client: CLIENT, server: '192.0.2.99', sport: 1, dport: 80 }),
    verdict: Verdict.PASS,
    reason: Reason.XDPVS_R_PASS_NOT_VIP,
  },
  {
    description: 'IPv4 to a VIP address on another port passes (SSH to the director)',
    input: flowFrame({ client: CLIENT, server: VIP, sport: 1, dport: 22 }),
    verdict: Verdict.PASS,
    reason: Reason.XDPVS_R_PASS_NOT_VIP,
  },
  {
    description: 'IPv4 UDP to a TCP-only VIP passes',
    input: flowFrame({ client: CLIENT, server: VIP, sport: 1, dport: 80, proto: PROTO_UDP }),
    verdict: Verdict.PASS,
    reason: Reason.XDPVS_R_PASS_NOT_VIP,
  },
  {
    description: 'IPv6 to a non-VIP address passes',
    input: flowFrame({ client: CLIENT6, server: '2001:db8::99', sport: 1, dport: 80 }),
    verdict: Verdict.PASS,
    reason: Reason.XDPVS_R_PASS_NOT_VIP,
  },
  {
    description: 'VRRP (protocol 112) to 224.0.0.18 passes',
    input: eth({ type: ETH_P_IP, dst: '01:00:5e:00:00:12' }, ipv4({ src: '10.0.0.2', dst: '224.0.0.18', proto: PROTO_VRRP, ttl: 255 }, Buffer.alloc(20))),
    verdict: Verdict.PASS,
    reason: Reason.XDPVS_R_PASS_NOT_VIP,
  },
  {
    description: 'ICMP echo to a VIP passes (the kernel answers)',
    input: v4({ proto: PROTO_ICMP }, icmp4Echo()),
    verdict: Verdict.PASS,
    reason: Reason.XDPVS_R_PASS_ICMP,
  },
  {
    description: 'ICMP error whose quote is too short to hold ports passes',
    input: v4({ proto: PROTO_ICMP, src: '203.0.113.1' }, icmp4Error(3, 4, 1400, ipv4({ src: VIP, dst: CLIENT, proto: PROTO_TCP }, Buffer.alloc(2)))),
    verdict: Verdict.PASS,
    reason: Reason.XDPVS_R_PASS_ICMP,
  },
  {
    description: 'truncated 802.1Q tag is dropped',
    input: Buffer.from('0200000000010200000000aa' + '8100' + '00', 'hex'),
    verdict: Verdict.DROP,
    reason: Reason.XDPVS_R_DROP_MALFORMED,
  },
  {
    description: 'truncated IPv4 header (12 of 20 bytes) is dropped',
    input: eth({ type: ETH_P_IP }, ipv4({ src: CLIENT, dst: VIP, proto: PROTO_TCP }, syn).subarray(0, 12)),
    verdict: Verdict.DROP,
    reason: Reason.XDPVS_R_DROP_MALFORMED,
  },
  {
    description: 'IPv4 with IHL 4 (below the minimum) is dropped',
    input: v4({ ihl: 4 }, syn),
    verdict: Verdict.DROP,
    reason: Reason.XDPVS_R_DROP_MALFORMED,
  },
  {
    description: 'IPv4 with IHL 15 past the end of the frame is dropped',
    input: v4({ ihl: 15 }, Buffer.alloc(0)),
    verdict: Verdict.DROP,
    reason: Reason.XDPVS_R_DROP_MALFORMED,
  },
  {
    description: 'IPv4 total length beyond the frame is dropped',
    input: v4({ totLen: 200 }, syn),
    verdict: Verdict.DROP,
    reason: Reason.XDPVS_R_DROP_MALFORMED,
  },
  {
    description: 'IPv4 total length below the header length is dropped',
    input: v4({ totLen: 16 }, syn),
    verdict: Verdict.DROP,
    reason: Reason.XDPVS_R_DROP_MALFORMED,
  },
  {
    description: 'IPv4 version field not 4 is dropped',
    input: (() => {
      const f = flowFrame({ client: CLIENT, server: VIP, sport: 1, dport: 80 });
      f[14] = 0x55;
      return f;
    })(),
    verdict: Verdict.DROP,
    reason: Reason.XDPVS_R_DROP_MALFORMED,
  },
  {
    description: 'truncated TCP header (10 of 20 bytes) is dropped',
    input: v4({}, syn.subarray(0, 10)),
    verdict: Verdict.DROP,
    reason: Reason.XDPVS_R_DROP_MALFORMED,
  },
  {
    description: 'TCP data offset 4 (below the minimum) is dropped',
    input: v4({}, tcp({ ...l4, dataOffset: 4 })),
    verdict: Verdict.DROP,
    reason: Reason.XDPVS_R_DROP_MALFORMED,
  },
  {
    description: 'TCP data offset past the end of the packet is dropped',
    input: v4({}, tcp({ ...l4, dataOffset: 15 })),
    verdict: Verdict.DROP,
    reason: Reason.XDPVS_R_DROP_MALFORMED,
  },
  {
    description: 'truncated UDP header is dropped',
    input: v4({ dst: UVIP, proto: PROTO_UDP }, udp(l4u).subarray(0, 6)),
    verdict: Verdict.DROP,
    reason: Reason.XDPVS_R_DROP_MALFORMED,
  },
  {
    description: 'zero-length UDP (length field 0) is dropped',
    input: v4({ dst: UVIP, proto: PROTO_UDP }, udp({ ...l4u, len: 0 })),
    verdict: Verdict.DROP,
    reason: Reason.XDPVS_R_DROP_MALFORMED,
  },
  {
    description: 'UDP length disagreeing with the IP length is dropped',
    input: v4({ dst: UVIP, proto: PROTO_UDP }, udp({ ...l4u, len: 20 }, Buffer.alloc(4))),
    verdict: Verdict.DROP,
    reason: Reason.XDPVS_R_DROP_MALFORMED,
  },
  {
    description: 'truncated ICMP header is dropped',
    input: v4({ proto: PROTO_ICMP }, icmp4Echo().subarray(0, 4)),
    verdict: Verdict.DROP,
    reason: Reason.XDPVS_R_DROP_MALFORMED,
  },
  {
    description: 'truncated IPv6 header is dropped',
    input: eth({ type: ETH_P_IPV6 }, ipv6({ src: CLIENT6, dst: VIP6, next: PROTO_TCP }, tcp6).subarray(0, 30)),
    verdict: Verdict.DROP,
    reason: Reason.XDPVS_R_DROP_MALFORMED,
  },
  {
    description: 'IPv6 payload length beyond the frame is dropped',
    input: eth({ type: ETH_P_IPV6 }, ipv6({ src: CLIENT6, dst: VIP6, next: PROTO_TCP, payloadLen: 400 }, tcp6)),
    verdict: Verdict.DROP,
    reason: Reason.XDPVS_R_DROP_MALFORMED,
  },
  {
    description: 'IPv6 extension header truncated is dropped',
    input: v6(0, Buffer.from([PROTO_TCP, 0, 0])),
    verdict: Verdict.DROP,
    reason: Reason.XDPVS_R_DROP_MALFORMED,
  },
  {
    description: 'IPv4 first fragment of a VIP flow is dropped',
    input: v4({ mf: true }, syn),
    verdict: Verdict.DROP,
    reason: Reason.XDPVS_R_DROP_FRAGMENT,
  },
  {
    description: 'IPv4 later fragment to an all-port VIP is dropped',
    input: v4({ dst: AVIP, fragOffset: 100 }, Buffer.alloc(24)),
    verdict: Verdict.DROP,
    reason: Reason.XDPVS_R_DROP_FRAGMENT,
  },
  {
    description: 'IPv4 later fragment not tied to a VIP passes (the kernel reassembles or discards)',
    input: v4({ fragOffset: 100 }, Buffer.alloc(24)),
    verdict: Verdict.PASS,
    reason: Reason.XDPVS_R_PASS_FRAGMENT,
  },
  {
    description: 'IPv4 first fragment to a non-VIP passes',
    input: v4({ mf: true, dst: '192.0.2.99' }, tcp({ ...l4, dst: '192.0.2.99' })),
    verdict: Verdict.PASS,
    reason: Reason.XDPVS_R_PASS_NOT_VIP,
  },
  {
    description: 'IPv6 first fragment of a VIP flow is dropped',
    input: v6(44, ipv6Frag(PROTO_TCP, 0, true, tcp6)),
    verdict: Verdict.DROP,
    reason: Reason.XDPVS_R_DROP_FRAGMENT,
  },
  {
    description: 'IPv6 later fragment not tied to a VIP passes',
    input: v6(44, ipv6Frag(PROTO_TCP, 50, false, Buffer.alloc(16))),
    verdict: Verdict.PASS,
    reason: Reason.XDPVS_R_PASS_FRAGMENT,
  },
];

describe('malformed and non-VIP packets', () => {
  let d: TestDirector;

  before(() => {
    requireRoot('packet');
    pinToOneCpu();
    d = new TestDirector()
      .real(1, { addr: '10.0.1.1', mac: REAL_MAC })
      .vip({ addr: VIP, port: 80, id: 1, table: [1] })
      .vip({ addr: VIP6, port: 80, id: 2, table: [1] })
      .vip({ addr: UVIP, port: 53, proto: PROTO_UDP, id: 3, table: [1] })
      .vip({ addr: AVIP, port: 0, id: 4, table: [1] });
  });
  after(() => d?.close());

  for (const c of cases) {
    it(`${c.description} (${REASON_NAMES[c.reason]})`, () => {
      const before = d.dp.verdicts();
      const r = d.run(c.input);
      assert.equal(r.verdict, c.verdict);
      assert.deepEqual(r.data, c.output ?? c.input);
      const deltas = packetDeltas(before, d.dp.verdicts());
      assert.deepEqual(deltas, onlyOne(c.reason, Reason.XDPVS_R_MAX), `counter deltas by reason: ${REASON_NAMES.join(' ')}`);
    });
  }

  it('IPv4 options are skipped and the packet forwarded with them intact', () => {
    // NOP NOP NOP EOL: 4 bytes of options, IHL 6
    const f = v4({ options: Buffer.from([1, 1, 1, 0]) }, syn);
    const r = d.run(f);
    assert.equal(r.verdict, Verdict.TX);
    assert.deepEqual(r.data, withMacs(f, REAL_MAC, DIRECTOR_MAC));
  });

  it('IPv6 hop-by-hop and destination-options headers are skipped to the ports', () => {
    const f = v6(0, ipv6Ext(60, ipv6Ext(PROTO_TCP, tcp6)));
    const r = d.run(f);
    assert.equal(r.verdict, Verdict.TX);
    assert.deepEqual(r.data, withMacs(f, REAL_MAC, DIRECTOR_MAC));
  });

  it('every truncation of a valid frame gets a verdict and never a rewrite of bytes it has not', () => {
    const full = flowFrame({ client: CLIENT, server: VIP, sport: 4321, dport: 80, payload: Buffer.from('abcdef') });
    for (let len = 14; len < full.length; len++) {
      const cut = full.subarray(0, len);
      const r = d.run(Buffer.from(cut));
      assert.ok([Verdict.PASS, Verdict.DROP].includes(r.verdict as 1 | 2), `length ${len}: verdict ${r.verdict}`);
      assert.deepEqual(r.data, cut, `length ${len}: bytes changed`);
    }
  });
});
