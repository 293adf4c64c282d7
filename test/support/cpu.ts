// BPF_PROG_TEST_RUN runs a program on the CPU of the thread that asks, and
// the director's round-robin cursors and counters are per CPU. A packet test
// pins that thread (Node's main thread: the bridge's calls are synchronous)
// to one CPU, so sequences are exact while the rest of `make test` and the
// processes the other layers start use every core.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

export function pinToOneCpu(cpu = 0): void {
  // without -a, taskset sets the affinity of this one thread (tid = pid)
  const r = spawnSync('taskset', ['-p', '-c', String(cpu), String(process.pid)], { encoding: 'utf8' });
  assert.equal(r.status, 0, `taskset -p -c ${cpu} ${process.pid}: ${r.error?.message ?? r.stderr}`);
}
