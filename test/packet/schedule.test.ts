// Which real a flow gets: the documented hash per scheduler, flow-table
// stickiness across table changes, rescheduling off an inactive real,
// persistence, weighted round-robin, and ICMP errors steered by the flow
// they quote.
import { afterEach, beforeEach, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { FlowKind, Reason } from '../../agent/dataplane/abi';
import { addrBytes } from '../../agent/dataplane/addr';
import { parseAddr } from '../../agent/net/addr';
import { DIRECTOR_MAC, TestDirector, Verdict } from '../support/director';
import { addrHash, flowHash } from '../support/jhash';
import {
  ETH_P_IP,
  ETH_P_IPV6,
  PROTO_ICMP,
  PROTO_ICMPV6,
  PROTO_TCP,
  PROTO_UDP,
  TCP_ACK,
  eth,
  flowFrame,
  flowIp,
  icmp4Error,
  icmp6Error,
  ipv4,
  ipv6,
  withMacs,
} from '../support/packet';
import { pinToOneCpu } from '../support/cpu';
import { requireRoot } from '../support/root';

const VIP = '192.0.2.10';
const VIP6 = '2001:db8::10';
const macOf = (id: number): string => `02:00:00:00:01:${id.toString(16).padStart(2, '0')}`;

/** The flows-map key of a client's connection (5-tuple) or persistence entry. */
function flowKey(client: string, sport: number, dport: number, kind: number) {
  return {
    src: addrBytes(parseAddr(client)).bytes,
    dst: addrBytes(parseAddr(VIP)).bytes,
    sport,
    dport,
    proto: PROTO_TCP,
    family: 2,
    kind,
    pad: 0,
  };
}

/** The real a forwarded DR frame went to, read back from its destination MAC. */
function realOf(out: { verdict: number; data: Buffer }): number {
  assert.equal(out.verdict, Verdict.TX, 'frame was not forwarded');
  assert.equal(out.data.readUInt16BE(0), 0x0200);
  return out.data[5] ?? -1;
}

describe('scheduling and the flow table', () => {
  let d: TestDirector;

  beforeEach(() => {
    requireRoot('packet');
    pinToOneCpu();
    d = new TestDirector();
    for (let id = 1; id <= 8; id++) d.real(id, { addr: `10.0.1.${id}`, mac: macOf(id) });
  });
  afterEach(() => d.close());

  it('mh indexes its ring by the documented 5-tuple hash (jhash2, seed 0x9e3779b9)', () => {
    // a 251-slot ring naming real (slot % 8) + 1 reveals hash % 251
    const ring = Array.from({ length: 251 }, (_, i) => (i % 8) + 1);
    d.vip({ addr: VIP, port: 80, id: 1, table: ring });
    d.vip({ addr: VIP6, port: 80, proto: PROTO_UDP, id: 2, table: ring });
    for (let sport = 1000; sport < 1040; sport++) {
      const want = ((flowHash('198.51.100.7', VIP, sport, 80, PROTO_TCP) % 251) % 8) + 1;
      assert.equal(realOf(d.run(flowFrame({ client: '198.51.100.7', server: VIP, sport, dport: 80 }))), want);
      const want6 = ((flowHash('2001:db8:ff::7', VIP6, sport, 80, PROTO_UDP) % 251) % 8) + 1;
      const f6 = flowFrame({ client: '2001:db8:ff::7', server: VIP6, sport, dport: 80, proto: PROTO_UDP });
      assert.equal(realOf(d.run(f6)), want6);
    }
  });

  it('sh hashes the source address only, dh the destination only', () => {
    const ring = Array.from({ length: 251 }, (_, i) => (i % 8) + 1);
    d.vip({ addr: VIP, port: 80, id: 1, sched: 'sh', table: ring });
    d.vip({ addr: '192.0.2.20', port: 80, id: 2, sched: 'dh', table: ring });
    for (let c = 1; c <= 20; c++) {
      const client = `198.51.100.${c}`;
      const sh = new Set<number>();
      for (let sport = 2000; sport < 2005; sport++) {
        sh.add(realOf(d.run(flowFrame({ client, server: VIP, sport, dport: 80 }))));
      }
      assert.deepEqual([...sh], [((addrHash(client) % 251) % 8) + 1]);
      const dh = realOf(d.run(flowFrame({ client, server: '192.0.2.20', sport: 2000, dport: 80 })));
      assert.equal(dh, ((addrHash('192.0.2.20') % 251) % 8) + 1);
    }
  });

  it('the same 5-tuple always reaches the same real, and many tuples spread', () => {
    d.vip({ addr: VIP, port: 80, id: 1, table: [1, 2, 3, 4, 1, 2, 3] });
    const seen = new Set<number>();
    for (let sport = 3000; sport < 3064; sport++) {
      const f = flowFrame({ client: '198.51.100.7', server: VIP, sport, dport: 80 });
      const first = realOf(d.run(f));
      assert.equal(realOf(d.run(f)), first);
      seen.add(first);
    }
    assert.deepEqual([...seen].sort(), [1, 2, 3, 4]);
  });

  it('flow stays on its real when the ring changes; new flows follow the new ring', () => {
    d.vip({ addr: VIP, port: 80, id: 1, table: [1, 1, 1, 1, 1, 1, 1] });
    const f = flowFrame({ client: '198.51.100.7', server: VIP, sport: 4000, dport: 80 });
    assert.equal(realOf(d.run(f)), 1);
    d.dp.setTable(1, [2, 2, 2, 2, 2, 2, 2]);
    const mid = flowFrame({ client: '198.51.100.7', server: VIP, sport: 4000, dport: 80, flags: TCP_ACK });
    assert.equal(realOf(d.run(mid)), 1);
    assert.equal(realOf(d.run(flowFrame({ client: '198.51.100.7', server: VIP, sport: 4001, dport: 80 }))), 2);
    // a ring of another length is swapped in whole; the flow still stays
    d.dp.setTable(1, [3, 3, 3, 3, 3]);
    assert.equal(realOf(d.run(mid)), 1);
  });

  it('a flow whose real became inactive is rescheduled and its entry rewritten', () => {
    d.vip({ addr: VIP, port: 80, id: 1, table: [1, 1, 1, 1, 1, 1, 1] });
    const f = flowFrame({ client: '198.51.100.7', server: VIP, sport: 5000, dport: 80 });
    assert.equal(realOf(d.run(f)), 1);
    d.real(1, { addr: '10.0.1.1', mac: macOf(1), active: false });
    d.dp.setTable(1, [2, 2, 2, 2, 2, 2, 2]);
    assert.equal(realOf(d.run(f)), 2);
    assert.equal(d.dp.flow(flowKey('198.51.100.7', 5000, 80, FlowKind.XDPVS_FLOW_CONN))?.realId, 2);
  });

  it('a drained real (weight 0, still active) keeps its established flows', () => {
    d.vip({ addr: VIP, port: 80, id: 1, table: [1, 1, 1] });
    const f = flowFrame({ client: '198.51.100.7', server: VIP, sport: 5100, dport: 80 });
    assert.equal(realOf(d.run(f)), 1);
    d.dp.setTable(1, [2, 2, 2]);
    assert.equal(realOf(d.run(f)), 1);
  });

  it('no usable real: an empty-slot table or an inactive real drops and counts drop_no_real', () => {
    d.vip({ addr: VIP, port: 80, id: 1, table: [0, 0, 0] });
    d.real(8, { addr: '10.0.1.8', mac: macOf(8), active: false });
    d.vip({ addr: VIP, port: 81, id: 2, table: [8] });
    d.vip({ addr: VIP, port: 82, id: 3, table: [] });
    for (const dport of [80, 81, 82]) {
      assert.equal(d.run(flowFrame({ client: '198.51.100.7', server: VIP, sport: 1, dport })).verdict, Verdict.DROP);
    }
    assert.equal(d.dp.verdicts()[Reason.XDPVS_R_DROP_NO_REAL]?.packets, 3n);
  });

  it('all-port VIP ({addr, 0, proto}) catches any port; an exact port VIP wins', () => {
    d.vip({ addr: VIP, port: 0, id: 1, table: [1] });
    d.vip({ addr: VIP, port: 443, id: 2, table: [2] });
    assert.equal(realOf(d.run(flowFrame({ client: '198.51.100.7', server: VIP, sport: 1, dport: 8080 }))), 1);
    assert.equal(realOf(d.run(flowFrame({ client: '198.51.100.7', server: VIP, sport: 1, dport: 443 }))), 2);
    // the all-port VIP is TCP only
    const udp = d.run(flowFrame({ client: '198.51.100.7', server: VIP, sport: 1, dport: 8080, proto: PROTO_UDP }));
    assert.equal(udp.verdict, Verdict.PASS);
  });

  it('persistence keeps a client on one real across source ports; other clients rotate', () => {
    d.vip({ addr: VIP, port: 80, id: 1, sched: 'rr', table: [1, 2, 3], persist: 300 });
    const first = realOf(d.run(flowFrame({ client: '198.51.100.7', server: VIP, sport: 6000, dport: 80 })));
    for (let sport = 6001; sport < 6020; sport++) {
      assert.equal(realOf(d.run(flowFrame({ client: '198.51.100.7', server: VIP, sport, dport: 80 }))), first);
    }
    const others = new Set<number>();
    for (let c = 1; c <= 3; c++) {
      others.add(realOf(d.run(flowFrame({ client: `203.0.113.${c}`, server: VIP, sport: 6000, dport: 80 }))));
    }
    assert.equal(others.size, 3);
  });

  it('an expired persistence entry lets a new connection be scheduled afresh', () => {
    d.vip({ addr: VIP, port: 80, id: 1, sched: 'rr', table: [1, 2], persist: 5 });
    const first = realOf(d.run(flowFrame({ client: '198.51.100.7', server: VIP, sport: 7000, dport: 80 })));
    const pkey = flowKey('198.51.100.7', 0, 80, FlowKind.XDPVS_FLOW_PERSIST);
    const entry = d.dp.flow(pkey);
    assert.equal(entry?.realId, first);
    // age the entry past its 5 s without waiting (last_seen is
    // CLOCK_MONOTONIC_COARSE, hrtime CLOCK_MONOTONIC: the same clock, one at
    // a tick's resolution). A short timeout, because a last_seen ahead of
    // now counts as fresh (the test above), so this must not wrap below 0 on
    // a machine up for only a few seconds (a fresh VM)
    const now = process.hrtime.bigint();
    assert.ok(now > 6_000_000_000n, 'the machine has been up for more than 6 s');
    const aged = now - 6_000_000_000n;
    d.dp.setFlow(pkey, { realId: first, pad: 0, lastSeen: aged });
    const next = realOf(d.run(flowFrame({ client: '198.51.100.7', server: VIP, sport: 7001, dport: 80 })));
    assert.notEqual(next, first);
    assert.equal(d.dp.flow(pkey)?.realId, next);
  });

  it('a persistence entry another CPU refreshed after this packet read the clock (last_seen ahead of now) is kept', () => {
    // the race: CPU A reads now, CPU B refreshes last_seen with its later
    // now, CPU A computes now - last_seen. Unsigned, that wrapped to ~2^64
    // and expired a live entry; rr then moved the client to the next real.
    d.vip({ addr: VIP, port: 80, id: 1, sched: 'rr', table: [1, 2], persist: 300 });
    d.dp.resetCursor(1);
    const pkey = flowKey('198.51.100.7', 0, 80, FlowKind.XDPVS_FLOW_PERSIST);
    const ahead = process.hrtime.bigint() + 5_000_000_000n;
    d.dp.setFlow(pkey, { realId: 2, pad: 0, lastSeen: ahead });
    for (let sport = 7100; sport < 7104; sport++) {
      assert.equal(realOf(d.run(flowFrame({ client: '198.51.100.7', server: VIP, sport, dport: 80 }))), 2, `connection from port ${sport}`);
    }
    const entry = d.dp.flow(pkey);
    assert.equal(entry?.realId, 2);
    assert.equal(entry?.lastSeen, ahead, 'a refresh never moves last_seen backwards');
  });

  it("a new entry's age, as the agent computes it, is between 0 and one tick: last_seen is on the coarse clock, never ahead of CLOCK_MONOTONIC", () => {
    d.vip({ addr: VIP, port: 80, id: 1, table: [1, 2] });
    const ages: number[] = [];
    for (let sport = 7300; sport < 7400; sport++) {
      const before = process.hrtime.bigint();
      realOf(d.run(flowFrame({ client: '198.51.100.7', server: VIP, sport, dport: 80 })));
      const after = process.hrtime.bigint();
      const seen = d.dp.flow(flowKey('198.51.100.7', sport, 80, FlowKind.XDPVS_FLOW_CONN))!.lastSeen;
      // the coarse clock is the last tick's time: at most a tick (HZ >= 100: 10 ms) before the fine one
      assert.ok(seen <= after, `last_seen ${seen} is ahead of CLOCK_MONOTONIC ${after}`);
      assert.ok(seen >= before - 10_000_000n, `last_seen ${seen} is more than a tick before the packet (${before})`);
      ages.push(Number(after - seen));
    }
    // the census (dataplane/census.ts) counts such an entry active: its age is far below 60 s
    assert.ok(Math.max(...ages) < 20_000_000, `ages up to ${Math.max(...ages)} ns`);
  });

  it('a connection entry with last_seen ahead of now keeps its real and its last_seen', () => {
    d.vip({ addr: VIP, port: 80, id: 1, sched: 'rr', table: [1, 2] });
    d.dp.resetCursor(1);
    const ckey = flowKey('198.51.100.7', 7200, 80, FlowKind.XDPVS_FLOW_CONN);
    const ahead = process.hrtime.bigint() + 5_000_000_000n;
    d.dp.setFlow(ckey, { realId: 2, pad: 0, lastSeen: ahead });
    assert.equal(realOf(d.run(flowFrame({ client: '198.51.100.7', server: VIP, sport: 7200, dport: 80, flags: TCP_ACK }))), 2);
    assert.equal(d.dp.flow(ckey)?.lastSeen, ahead);
  });

  it('weighted round-robin: a burst of new flows follows the weights exactly', () => {
    // weights 3:2:1 as an interleaved sequence
    d.vip({ addr: VIP, port: 80, id: 1, sched: 'rr', table: [1, 2, 1, 3, 1, 2] });
    d.dp.resetCursor(1);
    const count = new Map<number, number>();
    for (let i = 0; i < 600; i++) {
      const r = realOf(d.run(flowFrame({ client: '198.51.100.7', server: VIP, sport: 10000 + i, dport: 80 })));
      count.set(r, (count.get(r) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(count), { 1: 300, 2: 200, 3: 100 });
  });

  it('ICMP frag-needed quoting a VIP flow goes to that flow\'s real, unchanged but for MACs', () => {
    d.vip({ addr: VIP, port: 80, id: 1, sched: 'rr', table: [1, 2, 3] });
    d.dp.resetCursor(1);
    const client = '198.51.100.7';
    const chosen = [8000, 8001, 8002].map((sport) =>
      realOf(d.run(flowFrame({ client, server: VIP, sport, dport: 80 }))),
    );
    assert.deepEqual(chosen, [1, 2, 3]);
    const flowsBefore = [...d.dp.flows()].length;
    // the real's reply VIP:80 -> client:8001 met a small MTU on the way back
    const quoted = flowIp({ client: VIP, server: client, sport: 80, dport: 8001 }).subarray(0, 28);
    const frame = eth({ type: ETH_P_IP }, ipv4({ src: '203.0.113.1', dst: VIP, proto: PROTO_ICMP }, icmp4Error(3, 4, 1400, quoted)));
    const out = d.run(frame);
    assert.equal(realOf(out), 2);
    assert.deepEqual(out.data, withMacs(frame, macOf(2), DIRECTOR_MAC));
    assert.equal([...d.dp.flows()].length, flowsBefore, 'an ICMP error creates no flow entry');
  });

  it('ICMPv6 packet-too-big quoting a VIP flow goes to that flow\'s real', () => {
    d.vip({ addr: VIP6, port: 443, id: 1, sched: 'rr', table: [4, 5] });
    d.dp.resetCursor(1);
    const client = '2001:db8:ff::7';
    assert.equal(realOf(d.run(flowFrame({ client, server: VIP6, sport: 9000, dport: 443 }))), 4);
    assert.equal(realOf(d.run(flowFrame({ client, server: VIP6, sport: 9001, dport: 443 }))), 5);
    const quoted = flowIp({ client: VIP6, server: client, sport: 443, dport: 9001 }).subarray(0, 48);
    const frame = eth(
      { type: ETH_P_IPV6 },
      ipv6({ src: '2001:db8:1::1', dst: VIP6, next: PROTO_ICMPV6 }, icmp6Error(2, 0, 1280, quoted, '2001:db8:1::1', VIP6)),
    );
    const out = d.run(frame);
    assert.equal(realOf(out), 5);
    assert.deepEqual(out.data, withMacs(frame, macOf(5), DIRECTOR_MAC));
  });

  it('ICMP errors quoting a non-VIP flow, and echo requests to a VIP, pass to the kernel', () => {
    d.vip({ addr: VIP, port: 80, id: 1, table: [1] });
    const quoted = flowIp({ client: '192.0.2.99', server: '198.51.100.7', sport: 22, dport: 5000 }).subarray(0, 28);
    const err = eth({ type: ETH_P_IP }, ipv4({ src: '203.0.113.1', dst: '192.0.2.99', proto: PROTO_ICMP }, icmp4Error(3, 4, 1400, quoted)));
    const r1 = d.run(err);
    assert.equal(r1.verdict, Verdict.PASS);
    assert.deepEqual(r1.data, err);
    assert.equal(d.dp.verdicts()[Reason.XDPVS_R_PASS_ICMP]?.packets, 1n);
  });
});
