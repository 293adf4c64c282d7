// Where the benchmark runs: a client that sends, a director under test and a
// real server that counts, each reached by a command prefix. Three testbeds:
//  - LabTestbed: namespaces on this machine (test/lab), prefix
//    `ip netns exec NS`; used on the host and inside the qemu VM;
//  - HostsTestbed: the machines of a hosts file (the Vagrantfile's: this
//    machine the director, client and real over `ssh HOST sudo`), or any
//    command prefixes (the netns test of this testbed);
//  - nicTestbed: three NICs of this machine, one per namespace (in the qemu
//    VM: virtio-net devices on one qemu hub, so XDP runs in a NIC driver).
// Everything on the client and the real goes through the prefix with tools
// Debian ships (trafgen, bpftool, ip), so neither needs node or this tree.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Lab, AgentProcess, XDPVS_BIN } from '../test/lab/lab';
import { Topology, sh } from '../test/lab/netns';

const ROOT = path.join(__dirname, '..', '..');
export const OBJ = (n: string): string => path.join(ROOT, 'bpf', 'build', `${n}.bpf.o`);
/** how long an agent gets to detach and exit (generous: the VM is emulated) */
export const AGENT_STOP_MS = 15_000;

export interface Machine {
  name: string;
  /** command prefix that runs a command there as root */
  exec: string[];
  dev: string;
  addr: string;
  mac: string;
}

