// keepalived's tracking weights and vrrp_script rise/fall, on a fake clock.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { effectivePriority, runScript, ScriptTracker } from '../../agent/vrrp/track';
import { FakeClock } from '../support/clock';

describe('VRRP tracking', () => {
  it('weights: positive while up, negative while down, 0 faults, reverse swaps, 1..254, 255 fixed', () => {
    const t = (up: boolean, weight: number, reverse = false) => ({ name: 'x', up, weight, reverse });
    assert.deepEqual(effectivePriority(100, [t(true, 20), t(false, -30), t(true, -50)]), { priority: 90, fault: undefined });
    assert.deepEqual(effectivePriority(100, [t(false, 0)]), { priority: 100, fault: 'x is down' });
    assert.deepEqual(effectivePriority(100, [t(true, 0, true)]).fault, 'x is down');
    assert.deepEqual(effectivePriority(250, [t(true, 20)]).priority, 254);
    assert.deepEqual(effectivePriority(10, [t(false, -50)]).priority, 1);
    assert.deepEqual(effectivePriority(255, [t(false, -50)]).priority, 255);
  });

  it('a script goes down after `fall` failures in a row and up after `rise` successes', async () => {
    const clock = new FakeClock();
    const results = [true, false, true, false, false, true, true, true];
    const runs: number[] = [];
    const tracker = new ScriptTracker(
      { name: 'chk', script: 'x', interval: 2, weight: -20, reverse: false, rise: 3, fall: 2, initFail: false, loc: { file: 't', line: 1 } },
      clock,
      async () => {
        runs.push(clock.now() / 1000);
        return results.shift() ?? true;
      },
    );
    const changes: [number, boolean][] = [];
    tracker.onChange((up) => changes.push([clock.now() / 1000, up]));
    tracker.start();
    await clock.advance(20_000);
    assert.deepEqual(runs.slice(0, 8), [0, 2, 4, 6, 8, 10, 12, 14]);
    assert.deepEqual(changes, [[8, false], [14, true]]);
    tracker.stop();
  });

  it('runScript: exit code decides; over the timeout is a failure', async () => {
    assert.equal(await runScript('true', 1), true);
    assert.equal(await runScript('exit 2', 1), false);
    const t = Date.now();
    assert.equal(await runScript('sleep 20', 0.2), false);
    assert.ok(Date.now() - t < 3000);
  });
});
