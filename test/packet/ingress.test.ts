// Which frames the director forwards: only those addressed to the ingress
// interface's own MAC, and always with that MAC as the new source. A frame
// sent to broadcast or multicast, or another host's frame seen in promiscuous
// mode, goes to the kernel untouched and is counted pass_not_local.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Reason } from '../../agent/dataplane/abi';
import { packetDeltas, onlyOne } from '../support/counters';
import { DIRECTOR_MAC, REAL_MAC, TEST_IFINDEX, TestDirector, Verdict, basicDirector } from '../support/director';
import { flowFrame, withMacs, type FlowSpec } from '../support/packet';
import { pinToOneCpu } from '../support/cpu';
import { requireRoot } from '../support/root';

const NOT_OURS: { what: string; mac: string }[] = [
  { what: 'broadcast', mac: 'ff:ff:ff:ff:ff:ff' },
  { what: 'IPv4 multicast', mac: '01:00:5e:00:00:12' },
  { what: 'IPv6 multicast', mac: '33:33:00:00:00:01' },
  { what: "another host's unicast (promiscuous mode)", mac: '02:00:00:00:00:99' },
];

describe('director ingress: frames addressed to the interface only', () => {
  let d: TestDirector;

  before(() => {
    requireRoot('packet');
    pinToOneCpu();
    d = basicDirector()
      .vip({ addr: '192.0.2.20', port: 80, id: 4, table: [1], sched: 'rr', persist: 60 });
  });
  after(() => d?.close());

  const flows: { kind: string; flow: FlowSpec; vipId: number }[] = [
    { kind: 'DR IPv4', flow: { client: '198.51.100.7', server: '192.0.2.10', sport: 41000, dport: 80 }, vipId: 1 },
    { kind: 'TUN IPv4', flow: { client: '198.51.100.7', server: '192.0.2.11', sport: 41000, dport: 80 }, vipId: 2 },
    { kind: 'DR IPv6', flow: { client: '2001:db8:ff::7', server: '2001:db8::10', sport: 41000, dport: 80 }, vipId: 3 },
    { kind: 'persistent DR', flow: { client: '198.51.100.9', server: '192.0.2.20', sport: 41000, dport: 80 }, vipId: 4 },
  ];

  for (const { what, mac } of NOT_OURS) {
    for (const { kind, flow, vipId } of flows) {
      it(`${kind} in a frame to ${what} passes to the kernel unchanged, counted pass_not_local, no entry made`, () => {
        const frame = flowFrame({ ...flow, dstMac: mac });
        const flowsBefore = [...d.dp.flows()].length;
        const vipBefore = d.dp.vipStats(vipId).packets;
        const before = d.dp.verdicts();
        const r = d.run(frame);
        assert.equal(r.verdict, Verdict.PASS, `verdict for a frame to ${mac}`);
        assert.deepEqual(r.data, frame, 'a passed frame is unchanged');
        assert.deepEqual(packetDeltas(before, d.dp.verdicts()), onlyOne(Reason.XDPVS_R_PASS_NOT_LOCAL, Reason.XDPVS_R_MAX));
        assert.equal([...d.dp.flows()].length, flowsBefore, 'no connection or persistence entry for a frame not ours');
        assert.equal(d.dp.vipStats(vipId).packets, vipBefore);
      });
    }
  }

  it("a frame to our MAC is forwarded with the interface's MAC as source, whatever the client's MAC", () => {
    const f: FlowSpec = { client: '198.51.100.7', server: '192.0.2.10', sport: 41001, dport: 80, srcMac: '02:00:00:00:00:bb' };
    const r = d.run(flowFrame(f));
    assert.equal(r.verdict, Verdict.TX);
    assert.deepEqual(r.data, withMacs(flowFrame(f), REAL_MAC, DIRECTOR_MAC));
  });

  it("an interface whose slot another interface holds is found in ifaces: its frames are forwarded with its own MAC", () => {
    const other = new TestDirector().real(1, { addr: '10.0.1.1', mac: REAL_MAC, method: 'dr' }).vip({ addr: '192.0.2.10', port: 80, id: 1, table: [1] });
    try {
      // ifindex 65 takes the slot of ifindex 1 (65 & 63 = 1) while 1 is away, and keeps it when 1 returns
      other.dp.deleteInterface(TEST_IFINDEX);
      other.dp.setInterface(TEST_IFINDEX + 64, Buffer.from([2, 0, 0, 0, 0, 0x65]));
      other.dp.setInterface(TEST_IFINDEX, Buffer.from(DIRECTOR_MAC.split(':').map((x) => parseInt(x, 16))));
      assert.equal(other.dp.interfaceSlot(TEST_IFINDEX).ifindex, TEST_IFINDEX + 64);
      const f: FlowSpec = { client: '198.51.100.7', server: '192.0.2.10', sport: 41003, dport: 80 };
      const r = other.run(flowFrame(f));
      assert.equal(r.verdict, Verdict.TX);
      assert.deepEqual(r.data, withMacs(flowFrame(f), REAL_MAC, DIRECTOR_MAC));
      // the slot holder's MAC is not ours on ifindex 1
      const theirs = flowFrame({ ...f, sport: 41004, dstMac: '02:00:00:00:00:65' });
      const before = other.dp.verdicts();
      assert.equal(other.run(theirs).verdict, Verdict.PASS);
      assert.deepEqual(packetDeltas(before, other.dp.verdicts()), onlyOne(Reason.XDPVS_R_PASS_NOT_LOCAL, Reason.XDPVS_R_MAX));
      // once the holder is gone, ifindex 1 gets its slot back at its next write
      other.dp.deleteInterface(TEST_IFINDEX + 64);
      assert.equal(other.dp.interfaceSlot(TEST_IFINDEX).ifindex, 0);
      other.dp.setInterface(TEST_IFINDEX, Buffer.from(DIRECTOR_MAC.split(':').map((x) => parseInt(x, 16))));
      assert.equal(other.dp.interfaceSlot(TEST_IFINDEX).ifindex, TEST_IFINDEX);
      assert.equal(other.run(flowFrame({ ...f, sport: 41005 })).verdict, Verdict.TX);
    } finally {
      other.close();
    }
  });

  it('an ingress interface whose MAC the agent did not write drops VIP traffic, counted drop_config', () => {
    const bare = new TestDirector().real(1, { addr: '10.0.1.1', mac: REAL_MAC, method: 'dr' }).vip({ addr: '192.0.2.10', port: 80, id: 1, table: [1] });
    try {
      assert.equal(bare.dp.deleteInterface(TEST_IFINDEX), true);
      assert.equal(bare.dp.interfaceSlot(TEST_IFINDEX).ifindex, 0, 'its slot is cleared too');
      const frame = flowFrame({ client: '198.51.100.7', server: '192.0.2.10', sport: 41002, dport: 80 });
      const before = bare.dp.verdicts();
      const r = bare.run(frame);
      assert.equal(r.verdict, Verdict.DROP);
      assert.deepEqual(r.data, frame);
      assert.deepEqual(packetDeltas(before, bare.dp.verdicts()), onlyOne(Reason.XDPVS_R_DROP_CONFIG, Reason.XDPVS_R_MAX));
      assert.equal([...bare.dp.flows()].length, 0);
    } finally {
      bare.close();
    }
  });
});
