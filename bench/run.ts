// `make bench`: packets per second through the director, side by side in one
// run, counted at the real server by an XDP counter (bpf/sink.bpf.o).
// Traffic: 64-byte frames from trafgen over 10,000 flows (UDP), or TCP SYNs
// from random sources and ports (every packet a new flow). Modes: the XDP
// ceiling (bpf/ceiling.bpf.o: fixed MAC rewrite + XDP_TX on the same path),
// xdpvs DR / TUN / DR under a SYN flood, and kernel IPVS DR / TUN / DR under
// a SYN flood where the director's kernel has ip_vs. Testbeds (--on):
// namespaces joined by veth on this machine; the qemu VM booting Debian's
// kernel (bench/vm, which has ip_vs), where the same runs plus a testbed of
// virtio-net NICs (nics); or separate machines (--hosts-file, the
// Vagrantfile's). Ratios are compared within one testbed only. Where the
// director is this machine, the director's cost per packet in ns too
// (cost.ts: BPF_PROG_TEST_RUN over bpf/cost.bpf.o).
// A benchmark never asserts a speed.
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { buildMaglevRing } from '../agent/sched/maglev';
import { ask } from '../agent/control/client';
import { median, writeSuite, type BenchReport, type BenchSuite, type ModeResult } from './report';
import { AGENT_STOP_MS, HostsTestbed, LabTestbed, OBJ, XdpOnMachine, nicTestbed, on, readHostsFile, spawnOn, type Machine, type Testbed } from './testbed';
import { VM_NICS, runInVm } from './vm';
import { costLine, measureCosts, type CostResult } from './cost';

const ROOT = path.join(__dirname, '..', '..');
const FLOWS = 10_000;
/**
 * How long an agent may take to start: a bound, not a measure. Under
 * software emulation on a busy host, node alone has taken over 30 s to
 * print its first line.
 */
const AGENT_START_MS = 90_000;

export interface BenchOptions {
  seconds: number;
  runs: number;
  /** false: no control-plane timings (the VM layer's smoke run: the host's smoke run has them) */
  controlPlane?: boolean;
}

export function trafgenConf(kind: 'udp' | 'syn', dstMac: string, srcMac: string, src: string, vip: string): string {
  const eth = `eth(da=${dstMac}, sa=${srcMac}, type=0x0800)`;
  if (kind === 'udp') {
    // 14 + 20 + 8 + 18 = 60 bytes, 64 on the wire with the FCS
    return `{ ${eth}, ipv4(sa=${src}, da=${vip}, ttl=64), udp(sp=dinc(1024, ${1024 + FLOWS - 1}), dp=80), fill(0x41, 18) }\n`;
  }
  return `{ ${eth}, ipv4(sa=${src}, sa[2:2]=drnd(), da=${vip}, ttl=64), tcp(sp=drnd(), dp=80, syn), fill(0x41, 6) }\n`;
}

/** Softirq time of all CPUs from the director's /proc/stat "cpu" line, in seconds. */
function softirqSeconds(tb: Testbed, hz: number): number {
  const f = on(tb.director, ['cat', '/proc/stat']).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return f[6]! / hz;
}

type Setup = () => Promise<() => Promise<void>>;

class Bench {
  private readonly sink: XdpOnMachine;
  private readonly hz: number;

  constructor(
    readonly tb: Testbed,
    private readonly opts: BenchOptions,
  ) {
    // the sink takes only traffic to the VIP (and tunnelled): the real's own
    // traffic, ssh on separate machines included, passes
    this.sink = XdpOnMachine.attach(tb.real, OBJ('sink'), tb.pinRoot, 'sink', { sinkvip: Buffer.from(tb.vip.split('.').map(Number)) });
    this.hz = Number(on(tb.director, ['getconf', 'CLK_TCK']).trim()) || 100;
  }

  /** Takes the sink off the real (on separate machines it would stay). */
  close(): void {
    this.sink.detach();
  }

