// The Reconciler over a fake data plane: the first pass of a process over
// maps an earlier one left (unknown and stale slots, stale VIPs), the tunnel
// sources, ids kept in ids.json, reclaiming retired ids, and the dry run.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import type { RealDefValue } from '../../agent/dataplane/abi';
import type { Reach } from '../../agent/dataplane/reach';
import { ConfigCode, ConfigError } from '../../agent/config/diagnostics';
import { parseAddr, parseMac } from '../../agent/net/addr';
import { Reconciler, type PassInputs } from '../../agent/reconcile/reconciler';
import { REAL_ACTIVE, realKey } from '../../agent/reconcile/desired';
import type { Config } from '../../agent/config/model';
import { FakeDataplane } from '../support/fake-dataplane';
import { cfg, real, service } from '../support/model';

const log = pino({ level: 'silent' });

function reachAll(n: number, prefsrc?: string): Map<string, Reach> {
  const m = new Map<string, Reach>();
  for (let i = 1; i <= n; i++) m.set(`10.0.1.${i}`, { mac: parseMac(`02:00:00:00:01:${i.toString(16).padStart(2, '0')}`), ifindex: 0, ...(prefsrc ? { prefsrc: parseAddr(prefsrc) } : {}) });
  return m;
}

const inputs = (config: Config, reach = reachAll(9)): PassInputs => ({ config, states: new Map(), reach });

/** A slot as an earlier agent would have left it. */
const slot = (addr: string, active: boolean): RealDefValue => ({
  addr: Buffer.concat([parseAddr(addr).bytes, Buffer.alloc(12)]),
  mac: Buffer.from([2, 0, 0, 0, 0, 9]),
  srcMac: Buffer.alloc(6),
  ifindex: 0,
  family: 4,
  method: 1,
  flags: active ? REAL_ACTIVE : 0,
  mtu: 0,
  pad: 0,
});

const tmpIds = (): string => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-ids-')), 'ids.json');

