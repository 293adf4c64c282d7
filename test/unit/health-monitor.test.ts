// keepalived's check timing on a fake clock: delay_loop, retry,
// delay_before_retry, warmup, alpha, several checks per real, reloads.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { HealthCheck } from '../../agent/config/model';
import type { CheckResult } from '../../agent/health/checkers';
import { HealthMonitor } from '../../agent/health/monitor';
import { FakeClock } from '../support/clock';
import { parseAddr } from '../../agent/net/addr';

function check(over: Partial<HealthCheck> = {}): HealthCheck {
  return {
    type: 'tcp',
    delayLoop: 5,
    connectTimeout: 1,
    retry: 2,
    delayBeforeRetry: 1,
    warmup: 0,
    connect: { addr: parseAddr('10.0.1.1'), port: 80 },
    loc: { file: 't', line: 1 },
    ...over,
  } as HealthCheck;
}

/** A runner answering from a script of results per port, recording when it ran. */
function scripted(clock: FakeClock, script: Record<number, boolean[]>) {
  const calls: [number, number][] = [];
  const runner = async (c: HealthCheck): Promise<CheckResult> => {
    calls.push([clock.now() / 1000, c.connect.port]);
    const ok = script[c.connect.port]?.shift() ?? true;
    return { ok, detail: ok ? 'ok' : 'refused', latency: 1 };
  };
  return { runner, calls };
}

describe('health monitor timing', () => {
  it('a failure is retried `retry` times delay_before_retry apart before the real goes down', async () => {
    const clock = new FakeClock();
    const events: [number, string, boolean][] = [];
    const { runner, calls } = scripted(clock, { 80: [true, false, false, false, false, true] });
    const m = new HealthMonitor((k, up) => events.push([clock.now() / 1000, k, up]), runner, clock, () => 0);
    m.set([{ key: 'r1', checks: [check()], initialUp: true }]);
    await clock.advance(30_000);
    // t=0 ok; t=5 fail; retries at 6 and 7 fail -> down at 7; t=12 fail; t=17 ok -> up
    assert.deepEqual(calls.map((c) => c[0]).slice(0, 7), [0, 5, 6, 7, 12, 17, 22]);
    assert.deepEqual(events, [
      [7, 'r1', false],
      [17, 'r1', true],
    ]);
    m.stop();
  });

  it('a success between failures resets the retry count', async () => {
    const clock = new FakeClock();
    const events: boolean[] = [];
    const { runner } = scripted(clock, { 80: [false, true, false, true, false, false] });
    const m = new HealthMonitor((_k, up) => events.push(up), runner, clock, () => 0);
    m.set([{ key: 'r1', checks: [check({ retry: 1 })], initialUp: true }]);
    // t=0 fail, t=1 ok (reset); t=6 fail, t=7 ok (reset); t=12 fail, t=13 fail -> down
    await clock.advance(15_000);
    assert.deepEqual(events, [false]);
    m.stop();
  });

  it('warmup spreads the first attempt; alpha starts a real down until its first success', async () => {
    const clock = new FakeClock();
    const events: [number, boolean][] = [];
    const { runner, calls } = scripted(clock, {});
    const m = new HealthMonitor((_k, up) => events.push([clock.now() / 1000, up]), runner, clock, () => 0.5);
    m.set([{ key: 'r1', checks: [check({ warmup: 4 })], initialUp: false }]);
    assert.equal(m.isUp('r1'), false);
    await clock.advance(3_000);
    assert.deepEqual(calls.map((c) => c[0]), [2]);
    assert.deepEqual(events, [[2, true]]);
    m.stop();
  });

  it('a real with two checks is up only while both are', async () => {
    const clock = new FakeClock();
    const events: boolean[] = [];
    const { runner } = scripted(clock, { 80: [true, true, true], 8080: [true, false, true] });
    const m = new HealthMonitor((_k, up) => events.push(up), runner, clock, () => 0);
    m.set([{ key: 'r1', checks: [check({ retry: 0 }), check({ retry: 0, connect: { addr: parseAddr('10.0.1.1'), port: 8080 } })], initialUp: true }]);
    await clock.advance(11_000);
    assert.deepEqual(events, [false, true]);
    assert.deepEqual(m.status('r1').map((s) => s.up), [true, true]);
    m.stop();
  });

  it('a real without checks is always up', () => {
    const clock = new FakeClock();
    const m = new HealthMonitor(() => assert.fail('no change expected'), scripted(clock, {}).runner, clock);
    m.set([{ key: 'r1', checks: [], initialUp: false }]);
    assert.equal(m.isUp('r1'), true);
  });

  it('a reload keeps unchanged reals\' state and timers, restarts changed ones, drops removed ones', async () => {
    const clock = new FakeClock();
    const { runner, calls } = scripted(clock, { 80: [false, false, false] });
    const m = new HealthMonitor(() => {}, runner, clock, () => 0);
    const t = { key: 'r1', checks: [check({ retry: 0 })], initialUp: true };
    m.set([t]);
    await clock.advance(1_000);
    assert.equal(m.isUp('r1'), false);
    m.set([{ ...t, checks: [check({ retry: 0, loc: { file: 'moved', line: 9 } })] }]);
    assert.equal(m.isUp('r1'), false, 'only the source line moved: same check, state kept');
    m.set([{ ...t, checks: [check({ retry: 0, delayLoop: 7 })] }]);
    assert.equal(m.isUp('r1'), true, 'a changed check starts afresh');
    await clock.advance(0);
    assert.deepEqual(calls.map((c) => c[0]), [0, 1], 'the fresh check ran at once');
    m.set([]);
    await clock.advance(60_000);
    assert.equal(calls.length, 2, 'nothing runs after removal');
    assert.equal(m.isUp('r1'), undefined);
  });
});
