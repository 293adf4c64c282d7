// vrrp_sync_group on a fake clock: two directors, each running the same
// group of real state machines, adverts carried per VRID by a fake LAN.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { VrrpMachine, type VrrpState } from '../../agent/vrrp/machine';
import { SyncGroups, type GroupMember } from '../../agent/vrrp/syncgroup';
import { FakeClock } from '../support/clock';

class Lan {
  readonly clock = new FakeClock();
  readonly directors: Director[] = [];
  /** every transition: [director, instance, state, imposed by the group] */
  readonly log: [string, string, VrrpState, boolean][] = [];

  send(from: Director, name: string, priority: number): void {
    for (const d of this.directors) {
      if (d !== from) this.clock.setTimer(0, () => d.m(name).receive(priority, 100, from.addr));
    }
  }
}

class Director {
  private readonly machines = new Map<string, VrrpMachine>();
  private readonly own = new Map<string, string | undefined>();
  private readonly imposed = new Map<string, string | undefined>();
  readonly groups: SyncGroups;

  constructor(
    readonly lan: Lan,
    readonly addr: string,
    priorities: Record<string, number>,
  ) {
    const names = Object.keys(priorities);
    this.groups = new SyncGroups([{ name: 'G', group: names }], (n) => this.member(n), (fn) => void lan.clock.setTimer(0, fn));
    for (const name of names) {
      let last: VrrpState = 'INIT';
      const m = new VrrpMachine({ version: 3, priority: priorities[name]!, advertIntCs: 100, preempt: true, preemptDelay: 0, primaryAddr: addr }, lan.clock, {
        sendAdvert: (p) => lan.send(this, name, p),
        becomeMaster: () => {},
        releaseMaster: () => {},
        stateChanged: (s, _reason, byGroup) => {
          lan.log.push([addr, name, s, byGroup]);
          if (!byGroup) this.groups.ownState(name, last, s);
          last = s;
        },
        mayBecomeMaster: () => this.groups.mayBecomeMaster(name),
      });
      this.machines.set(name, m);
    }
    lan.directors.push(this);
  }

  m(name: string): VrrpMachine {
    return this.machines.get(name)!;
  }

  private member(name: string): GroupMember | undefined {
    const m = this.machines.get(name);
    if (!m) return undefined;
    const apply = (): void => {
      const reason = this.own.get(name) ?? this.imposed.get(name);
      m.setFault(reason !== undefined, reason ?? 'up');
    };
    return {
      state: m.state,
      wantsMaster: m.wantsMaster,
      ownFaulted: this.own.get(name) !== undefined,
      groupMaster: (r) => m.groupMaster(r),
      groupBackup: (r) => m.groupBackup(r),
      setGroupFault: (r) => {
        this.imposed.set(name, r);
        apply();
      },
    };
  }

  /** A member's own tracking faults (or recovers). */
  fault(name: string, reason: string | undefined): void {
    this.own.set(name, reason);
    const m = this.machines.get(name)!;
    m.setFault(reason !== undefined || this.imposed.get(name) !== undefined, reason ?? 'up');
    this.groups.ownFault(name);
  }

  start(): void {
    for (const m of this.machines.values()) m.start();
  }

  states(): string {
    return [...this.machines].map(([n, m]) => `${n}=${m.state}`).join(' ');
  }
}

function pair(d0: Record<string, number>, d1: Record<string, number>): [Lan, Director, Director] {
  const lan = new Lan();
  const a = new Director(lan, '10.0.0.1', d0);
  const b = new Director(lan, '10.0.0.2', d1);
  a.start();
  b.start();
  return [lan, a, b];
}

