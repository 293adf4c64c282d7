// The bench sink (bpf/sink.bpf.o) on a real server: it counts and drops only
// what the director forwards (IPv4 to the VIP, IPv4-in-IPv4) and passes the
// real's own traffic. It once dropped everything, which on separate machines
// would cut the ssh session the bench reads its counter through.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { BpfObject } from '../../native/index';
import { PROTO_IPIP, PROTO_UDP, ETH_P_IP, arpRequest, eth, flowFrame, flowIp, ipv4 } from '../support/packet';
import { Verdict } from '../support/director';
import { pinToOneCpu } from '../support/cpu';
import { requireRoot } from '../support/root';

const OBJECT = path.join(__dirname, '..', '..', '..', 'bpf', 'build', 'sink.bpf.o');
const VIP = '198.18.1.100';
const REAL = '198.18.0.11';

describe('bench sink', () => {
  let obj: BpfObject;
  const counted = (): number => obj.map('sinkcount').lookupPerCpu(Buffer.alloc(4))!.reduce((n, b) => n + Number(b.readBigUInt64LE(0)), 0);
  const verdict = (frame: Buffer): number => obj.program('xdpvs_sink').testRun(frame).verdict;

  before(() => {
    requireRoot('packet');
    pinToOneCpu();
    obj = BpfObject.open(OBJECT);
    obj.load();
  });
  after(() => obj?.close());

  it('counts nothing before it is given the VIP', () => {
    assert.equal(verdict(flowFrame({ client: '198.18.0.200', server: VIP, sport: 1024, dport: 80, proto: PROTO_UDP })), Verdict.PASS);
    assert.equal(counted(), 0);
  });

  it('drops and counts UDP and TCP to the VIP and every IPIP frame; passes ARP and the real\'s own traffic', () => {
    obj.map('sinkvip').update(Buffer.alloc(4), Buffer.from(VIP.split('.').map(Number)));
    const toVip = flowFrame({ client: '198.18.0.200', server: VIP, sport: 1024, dport: 80, proto: PROTO_UDP });
    const syn = flowFrame({ client: '198.18.7.9', server: VIP, sport: 5555, dport: 80 });
    const tunnelled = eth({ type: ETH_P_IP }, ipv4({ src: '198.18.0.1', dst: REAL, proto: PROTO_IPIP }, flowIp({ client: '198.18.0.200', server: VIP, sport: 1024, dport: 80, proto: PROTO_UDP })));
    const ssh = flowFrame({ client: '198.18.0.1', server: REAL, sport: 40000, dport: 22 });
    const cases: [string, Buffer, number][] = [
      ['UDP to the VIP', toVip, Verdict.DROP],
      ['TCP SYN to the VIP', syn, Verdict.DROP],
      ['IPIP to the real', tunnelled, Verdict.DROP],
      ['ssh to the real', ssh, Verdict.PASS],
      ['ARP', arpRequest(), Verdict.PASS],
      ['IPv6', flowFrame({ client: 'fd00::1', server: 'fd00::2', sport: 1, dport: 80 }), Verdict.PASS],
      ['a truncated IPv4 header', toVip.subarray(0, 14 + 19), Verdict.PASS],
    ];
    for (const [what, frame, want] of cases) assert.equal(verdict(frame), want, what);
    assert.equal(counted(), 3);
  });
});