/** Runs argv on a machine; stdout, or an Error naming the machine and the command. */
export function on(m: Pick<Machine, 'name' | 'exec'>, argv: string[], input?: Buffer | string): string {
  const cmd = [...m.exec, ...argv];
  try {
    return execFileSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], timeout: 30_000, cwd: os.tmpdir() });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${m.name}: ${argv.join(' ')}: ${(e.stderr || e.message).trim()}`);
  }
}

export function spawnOn(m: Machine, argv: string[]): ChildProcess {
  const cmd = [...m.exec, ...argv];
  // cwd: trafgen writes a temporary file there (the VM's project is read-only)
  return spawn(cmd[0]!, cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], cwd: os.tmpdir() });
}

export function macOf(m: Pick<Machine, 'name' | 'exec'>, dev: string): string {
  const mac = on(m, ['ip', '-br', 'link', 'show', 'dev', dev]).trim().split(/\s+/)[2];
  if (!mac || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac)) throw new Error(`${m.name}: no MAC address for ${dev}`);
  return mac;
}

/**
 * A BPF object loaded with bpftool on a machine, its maps pinned, its XDP
 * program attached to the machine's interface (native mode).
 */
export class XdpOnMachine {
  private constructor(
    private readonly m: Machine,
    private readonly dir: string,
  ) {}

  /**
   * `pinRoot` must be a bpffs directory visible to commands run on m;
   * `settings` are written (key 0) after loading, before attaching.
   */
  static attach(m: Machine, object: string, pinRoot: string, name: string, settings: Record<string, Buffer> = {}): XdpOnMachine {
    const dir = `${pinRoot}/${name}`;
    // a copy of the object on the machine (the real may not have this tree)
    const remoteObj = `/tmp/xdpvs-bench-${name}.bpf.o`;
    on(m, ['rm', '-rf', dir, `${dir}-maps`]);
    on(m, ['dd', `of=${remoteObj}`, 'status=none'], fs.readFileSync(object));
    on(m, ['bpftool', 'prog', 'load', remoteObj, dir, 'type', 'xdp', 'pinmaps', `${dir}-maps`]);
    on(m, ['rm', '-f', remoteObj]);
    const x = new XdpOnMachine(m, dir);
    for (const [map, value] of Object.entries(settings)) x.setMap(map, Buffer.alloc(4), value);
    on(m, ['bpftool', 'net', 'attach', 'xdpdrv', 'pinned', dir, 'dev', m.dev, 'overwrite']);
    return x;
  }

  setMap(map: string, key: Buffer, value: Buffer): void {
    const bytes = (b: Buffer): string[] => [...b].map((x) => String(x));
    on(this.m, ['bpftool', 'map', 'update', 'pinned', `${this.dir}-maps/${map}`, 'key', ...bytes(key), 'value', ...bytes(value)]);
  }

  /** The sum over CPUs of a per-CPU u64 at key 0 (u32). */
  sumPerCpu(map: string): number {
    const out = JSON.parse(on(this.m, ['bpftool', '-j', 'map', 'lookup', 'pinned', `${this.dir}-maps/${map}`, 'key', '0', '0', '0', '0'])) as {
      values: { value: string[] }[];
    };
    return out.values.reduce((n, v) => n + Number(Buffer.from(v.value.map((h) => parseInt(h, 16))).readBigUInt64LE(0)), 0);
  }

  detach(): void {
    on(this.m, ['bpftool', 'net', 'detach', 'xdpdrv', 'dev', this.m.dev]);
    on(this.m, ['rm', '-rf', this.dir, `${this.dir}-maps`]);
  }
}

export interface Testbed {
  /** what this testbed is, for the report */
  readonly where: string;
  readonly vip: string;
  readonly client: Machine;
  readonly director: Machine;
  readonly real: Machine;
  /** a bpffs directory for pins, as seen from the director and the real */
  readonly pinRoot: string;
  writeFile(name: string, text: string): string;
  /** `xdpvs run` on the director; stateDir holds its control socket */
  startAgent(configFile: string, extra: string[]): { agent: AgentProcess; stateDir: string };
  /** the pin directory startAgent's agents use, on the director */
  readonly agentPinDir: string;
  cleanup(): Promise<void>;
}

export class LabTestbed implements Testbed {
  readonly where = 'network namespaces on one machine (client, director and real joined by a bridge)';
  readonly lab = new Lab({ tag: 'b', reals: 1 });
  readonly vip = this.lab.vip;
  readonly client: Machine;
  readonly director: Machine;
  readonly real: Machine;
  readonly pinRoot = this.lab.bpffs;

  constructor() {
    const machine = (h: { ns: string; dev: string; addr: string; name: string }): Machine => {
      const m = { name: h.name, exec: ['ip', 'netns', 'exec', h.ns], dev: h.dev, addr: h.addr, mac: '' };
      return { ...m, mac: macOf(m, h.dev) };
    };
    this.client = machine(this.lab.client);
    this.director = machine(this.lab.directors[0]!);
    this.real = machine(this.lab.reals[0]!);
  }

  writeFile(name: string, text: string): string {
    return this.lab.writeConfig(name, text);
  }

  startAgent(configFile: string, extra: string[]): { agent: AgentProcess; stateDir: string } {
    return { agent: this.lab.startAgent(configFile, 0, extra), stateDir: path.join(this.lab.workDir, 'state-0') };
  }

  get agentPinDir(): string {
    return path.join(this.lab.bpffs, 'xdpvs-0');
  }

  cleanup(): Promise<void> {
    return this.lab.cleanup();
  }
}

/**
 * A machine of a hosts file: reached over `ssh` (user@host, then sudo), or
 * by an explicit command prefix `exec` (e.g. ["ip", "netns", "exec", "ns"]);
 * neither: this machine. `dev` defaults to the interface holding `addr`.
 */
export interface MachineSpec {
  addr: string;
  dev?: string;
  ssh?: string;
  exec?: string[];
}

/** The machines of --on hosts (see bench/vagrant-hosts.json). */
export interface HostsFile {
  vip: string;
  /** ssh options for every ssh machine, e.g. ["-i", "/path/key"] */
  ssh?: string[];
  /** a bpffs directory the director and the real pin in (default /sys/fs/bpf) */
  bpffs?: string;
  /** no ssh: the director shares this machine's file system (control socket, check files) */
  director: MachineSpec;
  client: MachineSpec;
  real: MachineSpec;
}

export function readHostsFile(file: string): HostsFile {
  let h: HostsFile;
  try {
    h = JSON.parse(fs.readFileSync(file, 'utf8')) as HostsFile;
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  const fail = (field: string, what: string): never => {
    throw new Error(`${file}: field "${field}" ${what}`);
  };
  const str = (v: unknown, field: string, optional = false): void => {
    if (optional && v === undefined) return;
    if (typeof v !== 'string' || v === '') fail(field, 'must be a non-empty string');
  };
  const strings = (v: unknown, field: string): void => {
    if (v !== undefined && !(Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && x !== ''))) fail(field, 'must be a list of non-empty strings');
  };
  str(h.vip, 'vip');
  strings(h.ssh, 'ssh');
  str(h.bpffs, 'bpffs', true);
  for (const role of ['director', 'client', 'real'] as const) {
    const m = h[role];
    if (typeof m !== 'object' || m === null) fail(role, 'must be an object');
    str(m.addr, `${role}.addr`);
    str(m.dev, `${role}.dev`, true);
    str(m.ssh, `${role}.ssh`, true);
    strings(m.exec, `${role}.exec`);
    if (m.ssh !== undefined && m.exec !== undefined) fail(role, 'takes "ssh" or "exec", not both');
  }
  if (h.director.ssh !== undefined) fail('director.ssh', 'is not supported: run the bench on the director');
  return h;
}

/** The interface holding addr on a machine. */
function devWithAddr(m: Pick<Machine, 'name' | 'exec'>, addr: string): string {
  const rows = JSON.parse(on(m, ['ip', '-j', 'addr', 'show'])) as { ifname: string; addr_info?: { local?: string }[] }[];
  const row = rows.find((r) => r.addr_info?.some((a) => a.local === addr));
  if (!row) throw new Error(`${m.name}: no interface has address ${addr}`);
  return row.ifname;
}

export class HostsTestbed implements Testbed {
  readonly where: string;
  readonly vip: string;
  readonly client: Machine;
  readonly director: Machine;
  readonly real: Machine;
  readonly pinRoot: string;
  private readonly workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-bench-'));
  private readonly agents: AgentProcess[] = [];

  /** `where` describes the testbed; `after` runs last in cleanup() */
  constructor(
    hosts: HostsFile,
    where?: string,
    private readonly after?: () => void,
  ) {
    this.vip = hosts.vip;
    this.pinRoot = hosts.bpffs ?? '/sys/fs/bpf';
    const machine = (name: string, spec: MachineSpec): Machine => {
      const exec = spec.exec ?? (spec.ssh ? ['ssh', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=accept-new', ...(hosts.ssh ?? []), spec.ssh, 'sudo'] : []);
      const m = { name, exec };
      const dev = spec.dev ?? devWithAddr(m, spec.addr);
      return { ...m, dev, addr: spec.addr, mac: macOf(m, dev) };
    };
    this.director = machine('director', hosts.director);
    this.client = machine('client', hosts.client);
    this.real = machine('real', hosts.real);
    const desc = (spec: MachineSpec): string => spec.ssh ?? (spec.exec ? spec.exec.join(' ') : 'this machine');
    this.where = where ?? `separate machines: client ${desc(hosts.client)} (${this.client.dev}), director ${desc(hosts.director)} (${this.director.dev}), real ${desc(hosts.real)} (${this.real.dev})`;
  }

  writeFile(name: string, text: string): string {
    const file = path.join(this.workDir, name);
    fs.writeFileSync(file, text);
    return file;
  }

  startAgent(configFile: string, extra: string[]): { agent: AgentProcess; stateDir: string } {
    const stateDir = path.join(this.workDir, 'state');
    const argv = [...this.director.exec, XDPVS_BIN, 'run', '-f', configFile, '-i', this.director.dev, '--pin-dir', this.agentPinDir, '--state-dir', stateDir, ...extra];
    const agent = new AgentProcess(spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.agents.push(agent);
    return { agent, stateDir };
  }

  get agentPinDir(): string {
    return `${this.pinRoot}/xdpvs-bench`;
  }

  async cleanup(): Promise<void> {
    for (const a of this.agents.splice(0)) await a.stop(AGENT_STOP_MS);
    fs.rmSync(this.workDir, { recursive: true, force: true });
    this.after?.();
  }
}

/** The MAC addresses of the NICs a nic testbed uses (the qemu VM's). */
export interface NicMacs {
  client: string;
  director: string;
  real: string;
}

/**
 * Each NIC, found by MAC, moved into a namespace of its own with the lab's
 * addresses. Removing the namespaces hands the NICs back.
 */
export function nicTestbed(macs: NicMacs, where: string): HostsTestbed {
  const links = JSON.parse(sh('ip', ['-j', 'link', 'show'])) as { ifname: string; address?: string }[];
  const devOf = (role: keyof NicMacs): string => {
    const l = links.find((x) => x.address === macs[role]);
    if (!l) throw new Error(`nics testbed: no interface has MAC ${macs[role]} (the ${role}'s); it exists in the bench VM (bench/vm.ts)`);
    return l.ifname;
  };
  const devs = { client: devOf('client'), director: devOf('director'), real: devOf('real') };
  const topo = new Topology('n');
  try {
    const place = (role: keyof NicMacs, addr: string): MachineSpec => {
      const ns = topo.netns(role[0]!);
      sh('ip', ['link', 'set', 'dev', devs[role], 'netns', ns]);
      sh('ip', ['-n', ns, 'link', 'set', 'dev', devs[role], 'up']);
      sh('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', devs[role]]);
      return { addr, dev: devs[role], exec: ['ip', 'netns', 'exec', ns] };
    };
    const hosts: HostsFile = {
      vip: '198.18.1.100',
      bpffs: topo.bpffs(),
      client: place('client', '198.18.0.200'),
      director: place('director', '198.18.0.1'),
      real: place('real', '198.18.0.11'),
    };
    return new HostsTestbed(hosts, where, () => topo.cleanup());
  } catch (err) {
    topo.cleanup();
    throw err;
  }
}