describe('vrrp_sync_group', () => {
  it('starts as one: the better director takes the whole group', async () => {
    const [lan, d0, d1] = pair({ VI_1: 150, VI_2: 150 }, { VI_1: 100, VI_2: 100 });
    await lan.clock.advance(10_000);
    assert.deepEqual([d0.states(), d1.states()], ['VI_1=MASTER VI_2=MASTER', 'VI_1=BACKUP VI_2=BACKUP']);
    // the first member whose timer ran out waited for the second, which then brought it along
    assert.deepEqual(lan.log.filter(([d, , s]) => d === '10.0.0.1' && s === 'MASTER').map(([, n, , g]) => [n, g]), [['VI_2', false], ['VI_1', true]]);
  });

  it("a weight drop on every member (the group's own track_script) moves the group to the better director, and back", async () => {
    const [lan, d0, d1] = pair({ VI_1: 150, VI_2: 150 }, { VI_1: 100, VI_2: 100 });
    await lan.clock.advance(10_000);
    d0.m('VI_1').setPriority(90);
    d0.m('VI_2').setPriority(90);
    await lan.clock.advance(10_000);
    assert.deepEqual([d0.states(), d1.states()], ['VI_1=BACKUP VI_2=BACKUP', 'VI_1=MASTER VI_2=MASTER']);
    d0.m('VI_1').setPriority(150);
    d0.m('VI_2').setPriority(150);
    await lan.clock.advance(10_000);
    assert.deepEqual([d0.states(), d1.states()], ['VI_1=MASTER VI_2=MASTER', 'VI_1=BACKUP VI_2=BACKUP']);
    const settled = lan.log.length;
    await lan.clock.advance(30_000);
    assert.equal(lan.log.length, settled, 'and stays');
  });

  it('two members demoted on their own at the same moment do not lock the group in BACKUP', async () => {
    // the race that a "held in BACKUP" flag lost: each demoted member held the other
    const [lan, d0, d1] = pair({ VI_1: 150, VI_2: 150 }, { VI_1: 100, VI_2: 100 });
    await lan.clock.advance(10_000);
    d0.m('VI_1').setPriority(90);
    d0.m('VI_2').setPriority(90);
    // both better adverts arrive before either demotion's group reaction runs
    d0.m('VI_1').receive(100, 100, d1.addr);
    d0.m('VI_2').receive(100, 100, d1.addr);
    assert.equal(d0.states(), 'VI_1=BACKUP VI_2=BACKUP');
    await lan.clock.advance(10_000);
    assert.equal(d1.states(), 'VI_1=MASTER VI_2=MASTER');
    d0.m('VI_1').setPriority(150);
    d0.m('VI_2').setPriority(150);
    await lan.clock.advance(10_000);
    assert.deepEqual([d0.states(), d1.states()], ['VI_1=MASTER VI_2=MASTER', 'VI_1=BACKUP VI_2=BACKUP']);
  });

  it('members that would win on different directors stay where the group is instead of re-electing', async () => {
    // what sync_group_tracking_weight allows: only VI_1 loses weight on d0
    const [lan, d0, d1] = pair({ VI_1: 150, VI_2: 150 }, { VI_1: 100, VI_2: 100 });
    await lan.clock.advance(10_000);
    const before = lan.log.length;
    d0.m('VI_1').setPriority(90);
    await lan.clock.advance(30_000);
    assert.deepEqual([d0.states(), d1.states()], ['VI_1=MASTER VI_2=MASTER', 'VI_1=BACKUP VI_2=BACKUP']);
    assert.equal(lan.log.length, before, 'no transition anywhere');
    assert.equal(d1.m('VI_1').wantsMaster, true, "d1's VI_1 wants MASTER; its VI_2 hears a better master");
    assert.equal(d1.m('VI_2').wantsMaster, false);
  });

  it('a member in FAULT takes the group to FAULT; it leaves FAULT when no member is faulted', async () => {
    const [lan, d0, d1] = pair({ out: 150, in: 150, mgmt: 150 }, { out: 100, in: 100, mgmt: 100 });
    await lan.clock.advance(10_000);
    d0.fault('out', 'script chk is down');
    await lan.clock.advance(100);
    assert.equal(d0.states(), 'out=FAULT in=FAULT mgmt=FAULT');
    await lan.clock.advance(2_000);
    assert.equal(d1.states(), 'out=MASTER in=MASTER mgmt=MASTER', 'priority 0 from the faulting master: taken over after Skew_Time');
    d0.fault('in', 'interface eth1 is down');
    d0.fault('out', undefined);
    await lan.clock.advance(10_000);
    assert.equal(d0.states(), 'out=FAULT in=FAULT mgmt=FAULT', "in's own fault keeps the group down");
    d0.fault('in', undefined);
    await lan.clock.advance(10_000);
    assert.deepEqual([d0.states(), d1.states()], ['out=MASTER in=MASTER mgmt=MASTER', 'out=BACKUP in=BACKUP mgmt=BACKUP']);
  });

  it('instances outside any group are left alone', () => {
    const g = new SyncGroups([], () => assert.fail('no member is looked up'));
    g.ownFault('solo');
    g.ownState('solo', 'BACKUP', 'MASTER');
    assert.equal(g.mayBecomeMaster('solo'), true);
    assert.equal(g.groupName('solo'), undefined);
  });
});
