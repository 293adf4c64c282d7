// A quick run of the benchmark harness so it cannot rot: every mode this
// kernel can run forwards something to the sink, and the report is written.
// Never a speed.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runBench } from '../../bench/run';
import { Lab } from '../lab/lab';
import { sh } from '../lab/netns';
import { requireRoot } from '../support/root';

describe('benchmark harness (smoke run)', () => {
  it('measures every host mode (> 0 pps at the real server) and writes JSON, markdown and SVG', async () => {
    requireRoot('netns');
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-bench-'));
    try {
      const { suite, files } = await runBench({ on: ['host'], seconds: 1, runs: 1, out, vmTimeoutMin: 1 });
      assert.equal(suite.environments.length, 1);
      const report = suite.environments[0]!;
      const measured = report.modes.filter((m) => m.runs.length > 0);
      // this kernel has no ip_vs; where it has, the IPVS modes are measured too
      const hasIpvs = fs.existsSync('/proc/net/ip_vs');
      const ipvsModes = ['ipvs-dr', 'ipvs-tun', 'ipvs-dr-synflood'];
      assert.deepEqual(measured.map((m) => m.mode), ['ceiling', 'xdpvs-dr', 'xdpvs-tun', 'xdpvs-dr-synflood', ...(hasIpvs ? ipvsModes : [])]);
      for (const m of measured) {
        assert.ok(m.runs[0]! > 0, `${m.mode}: ${m.runs[0]} pps`);
        assert.equal(m.softirqCores?.length, 1);
        assert.ok(m.softirqCores![0]! >= 0, `${m.mode}: softirq cores ${m.softirqCores![0]}`);
      }
      if (!hasIpvs) {
        const unmeasured = report.modes.filter((m) => m.runs.length === 0);
        assert.deepEqual(unmeasured.map((m) => m.mode), ipvsModes);
        for (const m of unmeasured) assert.match(m.note ?? '', /has no ip_vs/);
      }
      // a bridge floods a few frames before it has learnt the director's MAC
      const ceiling = report.modes.find((m) => m.mode === 'ceiling')!.runs[0]!;
      assert.ok(report.leakPps < 0.01 * ceiling, `${report.leakPps} pps reach the real with nothing on the director`);
      assert.equal(Object.keys(report.controlPlane).length, 7);
      for (const [k, v] of Object.entries(report.controlPlane)) assert.ok(Number.isFinite(v) && v >= 0, `${k}: ${v}`);
      // the director is this machine: its cost per packet is in the report, every path measured once
      assert.deepEqual(report.costs?.map((c) => [c.case, c.ns.length]), ['ceiling', 'dr', 'tun', 'dr-ipv6', 'tun-ipv6', 'dr-vlan', 'new-flow', 'syn-flood'].map((c) => [c, 1]));
      assert.match(fs.readFileSync(files[1]!, 'utf8'), /\| dr: DR, established flow, 60-byte UDP \| [\d.]+ \|/);
      for (const f of files) assert.ok(fs.statSync(f).size > 100, f);
      assert.match(fs.readFileSync(files[1]!, 'utf8'), /\| xdpvs-dr \| [\d.]+ [kM]? ?\|/);
      assert.match(fs.readFileSync(files[2]!, 'utf8'), /^<svg /);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('runs on the machines of a hosts file (the Vagrant topology), here namespaces reached by command prefixes', async () => {
    requireRoot('netns');
    const lab = new Lab({ tag: 'bh', reals: 1 });
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-bench-'));
    try {
      const prefix = (ns: string): string[] => ['ip', 'netns', 'exec', ns];
      const hostsFile = path.join(out, 'hosts.json');
      // no "dev": the testbed finds the interface holding each address
      fs.writeFileSync(hostsFile, JSON.stringify({
        vip: lab.vip,
        bpffs: lab.bpffs,
        director: { addr: lab.directors[0]!.addr, exec: prefix(lab.directors[0]!.ns) },
        client: { addr: lab.client.addr, exec: prefix(lab.client.ns) },
        real: { addr: lab.reals[0]!.addr, exec: prefix(lab.reals[0]!.ns) },
      }));
      // the control-plane timings are the test above's
      const { suite } = await runBench({ on: ['hosts'], hostsFile, seconds: 1, runs: 1, out, vmTimeoutMin: 1, controlPlane: false });
      const report = suite.environments[0]!;
      assert.equal(report.label, 'hosts');
      assert.deepEqual(report.controlPlane, {});
      assert.equal(report.costs, undefined, 'the director of a hosts file is another machine: no cost per packet here');
      assert.match(report.where, new RegExp(`director ip netns exec ${lab.directors[0]!.ns} \\(${lab.directors[0]!.dev}\\)`));
      for (const m of report.modes.filter((x) => x.mode.startsWith('xdpvs') || x.mode === 'ceiling')) assert.ok(m.runs[0]! > 0, `${m.mode}: ${m.runs[0]} pps`);
      // machines are left as they were found: no XDP program on the real or the director
      for (const h of [lab.reals[0]!, lab.directors[0]!]) assert.doesNotMatch(sh('ip', ['-n', h.ns, 'link', 'show', 'dev', h.dev]), /xdp/, h.name);
    } finally {
      await lab.cleanup();
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
