// Desired state and the diff applied to a fake data plane: only what changed
// is written, in an order that never points at something missing.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Config, Service } from '../../agent/config/model';
import { cfg, real, service } from '../support/model';
import { applyDiff, EMPTY_STATE } from '../../agent/reconcile/apply';
import { FakeDataplane } from '../support/fake-dataplane';
import type { Reach } from '../../agent/dataplane/reach';
import { desiredState, realKey, type Inputs, type RealState } from '../../agent/reconcile/desired';
import { assignIds, IdAllocator } from '../../agent/reconcile/ids';
import { parseAddr, parseMac } from '../../agent/net/addr';

class World {
  vipIds = new IdAllocator(0, 511);
  realIds = new IdAllocator(1, 4095);
  states = new Map<string, RealState>();
  reach = new Map<string, Reach>();
  dp = new FakeDataplane();
  prev = EMPTY_STATE;

  constructor(public config: Config) {
    for (let i = 1; i < 10; i++) this.reach.set(`10.0.1.${i}`, { mac: parseMac(`02:00:00:00:01:0${i}`), ifindex: 0 });
  }

  inputs(): Inputs {
    return { config: this.config, states: this.states, reach: this.reach, ids: assignIds(this.config, this.vipIds, this.realIds), quorum: this.prev.quorum };
  }

  /** Applies the current inputs; returns what was written. */
  step(): string[] {
    const next = desiredState(this.inputs());
    const from = this.dp.log.length;
    applyDiff(this.dp, this.prev, next);
    this.prev = next;
    return this.dp.log.slice(from);
  }

  tableOf(vip = 0): Set<number> {
    return new Set(this.dp.tables.get(vip) ?? []);
  }
}


