// One VRRP instance against a fake host on a fake clock: what it does to the
// interface (VIPs, announcements) as the protocol moves it.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { VrrpRunner } from '../../agent/vrrp/instance';
import { FakeClock } from '../support/clock';
import { FakeHost, hear, runnerDeps, started, stopped, vrrpInstance } from '../support/vrrp-host';

describe('VRRP instance on the host', () => {
  let stateDir: string;
  before(() => (stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-vrrp-inst-'))));
  after(() => fs.rmSync(stateDir, { recursive: true, force: true }));

  it('MASTER -> BACKUP in the middle of adding the VIPs: a later state wins, no VIP stays, no announcement from a backup', async () => {
    const clock = new FakeClock();
    const host = new FakeHost(clock);
    const inst = vrrpInstance({ initialState: 'MASTER' });
    const r = new VrrpRunner(inst, runnerDeps(clock, host, stateDir));
    await started(r, clock);
    assert.equal(r.state, 'MASTER');
    // the first `ip addr add` is under way; a better master is heard
    await clock.advance(5);
    hear(host, inst, '198.18.0.2', 200);
    assert.equal(r.state, 'BACKUP');
    await clock.advance(1_000); // less than Master_Down_Interval: still BACKUP
    assert.equal(r.state, 'BACKUP');
    assert.deepEqual(host.vips, [], 'a BACKUP holds no VIP');
    assert.deepEqual(host.frames, [], 'no gratuitous ARP from a BACKUP');
    await stopped(r, clock);
  });

  it('BACKUP -> MASTER -> BACKUP -> MASTER in quick succession ends with every VIP, announced once settled', async () => {
    const clock = new FakeClock();
    const host = new FakeHost(clock);
    const inst = vrrpInstance({ initialState: 'MASTER' });
    const r = new VrrpRunner(inst, runnerDeps(clock, host, stateDir));
    await started(r, clock);
    await clock.advance(5);
    hear(host, inst, '198.18.0.2', 200); // BACKUP
    await clock.advance(3);
    hear(host, inst, '198.18.0.2', 0); // the master leaves: MASTER after Skew_Time
    await clock.advance(2_000);
    assert.equal(r.state, 'MASTER');
    assert.deepEqual(host.vips, ['198.18.1.100/32', '198.18.1.101/32', '198.18.1.102/32']);
    const firstBurst = host.frames.filter((f) => f.at === host.frames[0]!.at);
    assert.equal(firstBurst.length, 3 * inst.garpMasterRepeat, 'one burst per VIP, after the last was added');
    await stopped(r, clock);
    assert.deepEqual(host.vips, []);
  });

  it('IPv6 VIPs are added with nodad and deprecated (preferred_lft 0): no DAD delay on takeover, never the source of the director\'s own traffic', async () => {
    const clock = new FakeClock();
    const host = new FakeHost(clock);
    const inst = vrrpInstance({
      initialState: 'MASTER',
      family: 'inet6',
      virtualAddresses: [{ addr: '2001:db8:0:1::100', prefix: 64, loc: { file: 'k.conf', line: 5 } }],
    });
    const r = new VrrpRunner(inst, runnerDeps(clock, host, stateDir));
    await started(r, clock);
    await clock.advance(100);
    const add = [...host.table.values()][0];
    assert.ok(add, 'the VIP is added');
    assert.deepEqual(add.slice(0, 5), ['addr', 'add', '2001:db8:0:1::100/64', 'dev', 'eth0']);
    assert.ok(add.includes('nodad'), `added without nodad: ip ${add.join(' ')}`);
    assert.deepEqual(add.slice(add.indexOf('preferred_lft'), add.indexOf('preferred_lft') + 2), ['preferred_lft', '0'], `added as a preferred address: ip ${add.join(' ')}`);
    await stopped(r, clock);
  });

  it('track_interface polling for a day holds a constant number of timers, and still sees the link go down', async () => {
    const clock = new FakeClock();
    const host = new FakeHost(clock);
    const inst = vrrpInstance({ trackInterfaces: [{ name: 'eth1', weight: -60, reverse: false, loc: { file: 'k.conf', line: 9 } }] });
    const r = new VrrpRunner(inst, runnerDeps(clock, host, stateDir));
    await started(r, clock);
    await clock.advance(5_000);
    const early = r.timerHandles;
    for (let h = 0; h < 24; h++) await clock.advance(3_600_000);
    assert.ok(r.timerHandles <= Math.max(early, 2), `timer handles after a day: ${r.timerHandles} (after 5 s: ${early})`);
    host.links.set('eth1', false);
    await clock.advance(1_500);
    assert.equal(r.priority, 40, 'the poll still runs: 100 - 60 while eth1 is down');
    await stopped(r, clock);
  });

  it('a v3 advert with a 0 interval is dropped (counted as "interval"): the backup keeps the interval it had and does not flap', async () => {
    const clock = new FakeClock();
    const host = new FakeHost(clock);
    const inst = vrrpInstance();
    const r = new VrrpRunner(inst, runnerDeps(clock, host, stateDir));
    await started(r, clock);
    hear(host, inst, '198.18.0.2', 200);
    assert.equal(r.state, 'BACKUP');
    for (let n = 0; n < 20; n++) {
      hear(host, inst, '198.18.0.2', 200, 0);
      await clock.advance(100);
    }
    assert.equal(r.state, 'BACKUP', 'no takeover while the master adverts (if only with a 0 interval)');
    assert.equal(r.counters.transitions, 1, 'INIT -> BACKUP only');
    assert.equal(r.counters.dropped.interval, 20);
    await stopped(r, clock);
  });
});
