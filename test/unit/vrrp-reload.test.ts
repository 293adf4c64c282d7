// What a reload does to running VRRP instances (VrrpSupervisor.apply) on a
// fake host and clock: keepalived keeps state across a reload, so a change
// the protocol allows is applied in place, without a transition.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { emptyConfig, type Config, type VrrpInstance, type VrrpScript } from '../../agent/config/model';
import { VrrpSupervisor } from '../../agent/vrrp/supervisor';
import { decodeAdvert, VRRP_MCAST4 } from '../../agent/vrrp/packet';
import { FakeClock } from '../support/clock';
import { FakeHost, hear, vrrpInstance, whileClockRuns } from '../support/vrrp-host';
import { parseAddr } from '../../agent/net/addr';

const log = pino({ level: 'silent' });

function config(instances: VrrpInstance[], scripts: VrrpScript[] = []): Config {
  return { ...emptyConfig(['k.conf']), vrrpInstances: instances, vrrpScripts: scripts };
}

/** The priorities of the adverts sent so far on the instance's send socket. */
function advertPriorities(host: FakeHost, from = 0): number[] {
  return host.sockets
    .filter((s) => s.bound !== undefined)
    .flatMap((s) => s.sent)
    .slice(from)
    .map((m) => {
      const d = decodeAdvert(m.data, { ttl: 255, src: '198.18.0.1', dst: VRRP_MCAST4 }, { family: 'inet', version: 3, vrid: m.data[1]!, advertIntCs: 100 });
      assert.ok(d.ok);
      return d.advert.priority;
    });
}

function sentCount(host: FakeHost): number {
  return host.sockets.filter((s) => s.bound !== undefined).reduce((n, s) => n + s.sent.length, 0);
}