describe('reconcile', () => {
  it('first apply writes the settings, reals, then tables, then VIPs; a second apply writes nothing', () => {
    const w = new World(cfg([service('192.0.2.10', [real('10.0.1.1'), real('10.0.1.2')])]));
    assert.deepEqual(w.step(), ['settings', 'real 1', 'real 2', 'table 0', 'vip 0']);
    assert.deepEqual(w.tableOf(), new Set([1, 2]));
    assert.equal(w.dp.tables.get(0)?.length, 251);
    assert.deepEqual(w.step(), []);
  });

  it('desiredState is pure: the same inputs give equal states, and neither the inputs nor the id tables change', () => {
    const svc = service('192.0.2.10', [real('10.0.1.1'), real('10.0.1.2')], { sorryServer: { addr: parseAddr('10.0.1.9'), port: 80 } });
    const w = new World(cfg([svc]));
    const inputs = w.inputs();
    const before = { vip: JSON.stringify(w.vipIds), real: JSON.stringify(w.realIds), retired: JSON.stringify(w.realIds.retiredJSON()) };
    const ids = JSON.stringify([...inputs.ids.real]);
    const a = desiredState(inputs);
    const b = desiredState(inputs);
    assert.deepEqual(a, b);
    assert.deepEqual({ vip: JSON.stringify(w.vipIds), real: JSON.stringify(w.realIds), retired: JSON.stringify(w.realIds.retiredJSON()) }, before);
    assert.equal(JSON.stringify([...inputs.ids.real]), ids);
    // a key the allocation step did not cover is an error, not a quiet allocation
    assert.throws(() => desiredState({ ...inputs, ids: { vip: inputs.ids.vip, real: new Map() } }), /no id assigned to tcp 192\.0\.2\.10:80 -> /);
  });

  it('assignIds: stable across passes, a sorry server keeps its id whether it serves or not, ids of removed reals retire', () => {
    const svc = service('192.0.2.10', [real('10.0.1.1'), real('10.0.1.2')], { sorryServer: { addr: parseAddr('10.0.1.9'), port: 80 } });
    const vipIds = new IdAllocator(0, 511);
    const realIds = new IdAllocator(1, 4095, (key) => key.split(' -> ')[0]!);
    const first = assignIds(cfg([svc]), vipIds, realIds);
    assert.deepEqual([...first.real.values()], [1, 2, 3]);
    assert.deepEqual(assignIds(cfg([svc]), vipIds, realIds), first);
    const fewer = assignIds(cfg([{ ...svc, reals: [svc.reals[1]!] }]), vipIds, realIds);
    assert.deepEqual([...fewer.real.values()], [2, 3]);
    assert.deepEqual([...realIds.retired().keys()], [1]);
  });

  it('a real whose check fails goes inactive and leaves the ring; only those two writes', () => {
    const svc = service('192.0.2.10', [real('10.0.1.1'), real('10.0.1.2')]);
    const w = new World(cfg([svc]));
    w.step();
    w.states.set(realKey(svc, svc.reals[0]!), { up: false });
    assert.deepEqual(w.step(), ['real 1 inactive', 'table 0']);
    assert.deepEqual(w.tableOf(), new Set([2]));
    w.states.set(realKey(svc, svc.reals[0]!), { up: true });
    assert.deepEqual(w.step(), ['real 1', 'table 0']);
    assert.deepEqual(w.tableOf(), new Set([1, 2]));
  });

  it('inhibit_on_failure: a failed real is inactive like any failed real, and shows weight 0', () => {
    const svc = service('192.0.2.10', [{ ...real('10.0.1.1', 5), inhibitOnFailure: true }, real('10.0.1.2')]);
    const w = new World(cfg([svc]));
    w.step();
    w.states.set(realKey(svc, svc.reals[0]!), { up: false });
    const next = desiredState(w.inputs());
    assert.deepEqual([next.reals.get(1)?.weight, next.reals.get(1)?.active], [0, false]);
    w.states.set(realKey(svc, svc.reals[0]!), { up: true });
    assert.equal(desiredState(w.inputs()).reals.get(1)?.weight, 5);
  });

  it('quorum: lost below it with hysteresis, the sorry server replaces every real; regained above quorum + hysteresis', () => {
    const svc = service('192.0.2.10', [real('10.0.1.1', 2), real('10.0.1.2', 2), real('10.0.1.3', 2)], {
      quorum: 4,
      hysteresis: 1,
      sorryServer: { addr: parseAddr('10.0.1.9'), port: 80 },
    });
    const w = new World(cfg([svc]));
    const down = (i: number, up: boolean): void => void w.states.set(realKey(svc, svc.reals[i]!), { up });
    w.step();
    assert.equal(w.prev.quorum.get(svc.key), true);
    down(0, false); // live weight 4 >= 4 - 1: still met
    w.step();
    assert.deepEqual(w.tableOf(), new Set([2, 3]));
    down(1, false); // 2 < 3: lost, sorry takes over, real 3 (still up) leaves the table but stays active
    w.step();
    assert.equal(w.prev.quorum.get(svc.key), false);
    const sorry = [...w.tableOf()];
    assert.equal(sorry.length, 1);
    assert.ok(![1, 2, 3].includes(sorry[0]!));
    assert.equal(w.dp.reals.get(3)?.flags, 1);
    down(0, true); // 4 < 4 + 1: not regained yet
    w.step();
    assert.equal(w.prev.quorum.get(svc.key), false);
    down(1, true); // 6 >= 5: regained
    w.step();
    assert.equal(w.prev.quorum.get(svc.key), true);
    assert.deepEqual(w.tableOf(), new Set([1, 2, 3]));
  });

  it('quorum lost without a sorry server: the live reals keep serving', () => {
    const svc = service('192.0.2.10', [real('10.0.1.1'), real('10.0.1.2')], { quorum: 2 });
    const w = new World(cfg([svc]));
    w.step();
    w.states.set(realKey(svc, svc.reals[0]!), { up: false });
    w.step();
    assert.equal(w.prev.quorum.get(svc.key), false);
    assert.deepEqual(w.tableOf(), new Set([2]));
  });

  it('a drained real (weight 0) stays active for its flows but leaves the ring', () => {
    const svc = service('192.0.2.10', [real('10.0.1.1'), real('10.0.1.2')]);
    const w = new World(cfg([svc]));
    w.step();
    w.states.set(realKey(svc, svc.reals[0]!), { up: true, weight: 0 });
    assert.deepEqual(w.step(), ['table 0']);
    assert.equal(w.dp.reals.get(1)?.flags, 1);
    assert.deepEqual(w.tableOf(), new Set([2]));
  });

  it('with no real up the sorry server takes the whole table, and gives it back', () => {
    const svc = service('192.0.2.10', [real('10.0.1.1')], { sorryServer: { addr: parseAddr('10.0.1.9'), port: 80 } });
    const w = new World(cfg([svc]));
    w.step();
    w.states.set(realKey(svc, svc.reals[0]!), { up: false });
    w.step();
    const sorryId = [...w.tableOf()][0]!;
    assert.deepEqual(w.tableOf(), new Set([sorryId]));
    assert.equal(w.dp.reals.get(sorryId)?.mac.toString('hex'), '020000000109');
    w.states.set(realKey(svc, svc.reals[0]!), { up: true });
    assert.deepEqual(w.step(), ['real 1', 'table 0', `real ${sorryId} inactive`]);
    assert.deepEqual(w.tableOf(), new Set([1]));
  });

  it('with no real up and no sorry server the size shrinks to 0 before the table goes', () => {
    const svc = service('192.0.2.10', [real('10.0.1.1')]);
    const w = new World(cfg([svc]));
    w.step();
    w.states.set(realKey(svc, svc.reals[0]!), { up: false });
    assert.deepEqual(w.step(), ['real 1 inactive', 'vip 0', 'table 0 deleted']);
    assert.equal([...w.dp.vipMap.values()][0]?.meta.tableSize, 0);
  });

  it('a shorter rr sequence goes in after the VIP size shrinks, a longer one before it grows', () => {
    const svc = service('192.0.2.10', [real('10.0.1.1'), real('10.0.1.2'), real('10.0.1.3')], { scheduler: 'rr' });
    const w = new World(cfg([svc]));
    w.step();
    assert.deepEqual(w.dp.tables.get(0), [1, 2, 3]);
    w.states.set(realKey(svc, svc.reals[2]!), { up: false });
    assert.deepEqual(w.step(), ['real 3 inactive', 'vip 0', 'table 0']);
    w.states.set(realKey(svc, svc.reals[2]!), { up: true });
    assert.deepEqual(w.step(), ['real 3', 'table 0', 'vip 0']);
  });

  it('wrr follows weights; lc and friends use a Maglev ring', () => {
    const w = new World(cfg([
      service('192.0.2.10', [real('10.0.1.1', 3), real('10.0.1.2', 1)], { scheduler: 'wrr' }),
      service('192.0.2.11', [real('10.0.1.1'), real('10.0.1.2')], { scheduler: 'wlc' }),
    ]));
    w.step();
    assert.deepEqual(w.dp.tables.get(0), [1, 1, 2, 1]);
    assert.equal(w.dp.tables.get(1)?.length, 251);
  });

  it('lc/wlc/sed/nq build the mh ring of the configured weights (lc: equal), the same on every director', () => {
    const ringOf = (scheduler: Service['scheduler'], weights: [number, number]): number[] | undefined => {
      const w = new World(cfg([service('192.0.2.10', [real('10.0.1.1', weights[0]), real('10.0.1.2', weights[1])], { scheduler })]));
      w.step();
      return w.dp.tables.get(0);
    };
    const mh31 = ringOf('mh', [3, 1]);
    for (const s of ['wlc', 'sed', 'nq'] as const) assert.deepEqual(ringOf(s, [3, 1]), mh31, s);
    assert.deepEqual(ringOf('lc', [3, 1]), ringOf('mh', [1, 1]));
  });

  it('ids stay with their keys across reloads; a removed service is deleted and its reals go inactive', () => {
    const a = service('192.0.2.10', [real('10.0.1.1')]);
    const b = service('192.0.2.11', [real('10.0.1.2')]);
    const w = new World(cfg([a, b]));
    w.step();
    const c = service('192.0.2.12', [real('10.0.1.3')]);
    w.config = cfg([c, b]);
    assert.deepEqual(w.step(), ['real 3', 'table 2', 'vip 2', 'vip deleted', 'table 0 deleted', 'real 1 inactive']);
    assert.deepEqual(w.vipIds.toJSON(), { [b.key]: 1, [c.key]: 2 });
    // the freed ids are reused afterwards, lowest first
    w.config = cfg([c, b, service('192.0.2.13', [real('10.0.1.4')])]);
    w.step();
    assert.equal(w.vipIds.toJSON()['tcp 192.0.2.13:80'], 0);
    const again = IdAllocator.fromJSON(0, 511, w.vipIds.toJSON());
    assert.deepEqual(again.toJSON(), w.vipIds.toJSON());
  });

  it('a real not reached yet (no MAC) takes no traffic until it is', () => {
    const w = new World(cfg([service('192.0.2.10', [real('10.0.1.1'), real('10.0.2.1')])]));
    w.step();
    assert.equal(w.dp.reals.get(2)?.flags, 0);
    assert.deepEqual(w.tableOf(), new Set([1]));
    w.reach.set('10.0.2.1', { mac: parseMac('02:00:00:00:02:01'), ifindex: 5, srcMac: parseMac('02:00:00:00:00:05') });
    assert.deepEqual(w.step(), ['txport 5', 'real 2', 'table 0']);
  });

  it("TUN reals carry their path's MTU into the map (a change rewrites only the real); DR reals none", () => {
    const w = new World(cfg([service('192.0.2.10', [real('10.0.1.1')], { method: 'tun' }), service('192.0.2.11', [real('10.0.1.2')])]));
    w.reach.set('10.0.1.1', { mac: parseMac('02:00:00:00:01:01'), ifindex: 0, mtu: 1500 });
    w.reach.set('10.0.1.2', { mac: parseMac('02:00:00:00:01:02'), ifindex: 0, mtu: 1500 });
    w.step();
    assert.deepEqual([w.dp.reals.get(1)?.mtu, w.dp.reals.get(2)?.mtu], [1500, 0]);
    w.reach.set('10.0.1.1', { mac: parseMac('02:00:00:00:01:01'), ifindex: 0, mtu: 9000 });
    assert.deepEqual(w.step(), ['real 1']);
    assert.equal(w.dp.reals.get(1)?.mtu, 9000);
  });

  it('alpha: reals start down until their first check succeeds', () => {
    const svc = service('192.0.2.10', [real('10.0.1.1')], { alpha: true });
    const w = new World(cfg([svc]));
    w.step();
    assert.equal(w.dp.tables.has(0), false);
    w.states.set(realKey(svc, svc.reals[0]!), { up: true });
    w.step();
    assert.deepEqual(w.tableOf(), new Set([1]));
  });
});

