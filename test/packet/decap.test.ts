// The real server's decap program: strips an outer IPv4/IPv6 header addressed
// to one of its addresses and passes the inner packet up, byte for byte.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { DecapReason } from '../../agent/dataplane/abi';
import { parseAddr } from '../../agent/dataplane/addr';
import { DecapDataplane } from '../../agent/dataplane/lb';
import { packetDeltas, onlyOne } from '../support/counters';
import { DIRECTOR_MAC, TestDirector, Verdict } from '../support/director';
import {
  ETH_P_IP,
  ETH_P_IPV6,
  PROTO_IPIP,
  PROTO_IPV6,
  eth,
  flowFrame,
  flowIp,
  ipv4,
  ipv6,
  type FlowSpec,
} from '../support/packet';
import { requireRoot } from '../support/root';

const RS4 = '10.0.2.1';
const RS6 = 'fd00:2::1';
const RS_MAC = '02:00:00:00:02:01';
const flow4: FlowSpec = { client: '198.51.100.7', server: '192.0.2.11', sport: 40000, dport: 80, payload: Buffer.from('GET /') };
const flow6: FlowSpec = { client: '2001:db8:ff::7', server: '2001:db8::11', sport: 40000, dport: 443 };

function outer4(inner: Buffer, proto: number, o: { dst?: string; vlan?: number; options?: Buffer; mf?: boolean } = {}): Buffer {
  return eth(
    { dst: RS_MAC, src: DIRECTOR_MAC, type: ETH_P_IP, ...(o.vlan !== undefined ? { vlan: o.vlan } : {}) },
    ipv4({ src: '10.0.0.1', dst: o.dst ?? RS4, proto, ...(o.options ? { options: o.options } : {}), ...(o.mf ? { mf: true } : {}) }, inner),
  );
}

function outer6(inner: Buffer, next: number, dst = RS6): Buffer {
  return eth({ dst: RS_MAC, src: DIRECTOR_MAC, type: ETH_P_IPV6 }, ipv6({ src: 'fd00::1', dst, next }, inner));
}

function plain(inner: Buffer, type: number, vlan?: number): Buffer {
  return eth({ dst: RS_MAC, src: DIRECTOR_MAC, type, ...(vlan !== undefined ? { vlan } : {}) }, inner);
}

describe('decap program', () => {
  let dc: DecapDataplane;

  before(() => {
    requireRoot('packet');
    dc = DecapDataplane.load();
    for (const a of [RS4, RS6]) {
      const p = parseAddr(a);
      dc.addAddress({ addr: p.bytes, family: p.family });
    }
  });
  after(() => dc?.close());

  const cases: { description: string; input: Buffer; verdict: number; output: Buffer; reason: number }[] = [
    {
      description: 'IPIP to our address: inner IPv4 passed up',
      input: outer4(flowIp(flow4), PROTO_IPIP),
      verdict: Verdict.PASS,
      output: plain(flowIp(flow4), ETH_P_IP),
      reason: DecapReason.DECAP_R_DONE,
    },
    {
      description: 'IPIP with outer IPv4 options: the whole outer header goes',
      input: outer4(flowIp(flow4), PROTO_IPIP, { options: Buffer.from([1, 1, 1, 0]) }),
      verdict: Verdict.PASS,
      output: plain(flowIp(flow4), ETH_P_IP),
      reason: DecapReason.DECAP_R_DONE,
    },
    {
      description: 'IPIP behind an 802.1Q tag keeps the tag',
      input: outer4(flowIp(flow4), PROTO_IPIP, { vlan: 9 }),
      verdict: Verdict.PASS,
      output: plain(flowIp(flow4), ETH_P_IP, 9),
      reason: DecapReason.DECAP_R_DONE,
    },
    {
      description: '6in4 (protocol 41): inner IPv6, EtherType becomes IPv6',
      input: outer4(flowIp(flow6), PROTO_IPV6),
      verdict: Verdict.PASS,
      output: plain(flowIp(flow6), ETH_P_IPV6),
      reason: DecapReason.DECAP_R_DONE,
    },
    {
      description: 'IP6IP6 to our IPv6 address',
      input: outer6(flowIp(flow6), PROTO_IPV6),
      verdict: Verdict.PASS,
      output: plain(flowIp(flow6), ETH_P_IPV6),
      reason: DecapReason.DECAP_R_DONE,
    },
    {
      description: '4in6 (next header 4): inner IPv4, EtherType becomes IPv4',
      input: outer6(flowIp(flow4), PROTO_IPIP),
      verdict: Verdict.PASS,
      output: plain(flowIp(flow4), ETH_P_IP),
      reason: DecapReason.DECAP_R_DONE,
    },
    {
      description: 'IPIP to another address passes untouched',
      input: outer4(flowIp(flow4), PROTO_IPIP, { dst: '10.0.2.99' }),
      verdict: Verdict.PASS,
      output: outer4(flowIp(flow4), PROTO_IPIP, { dst: '10.0.2.99' }),
      reason: DecapReason.DECAP_R_PASS,
    },
    {
      description: 'ordinary traffic to the host passes untouched',
      input: flowFrame({ client: '198.51.100.7', server: RS4, sport: 1, dport: 22 }),
      verdict: Verdict.PASS,
      output: flowFrame({ client: '198.51.100.7', server: RS4, sport: 1, dport: 22 }),
      reason: DecapReason.DECAP_R_PASS,
    },
    {
      description: 'a fragmented outer packet is left to the kernel',
      input: outer4(flowIp(flow4), PROTO_IPIP, { mf: true }),
      verdict: Verdict.PASS,
      output: outer4(flowIp(flow4), PROTO_IPIP, { mf: true }),
      reason: DecapReason.DECAP_R_PASS,
    },
    {
      description: 'an outer header with nothing inside is dropped',
      input: outer4(Buffer.alloc(0), PROTO_IPIP),
      verdict: Verdict.DROP,
      output: outer4(Buffer.alloc(0), PROTO_IPIP),
      reason: DecapReason.DECAP_R_MALFORMED,
    },
    {
      description: 'protocol 4 carrying an IPv6 packet is dropped',
      input: outer4(flowIp(flow6), PROTO_IPIP),
      verdict: Verdict.DROP,
      output: outer4(flowIp(flow6), PROTO_IPIP),
      reason: DecapReason.DECAP_R_MALFORMED,
    },
  ];

  for (const c of cases) {
    it(c.description, () => {
      const before = dc.counters();
      const r = dc.program.testRun(c.input);
      assert.equal(r.verdict, c.verdict);
      assert.deepEqual(r.data, c.output);
      assert.deepEqual(packetDeltas(before, dc.counters()), onlyOne(c.reason, DecapReason.DECAP_R_MAX));
    });
  }

  it('director TUN output, decapped, is the client packet with the director as L2 source', () => {
    const d = new TestDirector();
    try {
      d.real(2, { addr: RS4, mac: RS_MAC, method: 'tun' });
      d.real(3, { addr: RS6, mac: RS_MAC, method: 'tun' });
      d.vip({ addr: flow4.server, port: 80, id: 1, table: [2] });
      d.vip({ addr: flow6.server, port: 443, id: 2, table: [3] });
      for (const f of [flow4, flow6]) {
        const tunnelled = d.run(flowFrame(f));
        assert.equal(tunnelled.verdict, Verdict.TX);
        const r = dc.program.testRun(tunnelled.data);
        assert.equal(r.verdict, Verdict.PASS);
        assert.deepEqual(r.data, plain(flowIp(f), f.client.includes(':') ? ETH_P_IPV6 : ETH_P_IP));
      }
    } finally {
      d.close();
    }
  });
});
