// The Debian VM: this machine's kernel may have no IPVS and is newer than
// the Debian 12 kernel users run, so the benchmark (and the vm test layer)
// also run inside a qemu VM booting Debian 12's kernel, which has ip_vs and
// ipip. bench/vm/build-image.sh builds and caches the image; the project
// directory is shared read-only over 9p, and a second, writable share
// carries the job in and its results out (bench/vm/guest.sh). No network
// device: the VM's traffic never leaves it. Software emulation (TCG) is slow
// in absolute terms, so only ratios within the VM's own table mean anything.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchReport } from './report';

const ROOT = path.join(__dirname, '..', '..');
const VM_DIR = path.join(ROOT, 'bench', 'vm');
export const VM_CPUS = Math.min(2, os.cpus().length);
/**
 * Where the VM image and the fresh roots are cached: outside the tree, so
 * that every clone on this machine (CI's included) reuses what an earlier
 * run built instead of debootstrapping again. XDPVS_CACHE overrides it.
 */
export const CACHE_DIR = process.env.XDPVS_CACHE ?? '/var/cache/xdpvs';

/**
 * The VM's three virtio-net NICs, on one qemu hub (frames between them never
 * leave qemu): the nics testbed puts each in a namespace of its own.
 */
export const VM_NICS = { client: '52:54:00:78:76:0a', director: '52:54:00:78:76:01', real: '52:54:00:78:76:0b' } as const;

/** The qemu command line for one boot. */
export function qemuArgs(imageDir: string, shareOut: string, cpus: number, memMiB: number, init = '/sbin/xdpvs-init'): string[] {
  return [
    '-accel', 'tcg,thread=multi',
    '-m', String(memMiB),
    '-smp', String(cpus),
    '-display', 'none',
    '-serial', 'stdio',
    '-monitor', 'none',
    // no network of the host's: only NICs on an internal hub
    '-nic', 'none',
    ...Object.values(VM_NICS).flatMap((mac, i) => ['-netdev', `hubport,id=hub${i},hubid=0`, '-device', `virtio-net-pci,netdev=hub${i},mac=${mac}`]),
    '-no-reboot',
    // writes go to a temporary overlay: every boot starts from the same image
    '-snapshot',
    '-kernel', path.join(imageDir, 'vmlinuz'),
    '-initrd', path.join(imageDir, 'initrd.img'),
    '-drive', `file=${path.join(imageDir, 'root.img')},format=raw,if=virtio`,
    '-virtfs', `local,path=${ROOT},mount_tag=xdpvs,security_model=none,readonly=on`,
    '-virtfs', `local,path=${shareOut},mount_tag=out,security_model=none`,
    '-append', `root=/dev/vda rw console=ttyS0 init=${init} panic=-1 sysrq_always_enabled=1 quiet`,
  ];
}

export interface VmJob {
  /** "bench ARGS..." or "test PATHS..." (see bench/vm/guest.sh); several run one after the other in one boot */
  job: string | string[];
  /** the whole boot, image build included, is stopped after this long */
  timeoutMs: number;
  /** where the image is cached (default: CACHE_DIR/vm) */
  imageDir?: string;
  /** an image someone else built (the fresh test's): boot it as it is, with this init */
  prebuilt?: { init: string };
  /** console lines are printed with this prefix as they come (none: kept quiet) */
  echo?: string;
}

export interface VmResult {
  /** each job's exit status, in order; fewer than the jobs when the boot ended early */
  statuses: number[];
  /** the first failed job's status, else 0; undefined when not every job finished */
  status?: number;
  /** the VM's console */
  console: string[];
  /** files the job left in its output directory, by name */
  files: Map<string, string>;
  why?: string;
}