describe('real ids never lead a flow to another service (issue 11, defect 4)', () => {
  const svcOf = (key: string): string => key.split(' -> ')[0]!;

  it('a freed real id is not given to a real of another service', () => {
    const ids = new IdAllocator(1, 4, svcOf);
    assert.equal(ids.get('tcp A:80 -> r1'), 1);
    assert.equal(ids.get('tcp B:80 -> r2'), 2);
    ids.retain(new Set(['tcp B:80 -> r2'])); // r1 removed: idle flows of A may still name id 1
    assert.equal(ids.get('tcp B:80 -> r3'), 3, 'B does not get A\'s old id');
    assert.equal(ids.get('tcp A:80 -> r4'), 1, 'A may: its flows rescheduled within A anyway');
  });

  it('when only retired ids are left, allocation fails until they are released (after the flows naming them are swept)', () => {
    const ids = new IdAllocator(1, 2, svcOf);
    ids.get('tcp A:80 -> r1');
    ids.get('tcp B:80 -> r2');
    ids.retain(new Set(['tcp B:80 -> r2']));
    assert.throws(() => ids.get('tcp C:80 -> r3'), /no free id left in 1\.\.2 for tcp C:80 -> r3 \(1 retired/);
    assert.deepEqual([...ids.retired().keys()], [1]);
    ids.release([1]);
    assert.equal(ids.get('tcp C:80 -> r3'), 1);
  });

  it('retired ids survive a restart, and slots found in pinned maps are retired too', () => {
    const ids = new IdAllocator(1, 8, svcOf);
    ids.get('tcp A:80 -> r1');
    ids.retain(new Set());
    ids.retire(5, ''); // a slot the pinned maps held that no saved id explains
    const again = IdAllocator.fromJSON(1, 8, ids.toJSON(), svcOf, ids.retiredJSON());
    assert.deepEqual([...again.retired()].sort(), [[1, 'tcp A:80'], [5, '']]);
    assert.equal(again.get('tcp B:80 -> r2'), 2);
    assert.equal(again.get('tcp A:80 -> r3'), 1);
  });
});
