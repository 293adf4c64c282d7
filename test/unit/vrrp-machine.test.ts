// The VRRP state machine on a fake clock and a fake LAN: election, takeover
// after Master_Down_Interval, priority 0 handing over after Skew_Time,
// preempt / nopreempt / preempt_delay, ties, tracking, FAULT.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { VrrpMachine, type MachineConfig, type VrrpState } from '../../agent/vrrp/machine';
import { FakeClock } from '../support/clock';

class Lan {
  readonly clock = new FakeClock();
  readonly nodes = new Map<string, { m: VrrpMachine; log: [number, VrrpState][]; muted: boolean; vips: boolean; groupAllows: () => boolean }>();

  add(name: string, cfg: Partial<MachineConfig>): VrrpMachine {
    const node = { m: undefined as unknown as VrrpMachine, log: [] as [number, VrrpState][], muted: false, vips: false, groupAllows: () => true };
    const full: MachineConfig = { version: 3, priority: 100, advertIntCs: 100, preempt: true, preemptDelay: 0, primaryAddr: name, ...cfg };
    node.m = new VrrpMachine(full, this.clock, {
      sendAdvert: (priority) => {
        if (node.muted) return;
        for (const [other, n] of this.nodes) {
          if (other === name) continue;
          this.clock.setTimer(0, () => n.m.receive(priority, full.advertIntCs, name));
        }
      },
      becomeMaster: () => (node.vips = true),
      releaseMaster: () => (node.vips = false),
      stateChanged: (s) => node.log.push([this.clock.now() / 1000, s]),
      mayBecomeMaster: () => node.groupAllows(),
    });
    this.nodes.set(name, node);
    return node.m;
  }

  /** state changes of a node after t seconds, as [seconds, state] */
  changes(name: string, after = 0): [number, VrrpState][] {
    return this.nodes.get(name)!.log.filter(([t]) => t >= after).map(([t, s]) => [Math.round(t * 1000) / 1000, s]);
  }

  masters(): string[] {
    return [...this.nodes].filter(([, n]) => n.m.state === 'MASTER').map(([k]) => k);
  }
}

