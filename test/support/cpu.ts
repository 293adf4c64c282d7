// BPF_PROG_TEST_RUN runs a program on the CPU of the thread that asks, and
// the director's round-robin cursors and counters are per CPU. A packet test
// pins that thread (Node's main thread: the bridge's calls are synchronous)
// to one CPU, so sequences are exact while the rest of `make test` and the
// processes the other layers start use every core.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

export function pinToOneCpu(cpu = 0): void {
  pinThread(String(cpu));
}

/** Sets this thread's CPUs (a taskset list, "0" or "0-3"); returns the list it had, to give back. */
export function pinThread(cpus: string): string {
  // without -a, taskset sets the affinity of this one thread (tid = pid)
  const was = spawnSync('taskset', ['-p', '-c', String(process.pid)], { encoding: 'utf8' });
  const r = spawnSync('taskset', ['-p', '-c', cpus, String(process.pid)], { encoding: 'utf8' });
  assert.equal(r.status, 0, `taskset -p -c ${cpus} ${process.pid}: ${r.error?.message ?? r.stderr}`);
  // "pid 42's current affinity list: 0,1"
  const had = /:\s*(\S+)\s*$/.exec(was.stdout)?.[1];
  assert.ok(was.status === 0 && had, `taskset -p -c ${process.pid}: ${was.error?.message ?? was.stderr}`);
  return had;
}