  /**
   * The testbed's own check: with nothing on the director (no XDP, no IPVS)
   * the sink must count (almost) nothing, else frames reach
   * the real another way (a hub flooding, a switch learning) and every
   * figure would be wrong. Returns what leaked, in pps.
   */
  async leakCheck(): Promise<number> {
    return (await this.run('udp', 1)).pps;
  }

  /** One run: trafgen for `seconds` + 1.5, pps at the sink after a 1 s warm-up. */
  private async run(kind: 'udp' | 'syn', seconds = this.opts.seconds): Promise<{ pps: number; softirqCores: number }> {
    const { client, director, vip } = this.tb;
    const gen = spawnOn(client, ['timeout', '-s', 'INT', String(seconds + 1.5), 'trafgen', '-o', client.dev, '-i', '-', '-P', '1']);
    gen.stdin!.end(trafgenConf(kind, director.mac, client.mac, client.addr, vip));
    let err = '';
    gen.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    gen.stdout!.resume();
    const exited = once(gen, 'exit');
    await new Promise((r) => setTimeout(r, 1000));
    const c0 = this.sink.sumPerCpu('sinkcount');
    const cpu0 = softirqSeconds(this.tb, this.hz);
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const c1 = this.sink.sumPerCpu('sinkcount');
    const cpu1 = softirqSeconds(this.tb, this.hz);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const [code] = (gen.exitCode === null ? await exited : [gen.exitCode]) as [number | null];
    // timeout(1) exits 124 when it stopped trafgen, as intended
    if (code !== 124 && code !== 0) throw new Error(`trafgen on ${client.name} exited with ${code}: ${err.trim().split('\n').slice(-3).join(' ')}`);
    return { pps: (c1 - c0) / wall, softirqCores: (cpu1 - cpu0) / wall };
  }

  async mode(mode: string, description: string, kind: 'udp' | 'syn', setup: Setup): Promise<ModeResult> {
    const teardown = await setup();
    try {
      const runs: number[] = [];
      const softirqCores: number[] = [];
      for (let i = 0; i < this.opts.runs; i++) {
        const r = await this.run(kind);
        runs.push(r.pps);
        softirqCores.push(r.softirqCores);
      }
      console.log(`${mode.padEnd(22)} ${runs.map((r) => Math.round(r)).join(' ')} pps`);
      return { mode, description, runs, softirqCores };
    } finally {
      await teardown();
    }
  }

  ceiling: Setup = async () => {
    const { director, real, pinRoot } = this.tb;
    const x = XdpOnMachine.attach(director, OBJ('ceiling'), pinRoot, 'ceiling');
    x.setMap('ceiltarget', Buffer.alloc(4), Buffer.concat([Buffer.from(real.mac.replace(/:/g, ''), 'hex'), Buffer.alloc(2)]));
    return async () => x.detach();
  };

  director =
    (method: 'dr' | 'tun'): Setup =>
    async () => {
      const { vip, real } = this.tb;
      const service = (proto: string): string[] => [`  - vip: ${vip}`, '    port: 80', `    protocol: ${proto}`, `    lb_kind: ${method}`, '    reals:', `      - address: ${real.addr}`];
      const cfg = this.tb.writeFile(`bench-${method}.yaml`, ['services:', ...service('udp'), ...service('tcp')].join('\n'));
      const { agent } = this.tb.startAgent(cfg, ['--no-metrics', '--log-level', 'info']);
      await agent.waitFor(/xdpvs running/, AGENT_START_MS);
      await agent.waitFor(/real reached/, 10_000, true);
      return () => agent.stop(AGENT_STOP_MS);
    };