describe('Reconciler: the one writer of the maps', () => {
  it('first pass over maps an earlier run left: unknown slots are retired and go inactive, stale VIPs and their tables go', () => {
    const dp = new FakeDataplane();
    // an earlier run: real 1 and 7 active, VIP id 3 of a service this configuration does not have
    dp.setReal(1, slot('10.0.9.1', true));
    dp.setReal(7, slot('10.0.9.7', true));
    const old = cfg([service('198.51.100.1', [])]).services[0]!;
    dp.setVip({ addr: Buffer.concat([old.vip.bytes, Buffer.alloc(12)]), port: 80, proto: 6, family: 4 }, { id: 3, flags: 0, sched: 0, tableSize: 2, persistTimeout: 0, pad: 0 });
    dp.setTable(3, [7, 7]);
    dp.log.length = 0;

    const rec = new Reconciler(dp, log);
    const config = cfg([service('192.0.2.10', [real('10.0.1.1'), real('10.0.1.2')])]);
    rec.first(inputs(config));
    // ids 1 and 7 were unknown: retired, so the new reals did not take them
    const ids = [...rec.state.reals.keys()];
    assert.deepEqual(ids, [2, 3]);
    assert.equal(dp.reals.get(1)!.flags & REAL_ACTIVE, 0);
    assert.equal(dp.reals.get(7)!.flags & REAL_ACTIVE, 0);
    assert.deepEqual([...dp.vips()].map(([, m]) => m.id), [0]);
    assert.equal(dp.tables.has(3), false);
    assert.deepEqual(dp.log, ['settings', 'real 2', 'real 3', 'table 0', 'vip 0', 'real 1 inactive', 'real 7 inactive', 'vip deleted', 'table 3 deleted']);
  });

  it('a stale VIP whose id a live VIP now has is removed, and the live table stays', () => {
    const dp = new FakeDataplane();
    const gone = service('198.51.100.1', []);
    dp.setVip({ addr: Buffer.concat([gone.vip.bytes, Buffer.alloc(12)]), port: 80, proto: 6, family: 4 }, { id: 0, flags: 0, sched: 0, tableSize: 2, persistTimeout: 0, pad: 0 });
    const rec = new Reconciler(dp, log);
    rec.first(inputs(cfg([service('192.0.2.10', [real('10.0.1.1')])])));
    assert.equal(dp.vipMap.size, 1);
    const [[key, meta]] = [...dp.vips()];
    assert.ok(key.addr.subarray(0, 4).equals(parseAddr('192.0.2.10').bytes));
    assert.equal(meta.id, 0);
    assert.deepEqual(dp.tables.get(0)?.length, 251, 'the live VIP keeps its table');
  });

  it('ids survive a restart in ids.json; a real removed while no agent ran loses ACTIVE and its id is retired to its service', () => {
    const file = tmpIds();
    try {
      const dp = new FakeDataplane();
      const two = cfg([service('192.0.2.10', [real('10.0.1.1'), real('10.0.1.2')]), service('192.0.2.20', [real('10.0.1.3')])]);
      new Reconciler(dp, log, file).first(inputs(two));
      const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { reals: Record<string, number> };
      const s0 = two.services[0]!;
      assert.equal(saved.reals[realKey(s0, s0.reals[0]!)], 1);

      // the next agent starts with R1 removed from the file
      const one = cfg([service('192.0.2.10', [real('10.0.1.2')]), service('192.0.2.20', [real('10.0.1.3'), real('10.0.1.4')])]);
      const rec = new Reconciler(dp, log, file);
      rec.first(inputs(one));
      assert.equal(dp.reals.get(1)!.flags & REAL_ACTIVE, 0, "R1's slot is inactive: its flows are rescheduled");
      assert.equal(dp.reals.get(2)!.flags & REAL_ACTIVE, REAL_ACTIVE);
      const s1 = one.services[1]!;
      // the new real of the other service does not get R1's id 1
      assert.equal(rec.state.reals.get(4)?.key, realKey(s1, s1.reals[1]!));
      const again = JSON.parse(fs.readFileSync(file, 'utf8')) as { retiredReals: Record<string, string> };
      assert.deepEqual(again.retiredReals, { '1': 'tcp 192.0.2.10:80' });
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });

  it('adopt: next hops of the pinned slots of known reals, by address', () => {
    const file = tmpIds();
    try {
      const dp = new FakeDataplane();
      const config = cfg([service('192.0.2.10', [real('10.0.1.1'), real('10.0.1.2')])]);
      new Reconciler(dp, log, file).first(inputs(config));
      const adopted = new Reconciler(dp, log, file).adopt(config);
      assert.deepEqual([...adopted.reach.keys()].sort(), ['10.0.1.1', '10.0.1.2']);
      assert.ok(adopted.reach.get('10.0.1.1')!.mac.equals(parseMac('02:00:00:00:01:01')));
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });

  it('tunnel sources: written first, rewritten only when our address toward the TUN reals changes', () => {
    const dp = new FakeDataplane();
    const rec = new Reconciler(dp, log);
    const tun = cfg([service('192.0.2.10', [real('10.0.1.1')], { method: 'tun' })]);
    rec.first(inputs(tun, reachAll(2, '10.0.1.254')));
    assert.ok(dp.written!.tunSrc4.equals(parseAddr('10.0.1.254').bytes));
    assert.equal(dp.log[0], 'settings');
    const before = dp.log.length;
    rec.pass(inputs(tun, reachAll(2, '10.0.1.254')));
    assert.equal(dp.log.length, before, 'nothing changed, nothing written');
    rec.pass(inputs(tun, reachAll(2, '10.0.1.253')));
    assert.ok(dp.written!.tunSrc4.equals(parseAddr('10.0.1.253').bytes));
    assert.deepEqual(dp.log.slice(before), ['settings'], 'the reals themselves did not change');
  });

  it('out of fresh real ids: the flow entries naming retired ids are deleted, then the ids are reused', () => {
    const file = tmpIds();
    try {
      // every id but 4095 retired to another service by earlier runs
      const retired = Object.fromEntries(Array.from({ length: 4094 }, (_, i) => [String(i + 1), 'tcp 198.51.100.1:80']));
      fs.writeFileSync(file, JSON.stringify({ vips: {}, reals: {}, retiredReals: retired }));
      const dp = new FakeDataplane();
      const flow = (n: number, realId: number): void =>
        dp.addFlow({ src: Buffer.alloc(16, n), dst: Buffer.alloc(16), sport: n, dport: 80, proto: 6, family: 4, kind: 0, pad: 0 }, { realId, pad: 0, lastSeen: 0n });
      flow(1, 5); // names a retired id
      flow(2, 4095); // names the one live id, once it is given out
      const rec = new Reconciler(dp, log, file);
      rec.pass(inputs(cfg([service('192.0.2.10', [real('10.0.1.1'), real('10.0.1.2')])])));
      assert.deepEqual([...rec.state.reals.keys()].sort((a, b) => a - b), [1, 4095]);
      assert.deepEqual([...dp.flows()].map(([, s]) => s.realId), [4095], 'only the entry of a retired id was deleted');
      const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { retiredReals: Record<string, string> };
      assert.deepEqual(saved.retiredReals, {});
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });

  it('dryRun: running out of VIP ids is a capacity error naming the file, and nothing is written or allocated', () => {
    const dp = new FakeDataplane();
    const rec = new Reconciler(dp, log);
    rec.first(inputs(cfg([service('192.0.2.10', [real('10.0.1.1')])])));
    const writes = dp.log.length;
    const many = cfg(Array.from({ length: 513 }, (_, i) => service(`198.51.${100 + (i >> 8)}.${i & 255}`, [])));
    assert.throws(
      () => rec.dryRun(inputs(many), '/etc/xdpvs/xdpvs.yaml'),
      (err: unknown) => err instanceof ConfigError && err.diagnostics[0]!.code === ConfigCode.CAPACITY && err.diagnostics[0]!.loc.file === '/etc/xdpvs/xdpvs.yaml',
    );
    assert.equal(dp.log.length, writes);
    // the ids of the running configuration are untouched
    rec.pass(inputs(cfg([service('192.0.2.10', [real('10.0.1.1')]), service('192.0.2.11', [real('10.0.1.2')])])));
    assert.deepEqual([...rec.state.vips.values()].map((v) => v.id), [0, 1]);
  });
});
