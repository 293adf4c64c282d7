// `make bench`: packets per second through the director, side by side in one
// run, counted at the real server by an XDP counter (bpf/sink.bpf.o).
// Traffic: 64-byte frames from trafgen over 10,000 flows (UDP), or TCP SYNs
// from random sources and ports (every packet a new flow). Modes measured on
// this host, in namespaces: the XDP ceiling (bpf/ceiling.bpf.o: fixed MAC
// rewrite + XDP_TX on the same path), xdpvs DR, xdpvs TUN, xdpvs DR under a
// SYN flood. Kernel IPVS needs a kernel with ip_vs: those modes run in the
// VM runner (bench/vm/), reported as not measured when it did not run.
// A benchmark never asserts a speed.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { Lab } from '../agent/lab/lab';
import { sh } from '../agent/lab/netns';
import { buildMaglevRing } from '../agent/sched/maglev';
import { openPinnedMap } from '../native/index';
import { ask } from '../agent/control/client';
import { median, writeReport, type BenchReport, type ModeResult } from './report';

const ROOT = path.join(__dirname, '..', '..');
const OBJ = (n: string): string => path.join(ROOT, 'bpf', 'build', `${n}.bpf.o`);
const ATTACH = path.join(ROOT, 'dist', 'bench', 'attach.js');
const FLOWS = 10_000;

export interface BenchOptions {
  seconds: number;
  runs: number;
  out: string;
}

function macOf(ns: string, dev: string): string {
  return sh('ip', ['-n', ns, '-br', 'link', 'show', 'dev', dev]).trim().split(/\s+/)[2]!;
}

function trafgenConf(kind: 'udp' | 'syn', dstMac: string, srcMac: string, vip: string): string {
  const eth = `eth(da=${dstMac}, sa=${srcMac}, type=0x0800)`;
  if (kind === 'udp') {
    // 14 + 20 + 8 + 18 = 60 bytes, 64 on the wire with the FCS
    return `{ ${eth}, ipv4(sa=198.18.0.200, da=${vip}, ttl=64), udp(sp=dinc(1024, ${1024 + FLOWS - 1}), dp=80), fill(0x41, 18) }\n`;
  }
  return `{ ${eth}, ipv4(sa=198.18.0.200, sa[2:2]=drnd(), da=${vip}, ttl=64), tcp(sp=drnd(), dp=80, syn), fill(0x41, 6) }\n`;
}

class Bench {
  readonly lab = new Lab({ tag: 'b', reals: 1 });
  private readonly count: ReturnType<typeof openPinnedMap>;
  readonly dirMac: string;
  readonly clientMac: string;

  constructor(private readonly opts: BenchOptions) {
    const real = this.lab.reals[0]!;
    const pin = path.join(this.lab.bpffs, 'sink');
    fs.mkdirSync(pin);
    sh('ip', ['netns', 'exec', real.ns, process.execPath, ATTACH, OBJ('sink'), 'xdpvs_sink', real.dev, pin]);
    this.count = openPinnedMap(path.join(pin, 'sinkcount'));
    const dir = this.lab.directors[0]!;
    this.dirMac = macOf(dir.ns, dir.dev);
    this.clientMac = macOf(this.lab.client.ns, this.lab.client.dev);
  }

  private sunk(): number {
    return (this.count.lookupPerCpu(Buffer.alloc(4)) ?? []).reduce((n, b) => n + Number(b.readBigUInt64LE(0)), 0);
  }

  /** One run: trafgen for `seconds` + 1, pps counted at the sink after a 1 s warm-up. */
  async run(kind: 'udp' | 'syn'): Promise<number> {
    const conf = this.lab.writeConfig(`trafgen-${kind}.cfg`, trafgenConf(kind, this.dirMac, this.clientMac, this.lab.vip));
    const gen = spawn('ip', ['netns', 'exec', this.lab.client.ns, 'timeout', '-s', 'INT', String(this.opts.seconds + 1.5), 'trafgen', '-o', this.lab.client.dev, '-i', conf, '-P', '1'], {
      stdio: 'ignore',
    });
    await new Promise((r) => setTimeout(r, 1000));
    const c0 = this.sunk();
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, this.opts.seconds * 1000));
    const c1 = this.sunk();
    const t1 = process.hrtime.bigint();
    if (gen.exitCode === null) await once(gen, 'exit');
    return (c1 - c0) / (Number(t1 - t0) / 1e9);
  }

  async mode(mode: string, description: string, kind: 'udp' | 'syn', setup: () => Promise<() => Promise<void>>): Promise<ModeResult> {
    const teardown = await setup();
    try {
      const runs: number[] = [];
      for (let i = 0; i < this.opts.runs; i++) runs.push(await this.run(kind));
      console.log(`${mode.padEnd(22)} ${runs.map((r) => Math.round(r)).join(' ')} pps`);
      return { mode, description, runs };
    } finally {
      await teardown();
    }
  }

  ceiling = async (): Promise<() => Promise<void>> => {
    const dir = this.lab.directors[0]!;
    const pin = path.join(this.lab.bpffs, 'ceiling');
    fs.mkdirSync(pin, { recursive: true });
    const target = `${macOf(this.lab.reals[0]!.ns, this.lab.reals[0]!.dev).replace(/:/g, '')}0000`;
    sh('ip', ['netns', 'exec', dir.ns, process.execPath, ATTACH, OBJ('ceiling'), 'xdpvs_ceiling', dir.dev, pin, `ceiltarget=${target}`]);
    return async () => {
      sh('ip', ['-n', dir.ns, 'link', 'set', 'dev', dir.dev, 'xdp', 'off']);
    };
  };

  director = (method: 'dr' | 'tun') => async (): Promise<() => Promise<void>> => {
    const cfg = this.lab.writeConfig(
      `bench-${method}.yaml`,
      ['services:', `  - vip: ${this.lab.vip}`, '    port: 80', '    protocol: udp', `    lb_kind: ${method}`, '    reals:', '      - address: 198.18.0.11', '  - vip: 198.18.1.100', '    port: 80', '    protocol: tcp', `    lb_kind: ${method}`, '    reals:', '      - address: 198.18.0.11'].join('\n'),
    );
    const agent = this.lab.startAgent(cfg, 0, ['--no-metrics', '--log-level', 'info']);
    await agent.waitFor(/xdpvs running/, 20_000);
    await agent.waitFor(/real reached/, 10_000, true);
    return async () => {
      agent.signal('SIGTERM');
      await agent.exited;
    };
  };
}