  ipvs =
    (method: 'dr' | 'tun'): Setup =>
    async () => {
      const { director: d, vip, real } = this.tb;
      // the VIP is local to IPVS's director; sources are random in the SYN
      // flood, so no reverse-path filter (put back afterwards)
      const rpKeys = ['net.ipv4.conf.all.rp_filter', `net.ipv4.conf.${d.dev}.rp_filter`];
      const rpSaved = rpKeys.map((k) => `${k}=${on(d, ['sysctl', '-n', k]).trim()}`);
      on(d, ['sysctl', '-qw', ...rpKeys.map((k) => `${k}=0`)]);
      on(d, ['ip', 'addr', 'add', `${vip}/32`, 'dev', 'lo']);
      for (const proto of ['-u', '-t']) {
        on(d, ['ipvsadm', '-A', proto, `${vip}:80`, '-s', 'mh']);
        on(d, ['ipvsadm', '-a', proto, `${vip}:80`, '-r', `${real.addr}:80`, method === 'dr' ? '-g' : '-i']);
      }
      return async () => {
        for (const proto of ['-u', '-t']) on(d, ['ipvsadm', '-D', proto, `${vip}:80`]);
        on(d, ['ip', 'addr', 'del', `${vip}/32`, 'dev', 'lo']);
        on(d, ['sysctl', '-qw', ...rpSaved]);
      };
    };

