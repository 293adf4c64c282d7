// The vm layer: what users run is Debian 12 with its own kernel (6.1), older
// than this machine's. Its verifier refused lb.bpf.o once (byte-swapped
// lengths lost their bounds) while every host test passed, so the packet
// tests also run there, in the qemu VM of bench/vm, and the benchmark
// harness runs once there with kernel IPVS. Slow (software emulation), so
// both jobs share one boot; the image is built on first use and cached.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { bootVm, type VmResult } from '../../bench/vm';
import type { BenchReport } from '../../bench/report';
import { requireRoot } from '../support/root';

const TIMEOUT_MS = 15 * 60_000;
// the control-plane timings are the host smoke run's: here they would only
// add two agent starts under software emulation
const JOBS = ['test dist/test/packet/', 'bench --on nics --seconds 1 --runs 1 --no-control-plane'];

function explain(r: VmResult, job: number): string {
  const why = r.why ?? `job ${JOBS[job]}: exit ${r.statuses[job] ?? 'never reached'}`;
  return `${why}; last console lines:\n${r.console.filter((l) => !/^\s*✔/.test(l)).slice(-40).join('\n')}`;
}

describe("on Debian 12's kernel (qemu VM)", { timeout: TIMEOUT_MS + 60_000 }, () => {
  // one boot runs both jobs: a boot under software emulation is half a minute
  let boot: Promise<VmResult> | undefined;
  const vm = (): Promise<VmResult> => {
    requireRoot('vm');
    return (boot ??= bootVm({ job: JOBS, timeoutMs: TIMEOUT_MS }));
  };

  it('the packet tests pass: every program loads and every byte is as on the host', async () => {
    const r = await vm();
    assert.ok(r.console.some((l) => /^guest: kernel 6\.1\./.test(l)), explain(r, 0));
    assert.equal(r.statuses[0], 0, explain(r, 0));
    // the packet runner's summary: the lines before the bench job starts
    const packet = r.console.slice(0, Math.max(0, r.console.findIndex((l) => /^guest: job bench/.test(l))));
    const count = (what: string): number => Number(packet.map((l) => new RegExp(`^ℹ ${what} (\\d+)`).exec(l)?.[1]).find((n) => n !== undefined));
    assert.ok(count('tests') > 50, `only ${count('tests')} tests ran\n${explain(r, 0)}`);
    assert.equal(count('fail'), 0, explain(r, 0));
    assert.equal(count('skipped'), 0, explain(r, 0));
  });

  it('the benchmark harness measures every mode on the virtio-net NICs, kernel IPVS included (> 0 pps; never a speed)', async () => {
    // the veth testbed is the host smoke run's; here the one only the VM has
    const r = await vm();
    assert.equal(r.statuses[1], 0, explain(r, 1));
    const reports = JSON.parse(r.files.get('report.json') ?? '[]') as BenchReport[];
    assert.deepEqual(reports.map((x) => x.label), ['nics']);
    const report = reports[0]!;
    assert.deepEqual(
      report.modes.map((m) => [m.mode, m.runs.length]),
      ['ceiling', 'xdpvs-dr', 'xdpvs-tun', 'xdpvs-dr-synflood', 'ipvs-dr', 'ipvs-tun', 'ipvs-dr-synflood'].map((m) => [m, 1]),
    );
    for (const m of report.modes) assert.ok(m.runs[0]! > 0, `${m.mode}: ${m.runs[0]} pps`);
  });
});
