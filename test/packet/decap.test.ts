// The real server's decap program: strips an outer IPv4/IPv6 header addressed
// to one of its addresses and passes the inner packet up, byte for byte.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { DecapReason } from '../../agent/dataplane/abi';
import { addrBytes } from '../../agent/dataplane/addr';
import { parseAddr, parsePrefix } from '../../agent/net/addr';
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
import { pinToOneCpu } from '../support/cpu';
import { requireRoot } from '../support/root';

const RS4 = '10.0.2.1';
const RS6 = 'fd00:2::1';
const RS_MAC = '02:00:00:00:02:01';
const flow4: FlowSpec = { client: '198.51.100.7', server: '192.0.2.11', sport: 40000, dport: 80, payload: Buffer.from('GET /') };
const flow6: FlowSpec = { client: '2001:db8:ff::7', server: '2001:db8::11', sport: 40000, dport: 443 };

// the directors: the TUN sources the decap program accepts (TestDirector's 10.0.0.1 and fd00::1 among them)
const DIRECTORS = ['10.0.0.0/29', 'fd00::/120'];
const STRANGER4 = '10.0.0.8';
const STRANGER6 = 'fd00::100';

function outer4(inner: Buffer, proto: number, o: { src?: string; dst?: string; vlan?: number; options?: Buffer; mf?: boolean } = {}): Buffer {
  return eth(
    { dst: RS_MAC, src: DIRECTOR_MAC, type: ETH_P_IP, ...(o.vlan !== undefined ? { vlan: o.vlan } : {}) },
    ipv4({ src: o.src ?? '10.0.0.1', dst: o.dst ?? RS4, proto, ...(o.options ? { options: o.options } : {}), ...(o.mf ? { mf: true } : {}) }, inner),
  );
}

function outer6(inner: Buffer, next: number, dst = RS6, src = 'fd00::1'): Buffer {
  return eth({ dst: RS_MAC, src: DIRECTOR_MAC, type: ETH_P_IPV6 }, ipv6({ src, dst, next }, inner));
}

function decapWith(sources: string[]): DecapDataplane {
  const dc = DecapDataplane.load();
  for (const a of [RS4, RS6]) {
    const p = addrBytes(parseAddr(a));
    dc.addAddress({ addr: p.bytes, family: p.family });
  }
  dc.setSources(sources.map((s) => parsePrefix(s)));
  return dc;
}

function plain(inner: Buffer, type: number, vlan?: number): Buffer {
  return eth({ dst: RS_MAC, src: DIRECTOR_MAC, type, ...(vlan !== undefined ? { vlan } : {}) }, inner);
}