  /** Whether the director's kernel has IPVS (loads the module when it can). */
  hasIpvs(): boolean {
    try {
      on(this.tb.director, ['modprobe', '-q', 'ip_vs']);
      on(this.tb.director, ['ipvsadm', '-L', '-n']);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * From a check failing to the real being out of the maps (the agent times its
 * own map write), and from `real weight` on the control socket to its answer,
 * which comes after the maps are written. Medians of `n` tries.
 */
async function changeTimes(tb: Testbed, n: number): Promise<Record<string, number>> {
  const flag = tb.writeFile('real-ok', '');
  const cfg = tb.writeFile(
    'bench-cp.yaml',
    ['services:', `  - vip: ${tb.vip}`, '    port: 80', '    delay_loop: 0.2', '    reals:', `      - address: ${tb.real.addr}`,
      `        checks: [{ type: misc, misc_path: "test -f ${flag}", retry: 0 }]`].join('\n'),
  );
  const { agent, stateDir } = tb.startAgent(cfg, ['--no-metrics']);
  try {
    await agent.waitFor(/xdpvs running/, AGENT_START_MS);
    const checkToMap: number[] = [];
    const weightToMap: number[] = [];
    for (let i = 0; i < n; i++) {
      let mark = agent.mark();
      fs.rmSync(flag);
      checkToMap.push(Number(/"mapMs":([\d.]+)/.exec(await agent.waitFor(/real down/, 10_000, mark))?.[1]));
      mark = agent.mark();
      fs.writeFileSync(flag, '');
      await agent.waitFor(/real up/, 10_000, mark);
      const t = process.hrtime.bigint();
      const a = await ask(stateDir, { cmd: 'real', service: `tcp ${tb.vip}:80`, real: `${tb.real.addr}:80`, weight: 2 + (i % 2) });
      if (!a.ok) throw new Error(a.error);
      weightToMap.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return {
      'health check failed -> maps written': median(checkToMap),
      'real weight (control socket) -> maps written, answered': median(weightToMap),
    };
  } finally {
    await agent.stop(AGENT_STOP_MS);
  }
}

/** How many reals the next-hop measurement configures (all on the testbed's real machine); smoke runs (--seconds under 5): 200. */
const REACH_REALS = 1000;
const REACH_REALS_SMOKE = 200;
/** the idle window of a full run: it spans one 30 s resync of every next hop (smoke runs: 1 s) */
const REACH_IDLE_FULL_S = 31;

/** CPU seconds (user + system) a process on `m` has used so far. */
function cpuSeconds(m: Machine, pid: string): number {
  const stat = on(m, ['cat', `/proc/${pid}/stat`]);
  // the fields after the command name, which is in parentheses and may hold spaces
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const tck = Number(on(m, ['getconf', 'CLK_TCK']).trim()) || 100;
  return (Number(f[11]) + Number(f[12])) / tck;
}

/**
 * Next hops at scale: `reals` reals (addresses of a /22 on the real's
 * device, on-link from the director), from the agent's start to every real
 * reached, and the CPU the agent then uses at idle (after 3 s to settle),
 * kernel events and resyncs included. The addresses and the route are
 * removed afterwards.
 */
async function reachTimes(tb: Testbed, reals: number, idleSeconds: number): Promise<Record<string, number>> {
  const { director: d, real } = tb;
  const addrs = Array.from({ length: reals }, (_, i) => `10.201.${(i + 1) >> 8}.${(i + 1) & 255}`);
  on(real, ['ip', '-batch', '-'], addrs.map((a) => `addr add ${a}/32 dev ${real.dev}\n`).join(''));
  on(d, ['ip', 'route', 'add', '10.201.0.0/22', 'dev', d.dev]);
  // an empty flow table (the SYN flood modes leave it full): the figure is the next hops', not the flow census's
  on(d, ['rm', '-rf', tb.agentPinDir]);
  const cfg = tb.writeFile('bench-reach.yaml', ['services:', `  - vip: ${tb.vip}`, '    port: 80', '    reals:', ...addrs.map((a) => `      - address: ${a}`)].join('\n'));
  const t0 = Date.now();
  const { agent } = tb.startAgent(cfg, ['--no-metrics', '--log-level', 'info']);
  try {
    await agent.waitFor(/xdpvs running/, AGENT_START_MS);
    const deadline = Date.now() + 60_000;
    let reached = 0;
    while (reached < reals && Date.now() < deadline) {
      reached = agent.lines.filter((l) => /"msg":"real reached"/.test(l)).length;
      if (reached < reals) await new Promise((r) => setTimeout(r, 100));
    }
    if (reached < reals) throw new Error(`${reached} of ${reals} reals reached in 60 s`);
    const allReached = Date.now() - t0;
    // the last reconcile, logs and garbage of the start settle first
    await new Promise((r) => setTimeout(r, Math.min(3, idleSeconds) * 1000));
    const pid = on(d, ['pgrep', '-n', '-f', `xdpvs run -f ${cfg}`]).trim();
    const c0 = cpuSeconds(d, pid);
    const w0 = Date.now();
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const cpu = ((cpuSeconds(d, pid) - c0) / ((Date.now() - w0) / 1000)) * 1000;
    return {
      [`${reals} reals: agent start -> every real reached`]: allReached,
      [`${reals} reals: agent CPU at idle, ms per second (10 = 1% of a core)`]: cpu,
    };
  } finally {
    await agent.stop(AGENT_STOP_MS);
    on(d, ['ip', 'route', 'del', '10.201.0.0/22', 'dev', d.dev]);
    on(real, ['ip', '-force', '-batch', '-'], addrs.map((a) => `addr del ${a}/32 dev ${real.dev}\n`).join(''));
  }
}

function maglevTimes(): Record<string, number> {
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

/**
 * The per-packet costs, on the machine of a namespace testbed (the director
 * runs here): 7 rounds of 200,000 runs per path, a full 1M-entry flow
 * table; a smoke run (--seconds under 5), one round of 20,000 and a table of
 * 65,536.
 */
function costsHere(opts: BenchOptions): CostResult[] {
  const costs = opts.seconds >= 5 ? measureCosts({ rounds: 7, repeat: 200_000 }) : measureCosts({ rounds: 1, repeat: 20_000, flows: 65_536 });
  for (const c of costs) console.log(`cost ${costLine(c)}`);
  return costs;
}

/** Every mode on one testbed; IPVS modes are "not measured" where the kernel has no ip_vs. */
export async function benchOn(tb: Testbed, opts: BenchOptions, label: string): Promise<BenchReport> {
  const b = new Bench(tb, opts);
  try {
    const modes: ModeResult[] = [];
    const leakPps = await b.leakCheck();
    modes.push(await b.mode('ceiling', 'fixed MAC rewrite + XDP_TX (no parsing, no lookup)', 'udp', b.ceiling));
    const ceiling = median(modes[0]!.runs);
    if (leakPps > 0.01 * ceiling) {
      throw new Error(`${label}: the real counts ${Math.round(leakPps)} pps with nothing on the director (${Math.round(ceiling)} pps through the ceiling): frames reach it another way, so no figure would mean anything`);
    }
    modes.push(await b.mode('xdpvs-dr', 'xdpvs Direct Routing, 10k UDP flows', 'udp', b.director('dr')));
    modes.push(await b.mode('xdpvs-tun', 'xdpvs IPIP tunnel, 10k UDP flows', 'udp', b.director('tun')));
    modes.push(await b.mode('xdpvs-dr-synflood', 'xdpvs DR, TCP SYNs from random sources: a new flow each packet', 'syn', b.director('dr')));
    const ipvs: [string, string, 'udp' | 'syn', Setup][] = [
      ['ipvs-dr', 'kernel IPVS Direct Routing (mh), 10k UDP flows', 'udp', b.ipvs('dr')],
      ['ipvs-tun', 'kernel IPVS IPIP tunnel (mh), 10k UDP flows', 'udp', b.ipvs('tun')],
      ['ipvs-dr-synflood', 'kernel IPVS DR, TCP SYNs from random sources: a new connection each packet', 'syn', b.ipvs('dr')],
    ];
    const kernel = on(tb.director, ['uname', '-r']).trim();
    const withIpvs = b.hasIpvs();
    for (const [mode, description, kind, setup] of ipvs) {
      if (withIpvs) modes.push(await b.mode(mode, description, kind, setup));
      else modes.push({ mode, description, runs: [], note: `kernel ${kernel} has no ip_vs: see the VM testbed` });
    }
    return {
      label,
      where: tb.where,
      host: on(tb.director, ['uname', '-n']).trim(),
      kernel,
      cpus: Number(on(tb.director, ['nproc']).trim()),
      cpuModel: /^model name\s*:\s*(.+)$/m.exec(on(tb.director, ['cat', '/proc/cpuinfo']))?.[1]?.trim() ?? 'unknown',
      seconds: opts.seconds,
      flows: FLOWS,
      frameBytes: 64,
      leakPps,
      modes,
      ...(tb instanceof LabTestbed ? { costs: costsHere(opts) } : {}),
      controlPlane:
        opts.controlPlane === false
          ? {}
          : { ...maglevTimes(), ...(await changeTimes(tb, Math.max(1, opts.runs))), ...(await (opts.seconds >= 5 ? reachTimes(tb, REACH_REALS, REACH_IDLE_FULL_S) : reachTimes(tb, REACH_REALS_SMOKE, 1))) },
    };
  } finally {
    b.close();
  }
}

/** A testbed, used and always cleaned up (also on SIGINT). */
async function withTestbed<T>(make: () => Testbed, use: (tb: Testbed) => Promise<T>): Promise<T> {
  const tb = make();
  const onInt = (): void => void tb.cleanup().then(() => process.exit(130));
  process.once('SIGINT', onInt);
  try {
    return await use(tb);
  } finally {
    process.removeListener('SIGINT', onInt);
    await tb.cleanup();
  }
}

/** The namespace testbed on this machine: what `make test`'s smoke run uses. */
export function benchHost(opts: BenchOptions): Promise<BenchReport> {
  return withTestbed(() => new LabTestbed(), (tb) => benchOn(tb, opts, 'host'));
}

export const TESTBEDS = ['host', 'vm', 'hosts', 'nics'] as const;

const NICS_WHERE = 'three virtio-net NICs on one qemu hub (client, director, real), one namespace each: XDP in a NIC driver';

/** One testbed of this machine (not the VM, which runs these inside). */
async function benchHere(where: string, o: BenchOptions & { hosts?: ReturnType<typeof readHostsFile> }): Promise<BenchReport> {
  if (where === 'host') return benchHost(o);
  if (where === 'nics') return withTestbed(() => nicTestbed(VM_NICS, NICS_WHERE), (tb) => benchOn(tb, o, 'nics'));
  return withTestbed(() => new HostsTestbed(o.hosts!), (tb) => benchOn(tb, o, 'hosts'));
}

export interface RunOptions extends BenchOptions {
  on: string[];
  hostsFile?: string;
  out: string;
  vmTimeoutMin: number;
}

/** Rejects unknown testbeds before anything runs; reads the hosts file. */
function checkTestbeds(on: string[], hostsFile?: string): ReturnType<typeof readHostsFile> | undefined {
  for (const where of on) if (!(TESTBEDS as readonly string[]).includes(where)) throw new Error(`--on: unknown testbed "${where}" (${TESTBEDS.join(', ')})`);
  if (on.includes('hosts') && !hostsFile) throw new Error('--on hosts needs --hosts-file FILE');
  return hostsFile ? readHostsFile(hostsFile) : undefined;
}

export async function runBench(o: RunOptions): Promise<{ suite: BenchSuite; files: string[] }> {
  const hosts = checkTestbeds(o.on, o.hostsFile);
  const environments: BenchReport[] = [];
  for (const where of o.on) {
    console.log(`\n== testbed: ${where}`);
    if (where === 'vm') environments.push(...(await runInVm({ seconds: o.seconds, runs: o.runs, timeoutMs: o.vmTimeoutMin * 60_000 })));
    else environments.push(await benchHere(where, { ...o, hosts }));
  }
  const suite: BenchSuite = {
    date: new Date().toISOString().slice(0, 10),
    host: os.hostname(),
    command: `node dist/bench/run.js --on ${o.on.join(',')} --seconds ${o.seconds} --runs ${o.runs}`,
    environments,
  };
  return { suite, files: writeSuite(suite, o.out) };
}

if (require.main === module) {
  const cmd = new Command('bench')
    .description('packets per second through the director, counted at the real server; where the director is this machine, its cost per packet in ns (BPF_PROG_TEST_RUN)')
    .option(
      '--on <testbeds>',
      "comma-separated testbeds: host (namespaces and veth here), vm (a qemu VM with Debian's kernel, which has ip_vs: its veth and its virtio-net testbeds), hosts (the machines of --hosts-file), nics (the VM's virtio-net NICs; used inside the VM)",
      'host,vm',
    )
    .option('--hosts-file <file>', 'client, director and real for --on hosts (see bench/vagrant-hosts.json)')
    .option('--seconds <n>', 'measured seconds per run', '5')
    .option('--runs <n>', 'runs per mode', '3')
    .option('--out <dir>', 'where the report goes', path.join(ROOT, 'bench', 'results'))
    .option('--vm-timeout <minutes>', 'the VM testbed is stopped after this long', '30')
    .option('--json <file>', 'write the testbeds\' reports (a JSON list) there and nothing else (the VM uses this; not with --on vm)')
    .option('--no-control-plane', 'skip the control-plane timings (ring builds, check and weight to the maps, next hops of many reals)')
    .action(async (o: { on: string; hostsFile?: string; seconds: string; runs: string; out: string; vmTimeout: string; json?: string; controlPlane: boolean }) => {
      const num = (v: string, flag: string): number => {
        const n = Number(v);
        if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag}: expected a positive number, got "${v}"`);
        return n;
      };
      const opts = { seconds: num(o.seconds, '--seconds'), runs: Math.round(num(o.runs, '--runs')), controlPlane: o.controlPlane };
      const on = o.on.split(',').map((s) => s.trim()).filter(Boolean);
      if (o.json) {
        if (on.includes('vm')) throw new Error('--json: not with --on vm');
        const hosts = checkTestbeds(on, o.hostsFile);
        const reports: BenchReport[] = [];
        for (const where of on) reports.push(await benchHere(where, { ...opts, hosts }));
        fs.writeFileSync(o.json, `${JSON.stringify(reports, null, 2)}\n`);
        return;
      }
      const { files } = await runBench({ ...opts, on, hostsFile: o.hostsFile, out: o.out, vmTimeoutMin: num(o.vmTimeout, '--vm-timeout') });
      console.log(`\nreport: ${files.join(', ')}\n`);
      console.log(fs.readFileSync(files[1]!, 'utf8'));
    });
  cmd.parseAsync(process.argv).catch((err: Error) => {
    console.error(`bench: ${err.message}`);
    process.exitCode = 1;
  });
}