describe('VRRP state machine', () => {
  it('the higher priority becomes master after its Master_Down_Interval; the other stays backup', async () => {
    const lan = new Lan();
    const a = lan.add('10.0.0.1', { priority: 150 });
    lan.add('10.0.0.2', { priority: 100 });
    a.start();
    lan.nodes.get('10.0.0.2')!.m.start();
    // 3 * 1 s + (256 - 150) / 256 s = 3.414 s
    assert.equal(a.masterDownCs(), 300 + (106 * 100) / 256);
    await lan.clock.advance(10_000);
    assert.deepEqual(lan.changes('10.0.0.1'), [[0, 'BACKUP'], [3.414, 'MASTER']]);
    assert.deepEqual(lan.changes('10.0.0.2'), [[0, 'BACKUP']]);
    assert.equal(lan.nodes.get('10.0.0.1')!.vips, true);
  });

  it('a master that dies silently is replaced after the backup\'s Master_Down_Interval', async () => {
    const lan = new Lan();
    lan.add('10.0.0.1', { priority: 150 }).start();
    lan.add('10.0.0.2', { priority: 100 }).start();
    await lan.clock.advance(5_000);
    lan.nodes.get('10.0.0.1')!.muted = true; // SIGKILL: adverts stop
    // last advert at t=4.414 (master at 3.414, one interval later); takeover 3 + 156/256 s after it
    await lan.clock.advance(10_000);
    assert.deepEqual(lan.changes('10.0.0.2', 1), [[8.023, 'MASTER']]);
  });

  it('a master shutting down sends priority 0: the backup takes over after Skew_Time', async () => {
    const lan = new Lan();
    const a = lan.add('10.0.0.1', { priority: 150 });
    a.start();
    lan.add('10.0.0.2', { priority: 100 }).start();
    await lan.clock.advance(5_000);
    a.stop();
    await lan.clock.advance(2_000);
    // skew = 156/256 s = 0.609 s after t=5
    assert.deepEqual(lan.changes('10.0.0.2', 1), [[5.609, 'MASTER']]);
    assert.deepEqual(lan.changes('10.0.0.1', 4), [[5, 'INIT']]);
    assert.equal(lan.nodes.get('10.0.0.1')!.vips, false);
  });

  it('the old master returning preempts; with nopreempt it stays backup', async () => {
    for (const preempt of [true, false]) {
      const lan = new Lan();
      const a = lan.add('10.0.0.1', { priority: 150, preempt });
      lan.add('10.0.0.2', { priority: 100 }).start();
      await lan.clock.advance(5_000);
      assert.deepEqual(lan.masters(), ['10.0.0.2']);
      a.start();
      await lan.clock.advance(10_000);
      assert.deepEqual(lan.masters(), [preempt ? '10.0.0.1' : '10.0.0.2'], `preempt ${preempt}`);
      if (preempt) assert.deepEqual(lan.changes('10.0.0.1', 5), [[5, 'BACKUP'], [8.414, 'MASTER']]);
    }
  });

  it('preempt_delay holds preemption back that long after start', async () => {
    const lan = new Lan();
    const a = lan.add('10.0.0.1', { priority: 150, preemptDelay: 10 });
    lan.add('10.0.0.2', { priority: 100 }).start();
    await lan.clock.advance(5_000);
    a.start();
    await lan.clock.advance(9_000);
    assert.deepEqual(lan.masters(), ['10.0.0.2'], 'no preemption within 10 s');
    await lan.clock.advance(10_000);
    assert.deepEqual(lan.masters(), ['10.0.0.1']);
    const [[t]] = lan.changes('10.0.0.1', 6);
    assert.ok(t! >= 15 && t! < 19.5, `took over at ${t}`);
  });

  it('equal priorities: the higher primary address wins', async () => {
    const lan = new Lan();
    lan.add('10.0.0.1', {}).start();
    lan.add('10.0.0.9', {}).start();
    await lan.clock.advance(10_000);
    assert.deepEqual(lan.masters(), ['10.0.0.9']);
  });

  it('v3: a backup learns the master\'s advertisement interval for its down timer', async () => {
    const lan = new Lan();
    lan.add('10.0.0.1', { priority: 200, advertIntCs: 50 }).start();
    const b = lan.add('10.0.0.2', { priority: 100, advertIntCs: 100 });
    b.start();
    await lan.clock.advance(3_000);
    assert.equal(b.masterDownCs(), 150 + (156 * 50) / 256);
  });

  it('a master whose priority tracking lowers below a backup\'s is preempted', async () => {
    const lan = new Lan();
    const a = lan.add('10.0.0.1', { priority: 150 });
    a.start();
    lan.add('10.0.0.2', { priority: 120 }).start();
    await lan.clock.advance(5_000);
    a.setPriority(100); // e.g. track_script weight -50 after `fall` failures
    await lan.clock.advance(5_000);
    assert.deepEqual(lan.masters(), ['10.0.0.2']);
  });

  it('FAULT: a master whose tracked interface fails hands over at once and returns as backup', async () => {
    const lan = new Lan();
    const a = lan.add('10.0.0.1', { priority: 150 });
    a.start();
    lan.add('10.0.0.2', { priority: 100 }).start();
    await lan.clock.advance(5_000);
    a.setFault(true, 'eth1 down');
    await lan.clock.advance(1_000);
    assert.equal(a.state, 'FAULT');
    assert.deepEqual(lan.masters(), ['10.0.0.2'], 'taken over after Skew_Time, not the full interval');
    a.setFault(false, 'eth1 up');
    assert.equal(a.state, 'BACKUP');
    await lan.clock.advance(5_000);
    assert.deepEqual(lan.masters(), ['10.0.0.1'], 'then preempts again');
  });

  it('sync group: groupMaster makes a backup master at once; groupBackup sends a master to backup; mayBecomeMaster can keep it there', async () => {
    const lan = new Lan();
    const a = lan.add('10.0.0.1', { priority: 100 });
    lan.add('10.0.0.2', { priority: 150 });
    a.start();
    lan.nodes.get('10.0.0.2')!.m.start();
    await lan.clock.advance(10_000);
    assert.deepEqual(lan.masters(), ['10.0.0.2']);
    a.groupMaster('sync group G: VI_2 is MASTER');
    assert.equal(a.state, 'MASTER');
    // the better peer's next advert sends it back, as without a group
    await lan.clock.advance(2_000);
    assert.deepEqual(lan.masters(), ['10.0.0.2']);
    assert.equal(a.wantsMaster, false, 'a backup hearing a better master does not want MASTER');
    // the peer leaves MASTER by its group, which then keeps it from preempting:
    // A's timer runs out and it takes over; B stays BACKUP, wanting MASTER
    const b = lan.nodes.get('10.0.0.2')!.m;
    let allowed = false;
    lan.nodes.get('10.0.0.2')!.groupAllows = () => allowed;
    b.groupBackup('sync group G: VI_2 is BACKUP');
    assert.equal(b.state, 'BACKUP');
    await lan.clock.advance(10_000);
    assert.deepEqual([lan.masters(), b.wantsMaster], [['10.0.0.1'], true]);
    allowed = true;
    await lan.clock.advance(4_000);
    assert.deepEqual([lan.masters(), b.wantsMaster], [['10.0.0.2'], false]);
  });

  it('the address owner (priority 255) is master at once', async () => {
    const lan = new Lan();
    lan.add('10.0.0.2', { priority: 100 }).start();
    await lan.clock.advance(5_000);
    lan.add('10.0.0.1', { priority: 255 }).start();
    await lan.clock.advance(100);
    assert.deepEqual(lan.masters(), ['10.0.0.1']);
  });
});