describe('VRRP reload in place', () => {
  let stateDir: string;
  before(() => (stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-vrrp-reload-'))));
  after(() => fs.rmSync(stateDir, { recursive: true, force: true }));

  const setup = async (inst: VrrpInstance, scripts: VrrpScript[] = [], checkScript?: (c: string) => Promise<boolean>) => {
    const clock = new FakeClock();
    const host = new FakeHost(clock);
    const notified: string[] = [];
    const sup = new VrrpSupervisor({ clock, log, host, stateDir, runScript: (c) => c && notified.push(c), ...(checkScript ? { checkScript } : {}) });
    await whileClockRuns(clock, sup.apply(config([inst], scripts)));
    await clock.advance(5_000); // master-down: it becomes MASTER
    return { clock, host, sup, notified };
  };

  it('adding a VIP and changing notify, priority, advert_int, preempt and garp: no transition, no priority 0; the new VIP is added and announced', async () => {
    const inst = vrrpInstance({ notifyMaster: '/bin/old-master' });
    const { clock, host, sup, notified } = await setup(inst);
    assert.equal(sup.status()[0]!.state, 'MASTER');
    const transitions = sup.status()[0]!.counters.transitions;
    const sent = sentCount(host);
    const frames = host.frames.length;
    const more = { addr: parseAddr('198.18.1.103'), prefix: 32, loc: { file: 'k.conf', line: 8 } };
    const edited = vrrpInstance({ notifyMaster: '/bin/new-master', priority: 120, advertInt: 2, nopreempt: true, garpMasterRepeat: 2, virtualAddresses: [...inst.virtualAddresses, more] });
    await whileClockRuns(clock, sup.apply(config([edited])));
    await clock.advance(10_000);
    const st = sup.status()[0]!;
    assert.equal(st.state, 'MASTER', 'still MASTER');
    assert.equal(st.counters.transitions, transitions, 'no transition');
    assert.ok(!advertPriorities(host, sent).includes(0), 'no priority-0 advert (no handover)');
    assert.equal(st.priority, 120, 'the new priority is in force');
    assert.ok(advertPriorities(host, sent).every((p) => p === 120));
    assert.deepEqual(host.vips, ['198.18.1.100/32', '198.18.1.101/32', '198.18.1.102/32', '198.18.1.103/32']);
    const announced = host.frames.slice(frames);
    assert.ok(announced.length >= 2 && announced.every((f) => f.frame.subarray(28, 32).equals(Buffer.from([198, 18, 1, 103]))), 'only the new VIP is announced');
    // the new advert interval: 2 s between adverts
    const before = sentCount(host);
    await clock.advance(10_000);
    assert.equal(sentCount(host) - before, 5);
    // the new notify path is the one run on the next transition
    hear(host, edited, '198.18.0.2', 200);
    await clock.advance(100);
    assert.equal(sup.status()[0]!.state, 'BACKUP');
    await clock.advance(10_000); // master-down: MASTER again
    assert.ok(notified.includes('/bin/new-master') && notified.filter((n) => n === '/bin/old-master').length === 1);
    await whileClockRuns(clock, sup.stop(true));
  });

  it('removing a VIP from a MASTER removes it from the host, with no transition', async () => {
    const inst = vrrpInstance();
    const { clock, host, sup } = await setup(inst);
    const transitions = sup.status()[0]!.counters.transitions;
    await whileClockRuns(clock, sup.apply(config([vrrpInstance({ virtualAddresses: inst.virtualAddresses.slice(0, 2) })])));
    assert.deepEqual(host.vips, ['198.18.1.100/32', '198.18.1.101/32']);
    assert.equal(sup.status()[0]!.counters.transitions, transitions);
    await whileClockRuns(clock, sup.stop(true));
  });

  it('changing virtual_router_id restarts the instance (priority 0 first)', async () => {
    const inst = vrrpInstance();
    const { clock, host, sup } = await setup(inst);
    const sent = sentCount(host);
    await whileClockRuns(clock, sup.apply(config([vrrpInstance({ virtualRouterId: 52 })])));
    assert.ok(advertPriorities(host, sent).includes(0), 'the old instance handed over');
    await whileClockRuns(clock, sup.stop(true));
  });

  it('editing a vrrp_script keeps tracking it in an instance that did not change: its failure still lowers the priority', async () => {
    let ok = true;
    const chk: VrrpScript = { name: 'chk', script: 'check-a', interval: 1, weight: -60, reverse: false, rise: 1, fall: 1, initFail: false, loc: { file: 'k.conf', line: 1 } };
    const inst = vrrpInstance({ priority: 150, trackScripts: [{ name: 'chk', reverse: false, loc: { file: 'k.conf', line: 9 } }] });
    const { clock, sup } = await setup(inst, [chk], async () => ok);
    assert.equal(sup.status()[0]!.priority, 150);
    await whileClockRuns(clock, sup.apply(config([inst], [{ ...chk, script: 'check-b', interval: 2 }])));
    ok = false;
    await clock.advance(5_000);
    assert.equal(sup.status()[0]!.priority, 90, 'the edited script failing lowers the priority (150 - 60)');
    ok = true;
    await clock.advance(5_000);
    assert.equal(sup.status()[0]!.priority, 150, 'and its recovery raises it again');
    await whileClockRuns(clock, sup.stop(true));
  });

  it('a change to unicast peers whose sockets cannot be opened fails the reload and leaves the running instance as it was', async () => {
    const inst = vrrpInstance();
    const { clock, host, sup } = await setup(inst);
    const open = host.openSocket.bind(host);
    host.openSocket = () => {
      throw new Error('open raw IPv4 socket: operation not permitted');
    };
    await assert.rejects(whileClockRuns(clock, sup.apply(config([vrrpInstance({ unicastPeers: [parseAddr('198.18.0.2')] })]))), /operation not permitted/);
    host.openSocket = open;
    const st = sup.status()[0]!;
    assert.equal(st.state, 'MASTER');
    assert.deepEqual(sup.status().map((s) => s.name), ['VI_1']);
    const before = sentCount(host);
    await clock.advance(3_000);
    assert.ok(sentCount(host) - before >= 2, 'still advertising on its old sockets');
    assert.ok(host.sockets.slice(0, 2).every((s) => !s.closed));
    await whileClockRuns(clock, sup.stop(true));
  });

  it('editing a vrrp_script that is down keeps it down across the reload (no flap up while the edited script has not run yet)', async () => {
    let ok = false;
    const chk: VrrpScript = { name: 'chk', script: 'check-a', interval: 1, weight: -60, reverse: false, rise: 2, fall: 2, initFail: false, loc: { file: 'k.conf', line: 1 } };
    const inst = vrrpInstance({ priority: 150, trackScripts: [{ name: 'chk', reverse: false, loc: { file: 'k.conf', line: 9 } }] });
    const { clock, sup } = await setup(inst, [chk], async () => ok);
    assert.equal(sup.status()[0]!.priority, 90);
    const priorities: number[] = [];
    const p = sup.apply(config([inst], [{ ...chk, interval: 3 }]));
    for (let n = 0; n < 2000; n++) {
      await clock.advance(1);
      priorities.push(sup.status()[0]!.priority);
    }
    await p;
    assert.deepEqual([...new Set(priorities)], [90], 'the priority never went back up');
    ok = true;
    await clock.advance(10_000);
    assert.equal(sup.status()[0]!.priority, 150, 'up again after rise successes of the edited script');
    await whileClockRuns(clock, sup.stop(true));
  });
});
