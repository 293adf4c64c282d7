// One VRRP instance against a fake host on a fake clock: what it does to the
// interface (VIPs, announcements) as the protocol moves it.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { VrrpRunner } from '../../agent/vrrp/instance';
import { decodeAdvert, VRRP_MCAST4 } from '../../agent/vrrp/packet';
import { FakeClock } from '../support/clock';
import { FakeHost, hear, runnerDeps, started, stopped, vrrpInstance } from '../support/vrrp-host';
import { parseAddr } from '../../agent/net/addr';

describe('VRRP instance on the host', () => {
  let stateDir: string;
  before(() => (stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-vrrp-inst-'))));
  after(() => fs.rmSync(stateDir, { recursive: true, force: true }));

  it('start, takeover and stop: a BACKUP that hears nobody becomes MASTER after Master_Down_Interval, adverts every advert_int, yields to a better master, and leaves with priority 0', async () => {
    const clock = new FakeClock();
    const host = new FakeHost(clock);
    const inst = vrrpInstance({ priority: 100 });
    const r = new VrrpRunner(inst, runnerDeps(clock, host, stateDir));
    await started(r, clock);
    assert.equal(r.state, 'BACKUP');
    const adverts = (): number[] => host.sockets.flatMap((x) => x.sent).map((x) => x.data[2]!); // VRRP's priority byte
    // Master_Down_Interval = 3 * 1 s + Skew_Time ((256 - 100) / 256 s)
    await clock.advance(3_500);
    assert.equal(r.state, 'BACKUP', 'not before Master_Down_Interval');
    assert.deepEqual(adverts(), []);
    await clock.advance(200);
    assert.equal(r.state, 'MASTER');
    await clock.advance(3_000);
    assert.ok(adverts().length >= 3 && adverts().length <= 5, `${adverts().length} adverts in about 3 s`);
    assert.ok(adverts().every((p) => p === 100));
    assert.deepEqual(host.vips, ['198.18.1.100/32', '198.18.1.101/32', '198.18.1.102/32']);
    // a better master takes over: BACKUP at once, the VIPs go
    hear(host, inst, '198.18.0.2', 200);
    assert.equal(r.state, 'BACKUP');
    await clock.advance(100);
    assert.deepEqual(host.vips, []);
    // it leaves (priority 0): this one takes over after Skew_Time, not Master_Down_Interval
    hear(host, inst, '198.18.0.2', 0);
    await clock.advance(700);
    assert.equal(r.state, 'MASTER');
    const sentBeforeStop = adverts().length;
    await stopped(r, clock);
    assert.equal(adverts().slice(sentBeforeStop).at(-1), 0, 'the last advert of a stopping master has priority 0');
    assert.deepEqual(host.vips, []);
    assert.ok(host.sockets.every((x) => x.closed), 'every socket closed');
  });

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
      virtualAddresses: [{ addr: parseAddr('2001:db8:0:1::100'), prefix: 64, loc: { file: 'k.conf', line: 5 } }],
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

  it('virtual_ipaddress_excluded: added and removed with the state (IPv6 ones nodad, deprecated) and announced, but not carried in adverts', async () => {
    const clock = new FakeClock();
    const host = new FakeHost(clock);
    const inst = vrrpInstance({
      initialState: 'MASTER',
      virtualAddresses: [{ addr: parseAddr('198.18.1.100'), prefix: 32, loc: { file: 'k.conf', line: 5 } }],
      excludedAddresses: [
        { addr: parseAddr('198.18.2.1'), prefix: 24, loc: { file: 'k.conf', line: 8 } },
        { addr: parseAddr('2001:db8:1::100'), prefix: 64, dev: 'eth1', loc: { file: 'k.conf', line: 9 } },
      ],
    });
    const r = new VrrpRunner(inst, runnerDeps(clock, host, stateDir));
    await started(r, clock);
    await clock.advance(100);
    assert.equal(r.state, 'MASTER');
    assert.deepEqual(host.vips, ['198.18.1.100/32', '198.18.2.1/24', '2001:db8:1::100/64']);
    const v6 = host.table.get('2001:db8:1::100/64 eth1');
    assert.ok(v6?.includes('nodad') && v6.includes('preferred_lft'), `ip ${v6?.join(' ')}`);
    const tx = host.sockets.find((x) => x.bound !== undefined)!;
    const advert = decodeAdvert(tx.sent.at(-1)!.data, { ttl: 255, src: '198.18.0.1', dst: VRRP_MCAST4 }, { family: 'inet', version: 3, vrid: 51, advertIntCs: 100 });
    assert.ok(advert.ok);
    assert.deepEqual(advert.advert.addresses, ['198.18.1.100'], 'the adverts carry only virtual_ipaddress');
    // announced: ARP for the IPv4 ones on eth0, an NA (ethertype 86dd) for the IPv6 one on its own dev
    assert.ok(host.frames.some((f) => f.dev === 'eth0' && f.frame.subarray(28, 32).equals(Buffer.from([198, 18, 2, 1]))), 'ARP for 198.18.2.1');
    assert.ok(host.frames.some((f) => f.dev === 'eth1' && f.frame.readUInt16BE(12) === 0x86dd), 'NA for 2001:db8:1::100');
    hear(host, inst, '198.18.0.2', 200);
    await clock.advance(100);
    assert.equal(r.state, 'BACKUP');
    assert.deepEqual(host.vips, [], 'a BACKUP holds none of them');
    await stopped(r, clock);
  });
});
