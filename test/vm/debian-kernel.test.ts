// The vm layer: what users run is Debian 12 with its own kernel (6.1), older
// than this machine's. Its verifier refused lb.bpf.o once (byte-swapped
// lengths lost their bounds) while every host test passed, so the packet
// tests also run there, in the qemu VM of bench/vm, and the benchmark
// harness runs once there with kernel IPVS. Slow (software emulation), so
// each job is one boot; the image is built on first use and cached.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { bootVm, type VmResult } from '../../bench/vm';
import type { BenchReport } from '../../bench/report';
import { requireRoot } from '../support/root';

const TIMEOUT_MS = 12 * 60_000;

function explain(r: VmResult): string {
  return `${r.why ?? `job exit ${r.status}`}; last console lines:\n${r.console.filter((l) => !/^\s*✔/.test(l)).slice(-40).join('\n')}`;
}

describe("on Debian 12's kernel (qemu VM)", { timeout: 2 * TIMEOUT_MS }, () => {
  it('the packet tests pass: every program loads and every byte is as on the host', async () => {
    requireRoot('vm');
    const r = await bootVm({ job: 'test dist/test/packet/', timeoutMs: TIMEOUT_MS });
    assert.ok(r.console.some((l) => /^guest: kernel 6\.1\./.test(l)), explain(r));
    assert.equal(r.status, 0, explain(r));
    const count = (what: string): number => Number(r.console.map((l) => new RegExp(`^ℹ ${what} (\\d+)`).exec(l)?.[1]).find((n) => n !== undefined));
    assert.ok(count('tests') > 50, `only ${count('tests')} tests ran\n${explain(r)}`);
    assert.equal(count('fail'), 0, explain(r));
    assert.equal(count('skipped'), 0, explain(r));
  });

  it('the benchmark harness measures every mode on the virtio-net NICs, kernel IPVS included (> 0 pps; never a speed)', async () => {
    requireRoot('vm');
    // the veth testbed is the host smoke run's; here the one only the VM has
    const r = await bootVm({ job: 'bench --on nics --seconds 1 --runs 1', timeoutMs: TIMEOUT_MS });
    assert.equal(r.status, 0, explain(r));
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
