// Which keepalived script an event runs (Notifier), and the control socket's
// answers (answer, findReal): the pieces agent.ts wires together.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import pino from 'pino';
import { Notifier } from '../../agent/script';
import { answer } from '../../agent/control/handler';
import { findReal } from '../../agent/config/model';
import { realKey } from '../../agent/reconcile/keys';
import { parseAddr } from '../../agent/net/addr';
import { cfg, real, service } from '../support/model';

const log = pino({ level: 'silent' });
const r1 = { ...real('10.0.1.1'), notifyUp: 'up r1', notifyDown: 'down r1' };
const r6 = { ...real('2001:db8::1'), notifyDown: 'down r6' };
const svc = service('192.0.2.10', [r1, r6], { quorumUp: 'qup', quorumDown: 'qdown', omega: true, sorryServer: { addr: parseAddr('10.0.1.9'), port: 80 } });
const config = cfg([svc, service('192.0.2.20', [real('10.0.1.2')])]);

describe('Notifier: the script each event runs', () => {
  it('quorum changes, health changes, and omega at a clean stop', () => {
    const ran: (string | undefined)[] = [];
    const n = new Notifier(log, (s) => ran.push(s));
    n.quorum(config, [{ service: svc.key, met: false }, { service: svc.key, met: true }]);
    n.health(config, realKey(svc, r1), false);
    n.health(config, realKey(svc, r1), true);
    n.health(config, 'tcp 192.0.2.99:80 -> 10.0.0.1:80', true);
    assert.deepEqual(ran, ['qdown', 'qup', 'down r1', 'up r1', undefined]);
    ran.length = 0;
    // omega: the quorum was met, r1 is up and r6 down; the second service has no omega
    n.omega(config, () => true, (key) => key === realKey(svc, r1));
    assert.deepEqual(ran, ['qdown', 'down r1']);
  });
});

describe('control answers', () => {
  it('findReal: ADDR:PORT, IPv6 with or without brackets; a wrong service or real names the field', () => {
    assert.equal(findReal(config, svc.key, '10.0.1.1:80').real, r1);
    assert.equal(findReal(config, svc.key, '[2001:db8::1]:80').real, r6);
    assert.equal(findReal(config, svc.key, '2001:db8::1:80').real, r6);
    assert.throws(() => findReal(config, 'tcp 192.0.2.11:80', '10.0.1.1:80'), /^Error: service: no service tcp 192\.0\.2\.11:80 \(services: tcp 192\.0\.2\.10:80, tcp 192\.0\.2\.20:80\)$/);
    assert.throws(() => findReal(config, svc.key, '10.0.1.2:80'), /^Error: real: no real 10\.0\.1\.2:80 in service tcp 192\.0\.2\.10:80$/);
  });

  it('answer: list and stats from the status view; a weight change reports what it did, or the error', () => {
    const status = { services: () => [], vrrpStatus: () => [], stats: () => ({ verdicts: {}, services: [] }) };
    const set: unknown[] = [];
    assert.deepEqual(answer({ cmd: 'list' }, status, () => undefined), { ok: true, services: [], vrrp: [] });
    assert.deepEqual(answer({ cmd: 'stats' }, status, () => undefined), { ok: true, stats: { verdicts: {}, services: [] } });
    assert.deepEqual(answer({ cmd: 'real', service: svc.key, real: '10.0.1.1:80', weight: null }, status, (...a) => void set.push(a)), {
      ok: true,
      done: 'tcp 192.0.2.10:80 -> 10.0.1.1:80: weight as configured',
    });
    assert.deepEqual(set, [[svc.key, '10.0.1.1:80', undefined]]);
    const failing = (): void => void findReal(config, svc.key, 'nope');
    assert.deepEqual(answer({ cmd: 'real', service: svc.key, real: 'nope', weight: 3 }, status, failing), { ok: false, error: 'real: no real nope in service tcp 192.0.2.10:80' });
  });
});