/**
 * From a check failing to the real being out of the maps (the agent times its
 * own map write), and from `real weight` on the control socket to its answer,
 * which comes after the maps are written. Medians of `n` tries.
 */
async function changeTimes(b: Bench, n: number): Promise<Record<string, number>> {
  const flag = path.join(b.lab.workDir, 'real-ok');
  fs.writeFileSync(flag, '');
  const cfg = b.lab.writeConfig(
    'bench-cp.yaml',
    ['services:', `  - vip: ${b.lab.vip}`, '    port: 80', '    delay_loop: 0.2', '    reals:', '      - address: 198.18.0.11',
      `        checks: [{ type: misc, misc_path: "test -f ${flag}", retry: 0 }]`].join('\n'),
  );
  const agent = b.lab.startAgent(cfg, 0, ['--no-metrics']);
  const stateDir = path.join(b.lab.workDir, 'state-0');
  try {
    await agent.waitFor(/xdpvs running/, 20_000);
    const checkToMap: number[] = [];
    const weightToMap: number[] = [];
    for (let i = 0; i < n; i++) {
      let mark = agent.mark();
      fs.rmSync(flag);
      checkToMap.push(Number(/"mapMs":([\d.]+)/.exec(await agent.waitFor(/real down/, 5_000, mark))?.[1]));
      mark = agent.mark();
      fs.writeFileSync(flag, '');
      await agent.waitFor(/real up/, 5_000, mark);
      const t = process.hrtime.bigint();
      const a = await ask(stateDir, { cmd: 'real', service: `tcp ${b.lab.vip}:80`, real: '198.18.0.11:80', weight: 2 + (i % 2) });
      if (!a.ok) throw new Error(a.error);
      weightToMap.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return {
      'health check failed -> maps written': median(checkToMap),
      'real weight (control socket) -> maps written, answered': median(weightToMap),
    };
  } finally {
    agent.signal('SIGTERM');
    await agent.exited;
  }
}

function controlPlane(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of [10, 100, 1000]) {
    const reals = Array.from({ length: n }, (_, i) => ({ key: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}:80`, id: i + 1, weight: 1 + (i % 3) }));
    const times: number[] = [];
    for (let k = 0; k < 5; k++) {
      const t = process.hrtime.bigint();
      buildMaglevRing(reals, 65537);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    out[`Maglev ring 65537 slots, ${n} reals`] = median(times);
  }
  return out;
}

export async function runBench(opts: BenchOptions): Promise<{ report: BenchReport; files: string[] }> {
  const b = new Bench(opts);
  const cleanup = (): void => void b.lab.cleanup().then(() => process.exit(130));
  process.once('SIGINT', cleanup);
  try {
    const modes: ModeResult[] = [];
    modes.push(await b.mode('ceiling', 'fixed MAC rewrite + XDP_TX (no parsing, no lookup)', 'udp', b.ceiling));
    modes.push(await b.mode('xdpvs-dr', 'xdpvs Direct Routing, 10k UDP flows', 'udp', b.director('dr')));
    modes.push(await b.mode('xdpvs-tun', 'xdpvs IPIP tunnel, 10k UDP flows', 'udp', b.director('tun')));
    modes.push(await b.mode('xdpvs-dr-synflood', 'xdpvs DR, TCP SYNs from random sources: a new flow each packet', 'syn', b.director('dr')));
    for (const mode of ['ipvs-dr', 'ipvs-tun']) {
      modes.push({ mode, description: `kernel IPVS ${mode.slice(5).toUpperCase()}`, runs: [], note: 'this kernel has no ip_vs: measured by the VM runner (bench/vm), not built yet' });
    }
    const report: BenchReport = {
      date: new Date().toISOString().slice(0, 10),
      host: os.hostname(),
      kernel: os.release(),
      cpus: os.cpus().length,
      seconds: opts.seconds,
      flows: FLOWS,
      frameBytes: 64,
      modes,
      controlPlane: { ...controlPlane(), ...(await changeTimes(b, Math.max(1, opts.runs))) },
    };
    return { report, files: writeReport(report, opts.out) };
  } finally {
    process.removeListener('SIGINT', cleanup);
    await b.lab.cleanup();
  }
}

if (require.main === module) {
  const cmd = new Command('bench')
    .description('packets per second through the director, counted at the real server')
    .option('--seconds <n>', 'measured seconds per run', '5')
    .option('--runs <n>', 'runs per mode', '3')
    .option('--out <dir>', 'where the report goes', path.join(ROOT, 'bench', 'results'))
    .action(async (o: { seconds: string; runs: string; out: string }) => {
      const { files } = await runBench({ seconds: Number(o.seconds), runs: Number(o.runs), out: o.out });
      console.log(`\nreport: ${files.join(', ')}`);
      console.log(fs.readFileSync(files[1]!, 'utf8'));
    });
  cmd.parseAsync(process.argv).catch((err: Error) => {
    console.error(`bench: ${err.message}`);
    process.exitCode = 1;
  });
}
