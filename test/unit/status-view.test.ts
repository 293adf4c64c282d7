// StatusView: the rows `xdpvs list`, `stats` and /metrics show, read from the
// configuration, the state the maps were written with, health, next hops,
// the flow census and the counters.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import pino from 'pino';
import { parseAddr, parseMac } from '../../agent/net/addr';
import type { Reach } from '../../agent/dataplane/reach';
import { REASON_NAMES, type TrafficStatsValue } from '../../agent/dataplane/abi';
import { Reconciler } from '../../agent/reconcile/reconciler';
import { realKey, type RealState } from '../../agent/reconcile/desired';
import { StatusView, type Counters } from '../../agent/status/view';
import { FakeDataplane } from '../support/fake-dataplane';
import { cfg, real, service } from '../support/model';

const traffic = (n: number): TrafficStatsValue => ({ packets: BigInt(n), bytes: BigInt(n * 100), newFlows: BigInt(n >> 1) });

describe('StatusView: one view for the control socket and /metrics', () => {
  const svc = service('192.0.2.10', [real('10.0.1.1', 3), real('10.0.1.2')], { sorryServer: { addr: parseAddr('10.0.1.9'), port: 80 }, persistenceTimeout: 300 });
  const config = cfg([svc]);
  const reach = new Map<string, Reach>([
    ['10.0.1.1', { mac: parseMac('02:00:00:00:01:01'), ifindex: 0 }],
    ['10.0.1.9', { mac: parseMac('02:00:00:00:01:09'), ifindex: 0 }],
  ]);
  const states = new Map<string, RealState>([[realKey(svc, svc.reals[0]!), { up: true, weight: 2 }]]);
  const rec = new Reconciler(new FakeDataplane(), pino({ level: 'silent' }));
  rec.first({ config, states, reach });
  const counters: Counters = {
    vipStats: (id) => traffic(1000 + id),
    realStats: (id) => traffic(10 * id),
    verdicts: () => REASON_NAMES.map((_, i) => ({ packets: BigInt(i), bytes: BigInt(i * 64) })),
    capacity: (map) => ({ vips: 512, reals: 4096, flows: 1_000_000 })[map],
  };
  const view = new StatusView({
    config: () => config,
    state: () => rec.state,
    counters,
    flows: () => ({ perReal: new Map([[1, { active: 7, inactive: 2 }]]), entries: 11, at: 5000, walkMs: 12 }),
    lastCheck: (key) => (key === realKey(svc, svc.reals[0]!) ? { ok: true, detail: 'HTTP 200', latency: 4 } : undefined),
    reached: (addr) => reach.has(addr),
    vrrp: () => [],
    version: '1.2.3',
    format: () => 'yaml',
    configPath: '/etc/xdpvs/xdpvs.yaml',
  });

  it('services: each real with its live and configured weight, health, reach, flows and counters; the idle sorry server is hidden', () => {
    const [row] = view.services();
    assert.equal(row!.key, 'tcp 192.0.2.10:80');
    assert.deepEqual([row!.scheduler, row!.method, row!.persistenceTimeout, row!.tableSize], ['mh', 'dr', 300, 251]);
    assert.deepEqual([row!.packets, row!.bytes, row!.newFlows], ['1000', '100000', '500']);
    assert.deepEqual(
      row!.reals.map((r) => [r.addr, r.id, r.weight, r.configuredWeight, r.up, r.reached, r.sorry, r.activeConn, r.inactConn, r.packets]),
      [
        ['10.0.1.1', 1, 2, 3, true, true, false, 7, 2, '10'],
        ['10.0.1.2', 2, 1, 1, true, false, false, 0, 0, '20'],
      ],
    );
    assert.deepEqual(row!.reals[0]!.lastCheck, { ok: true, detail: 'HTTP 200', latency: 4 });
    assert.equal(row!.reals[1]!.lastCheck, undefined);
  });

  it('stats, map usage (id 0 of the reals is not a slot), info and the census age', () => {
    const stats = view.stats();
    assert.deepEqual(stats.services, [{ key: 'tcp 192.0.2.10:80', packets: '1000', bytes: '100000', newFlows: '500' }]);
    assert.deepEqual(stats.verdicts[REASON_NAMES[1]!], { packets: '1', bytes: '64' });
    assert.deepEqual(view.mapUsage(), [
      { map: 'vips', entries: 1, capacity: 512 },
      // the sorry server has an id, but no slot while the quorum holds
      { map: 'reals', entries: 2, capacity: 4095 },
      { map: 'flows', entries: 11, capacity: 1_000_000 },
    ]);
    assert.deepEqual(view.info(), { version: '1.2.3', format: 'yaml', config: '/etc/xdpvs/xdpvs.yaml' });
    assert.deepEqual(view.flowSnapshot(), { at: 5000, walkMs: 12 });
  });
});