/** Builds the image when needed, boots it with one job, and collects what it left. */
export async function bootVm(o: VmJob): Promise<VmResult> {
  const t0 = Date.now();
  const imageDir = o.imageDir ?? path.join(CACHE_DIR, 'vm');
  if (!o.prebuilt) {
    const build = spawnSync(path.join(VM_DIR, 'build-image.sh'), [imageDir], { stdio: ['ignore', 'inherit', 'inherit'], timeout: o.timeoutMs });
    if (build.status !== 0) throw new Error(`bench/vm/build-image.sh failed (${build.error?.message ?? `exit ${build.status}`})`);
  } else {
    // nothing built here: qemu itself may still be missing (a fresh machine whose first VM is this one)
    const tools = spawnSync(path.join(VM_DIR, 'host-tools.sh'), [], { stdio: ['ignore', 'inherit', 'inherit'], timeout: o.timeoutMs });
    if (tools.status !== 0) throw new Error(`bench/vm/host-tools.sh failed (${tools.error?.message ?? `exit ${tools.status}`})`);
  }
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-vm-'));
  try {
    const jobs = typeof o.job === 'string' ? [o.job] : o.job;
    fs.writeFileSync(path.join(out, 'job'), `${jobs.join('\n')}\n`);
    // every host CPU: the test runner may be pinned to one (make test)
    const qemu = spawn('taskset', ['-c', `0-${os.cpus().length - 1}`, 'qemu-system-x86_64', ...qemuArgs(imageDir, out, VM_CPUS, 2048, o.prebuilt?.init)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buf = '';
    const onData = (d: string): void => {
      buf += d.replace(/\r/g, '');
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        if (o.echo !== undefined && line.trim() !== '') console.log(`${o.echo}${line}`);
      }
    };
    // as text, so a character split between two reads stays whole
    qemu.stdout.setEncoding('utf8').on('data', onData);
    qemu.stderr.setEncoding('utf8').on('data', onData);
    const remaining = Math.max(60_000, o.timeoutMs - (Date.now() - t0));
    const timer = setTimeout(() => qemu.kill('SIGKILL'), remaining);
    // the VM never outlives this process
    const orphan = (): void => void qemu.kill('SIGKILL');
    process.once('exit', orphan);
    // 'close': the console read to its last line, which 'exit' does not promise
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => qemu.once('close', (c, s) => resolve([c, s])));
    clearTimeout(timer);
    process.removeListener('exit', orphan);
    const files = new Map<string, string>();
    for (const f of fs.readdirSync(out)) if (f !== 'job') files.set(f, fs.readFileSync(path.join(out, f), 'utf8'));
    const statuses = (files.get('status') ?? '').split('\n').filter((l) => l.trim() !== '').map(Number);
    const status = statuses.length < jobs.length ? undefined : (statuses.find((x) => x !== 0) ?? 0);
    const why = signal === 'SIGKILL' ? `stopped after ${Math.round(remaining / 1000)} s` : status === undefined ? `qemu exited (${code ?? signal}) before the job finished` : undefined;
    return { statuses, status, console: lines, files, why };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

export interface VmBenchOptions {
  seconds: number;
  runs: number;
  timeoutMs: number;
}

/** The harness inside the VM, on its veth and its virtio-net testbeds; their reports. */
export async function runInVm(o: VmBenchOptions): Promise<BenchReport[]> {
  const r = await bootVm({ job: `bench --on host,nics --seconds ${o.seconds} --runs ${o.runs}`, timeoutMs: o.timeoutMs, echo: 'vm| ' });
  const json = r.files.get('report.json');
  if (r.status !== 0 || !json) {
    throw new Error(`VM testbed failed (${r.why ?? `harness exit ${r.status}`}); last console lines:\n${r.console.slice(-25).join('\n')}`);
  }
  return (JSON.parse(json) as BenchReport[]).map((report) => ({
    ...report,
    label: report.label === 'host' ? 'vm-veth' : 'vm-nics',
    where: `qemu VM (software emulation, ${VM_CPUS} vCPUs) with Debian 12 and its kernel; inside it, ${report.where}`,
  }));
}