describe('decap program', () => {
  let dc: DecapDataplane;

  before(() => {
    requireRoot('packet');
    pinToOneCpu();
    dc = decapWith(DIRECTORS);
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
    {
      description: 'IPIP from a source outside the allowed prefixes is dropped (CVE-2020-10136)',
      input: outer4(flowIp(flow4), PROTO_IPIP, { src: STRANGER4 }),
      verdict: Verdict.DROP,
      output: outer4(flowIp(flow4), PROTO_IPIP, { src: STRANGER4 }),
      reason: DecapReason.DECAP_R_DROP_SOURCE,
    },
    {
      description: '6in4 from a source outside the allowed prefixes is dropped',
      input: outer4(flowIp(flow6), PROTO_IPV6, { src: STRANGER4 }),
      verdict: Verdict.DROP,
      output: outer4(flowIp(flow6), PROTO_IPV6, { src: STRANGER4 }),
      reason: DecapReason.DECAP_R_DROP_SOURCE,
    },
    {
      description: 'IP6IP6 from a source outside the allowed prefixes is dropped',
      input: outer6(flowIp(flow6), PROTO_IPV6, RS6, STRANGER6),
      verdict: Verdict.DROP,
      output: outer6(flowIp(flow6), PROTO_IPV6, RS6, STRANGER6),
      reason: DecapReason.DECAP_R_DROP_SOURCE,
    },
    {
      description: '4in6 from a source outside the allowed prefixes is dropped',
      input: outer6(flowIp(flow4), PROTO_IPIP, RS6, STRANGER6),
      verdict: Verdict.DROP,
      output: outer6(flowIp(flow4), PROTO_IPIP, RS6, STRANGER6),
      reason: DecapReason.DECAP_R_DROP_SOURCE,
    },
    {
      description: 'IPIP from the last address of an allowed IPv4 prefix is stripped',
      input: outer4(flowIp(flow4), PROTO_IPIP, { src: '10.0.0.7' }),
      verdict: Verdict.PASS,
      output: plain(flowIp(flow4), ETH_P_IP),
      reason: DecapReason.DECAP_R_DONE,
    },
    {
      description: 'IP6IP6 from the last address of an allowed IPv6 prefix is stripped',
      input: outer6(flowIp(flow6), PROTO_IPV6, RS6, 'fd00::ff'),
      verdict: Verdict.PASS,
      output: plain(flowIp(flow6), ETH_P_IPV6),
      reason: DecapReason.DECAP_R_DONE,
    },
    {
      description: 'an IPv4 source never matches through an IPv6 prefix holding the same bytes',
      input: outer4(flowIp(flow4), PROTO_IPIP, { src: '253.0.0.1' }),
      verdict: Verdict.DROP,
      output: outer4(flowIp(flow4), PROTO_IPIP, { src: '253.0.0.1' }),
      reason: DecapReason.DECAP_R_DROP_SOURCE,
    },
    {
      description: 'a fragmented outer packet from a source not allowed is dropped, not left to the kernel',
      input: outer4(flowIp(flow4), PROTO_IPIP, { src: STRANGER4, mf: true }),
      verdict: Verdict.DROP,
      output: outer4(flowIp(flow4), PROTO_IPIP, { src: STRANGER4, mf: true }),
      reason: DecapReason.DECAP_R_DROP_SOURCE,
    },
    {
      description: 'a tunnel from a source not allowed to another address is not ours: passed untouched',
      input: outer4(flowIp(flow4), PROTO_IPIP, { src: STRANGER4, dst: '10.0.2.99' }),
      verdict: Verdict.PASS,
      output: outer4(flowIp(flow4), PROTO_IPIP, { src: STRANGER4, dst: '10.0.2.99' }),
      reason: DecapReason.DECAP_R_PASS,
    },
    {
      description: 'ordinary traffic from a source not allowed passes untouched',
      input: flowFrame({ client: STRANGER4, server: RS4, sport: 1, dport: 22 }),
      verdict: Verdict.PASS,
      output: flowFrame({ client: STRANGER4, server: RS4, sport: 1, dport: 22 }),
      reason: DecapReason.DECAP_R_PASS,
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

  it('with no allowed source every tunnel to us is dropped (fail closed), other traffic passes', () => {
    const closed = decapWith([]);
    try {
      for (const input of [outer4(flowIp(flow4), PROTO_IPIP), outer6(flowIp(flow6), PROTO_IPV6)]) {
        const before = closed.counters();
        const r = closed.program.testRun(input);
        assert.equal(r.verdict, Verdict.DROP);
        assert.deepEqual(r.data, input);
        assert.deepEqual(packetDeltas(before, closed.counters()), onlyOne(DecapReason.DECAP_R_DROP_SOURCE, DecapReason.DECAP_R_MAX));
      }
      assert.equal(closed.program.testRun(flowFrame({ client: STRANGER4, server: RS4, sport: 1, dport: 22 })).verdict, Verdict.PASS);
    } finally {
      closed.close();
    }
  });

  it('0.0.0.0/0 and ::/0 accept tunnels from anywhere (--allow-any-source)', () => {
    const open = decapWith(['0.0.0.0/0', '::/0']);
    try {
      assert.deepEqual(open.program.testRun(outer4(flowIp(flow4), PROTO_IPIP, { src: '203.0.113.9' })).data, plain(flowIp(flow4), ETH_P_IP));
      assert.deepEqual(open.program.testRun(outer6(flowIp(flow6), PROTO_IPV6, RS6, '2001:db8:77::9')).data, plain(flowIp(flow6), ETH_P_IPV6));
    } finally {
      open.close();
    }
  });

  it('setSources replaces the list exactly: a source no longer listed is refused', () => {
    const dc2 = decapWith(['10.0.0.0/29', '10.9.0.0/16']);
    try {
      dc2.setSources([parsePrefix('10.9.0.0/16')]);
      assert.deepEqual(dc2.sources().map(String), ['10.9.0.0/16']);
      assert.equal(dc2.program.testRun(outer4(flowIp(flow4), PROTO_IPIP)).verdict, Verdict.DROP);
      assert.equal(dc2.program.testRun(outer4(flowIp(flow4), PROTO_IPIP, { src: '10.9.3.4' })).verdict, Verdict.PASS);
    } finally {
      dc2.close();
    }
  });
});
