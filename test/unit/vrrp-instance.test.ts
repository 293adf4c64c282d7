// One VRRP instance against a fake host on a fake clock: what it does to the
// interface (VIPs, announcements) as the protocol moves it.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import type { VrrpInstance } from '../../agent/config/model';
import { VrrpRunner, type RunnerDeps } from '../../agent/vrrp/instance';
import { encodeAdvert, VRRP_MCAST4, VRRP_MCAST6 } from '../../agent/vrrp/packet';
import { FakeClock } from '../support/clock';
import { FakeHost } from '../support/vrrp-host';

const log = pino({ level: 'silent' });

export function vrrpInstance(o: Partial<VrrpInstance> = {}): VrrpInstance {
  return {
    name: 'VI_1',
    initialState: 'BACKUP',
    interface: 'eth0',
    virtualRouterId: 51,
    priority: 100,
    advertInt: 1,
    version: 3,
    family: 'inet',
    virtualAddresses: [
      { addr: '198.18.1.100', prefix: 32, loc: { file: 'k.conf', line: 5 } },
      { addr: '198.18.1.101', prefix: 32, loc: { file: 'k.conf', line: 6 } },
      { addr: '198.18.1.102', prefix: 32, loc: { file: 'k.conf', line: 7 } },
    ],
    excludedAddresses: [],
    nopreempt: false,
    preemptDelay: 0,
    trackInterfaces: [],
    trackScripts: [],
    unicastPeers: [],
    garpMasterDelay: 5,
    garpMasterRepeat: 5,
    v3ChecksumAsV2: false,
    referenceFall: 3,
    loc: { file: 'k.conf', line: 1 },
    ...o,
  };
}

/** An advert from `src` as the wire carries it, delivered to the runner's receive socket. */
export function hear(host: FakeHost, inst: VrrpInstance, src: string, priority: number): void {
  const dst = inst.family === 'inet' ? VRRP_MCAST4 : VRRP_MCAST6;
  const data = encodeAdvert({ version: inst.version, vrid: inst.virtualRouterId, priority, advertIntCs: Math.round(inst.advertInt * 100), addresses: inst.virtualAddresses.map((a) => a.addr) }, inst.family, src, dst);
  host.rx().deliver({ data, src, dst, ttl: 255 });
}

export function runnerDeps(clock: FakeClock, host: FakeHost, stateDir: string, extra: Partial<RunnerDeps> = {}): RunnerDeps {
  return { clock, log, host, stateDir, scripts: new Map(), runScript: () => undefined, ...extra };
}

/** Starts a runner, letting the fake clock run while it releases stale VIPs. */
export async function started(r: VrrpRunner, clock: FakeClock): Promise<void> {
  let done = false;
  const p = r.start().finally(() => (done = true));
  for (let n = 0; n < 1000 && !done; n++) await clock.advance(1);
  await p;
}

/** Stops a runner (priority 0, VIPs removed), letting the fake clock run meanwhile. */
export async function stopped(r: VrrpRunner, clock: FakeClock): Promise<void> {
  const p = r.stop();
  await clock.advance(100);
  await p;
}

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
});
