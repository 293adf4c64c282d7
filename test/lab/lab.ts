// A director lab in network namespaces, for the netns tests and `xdpvs
// demo`: one LAN (a bridge), a client, one or more directors, N real servers
// with the VIP on lo (arp_ignore=1, arp_announce=2) and an HTTP server each.
// Traffic stays inside these namespaces (198.18.0.0/15, the benchmarking
// range). Two veth-only details, neither needed on physical NICs:
//  - the LAN end of a director's veth runs bpf/pass.bpf.o, because veth
//    receives XDP_TX frames only in NAPI mode;
//  - the client's veth computes its TCP/UDP checksums itself (tx offload
//    off), because a frame that XDP forwards loses the "checksum pending"
//    mark veth would otherwise carry to the receiver.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import { Topology, sh } from './netns';

const ROOT = path.join(__dirname, '..', '..', '..');
export const XDPVS_BIN = path.join(ROOT, 'bin', 'xdpvs');
const HTTPD = path.join(ROOT, 'dist', 'test', 'lab', 'httpd.js');
const PASS_OBJECT = path.join(ROOT, 'bpf', 'build', 'pass.bpf.o');

export interface LabHost {
  ns: string;
  dev: string;
  addr: string;
  name: string;
}

export interface LabOptions {
  /** a letter or two distinguishing this lab's names */
  tag: string;
  reals: number;
  directors?: number;
  /** the client reaches the VIP on-link (ARP), as with VRRP; else routed via director 0 */
  vipOnLink?: boolean;
}

/** Capability numbers setpriv may not know by name (util-linux 2.38 predates them). */
const CAP_NUMBERS: Record<string, number> = { cap_perfmon: 38, cap_bpf: 39, cap_checkpoint_restore: 40 };

/**
 * A command prefix that runs a root process with only `caps` in its bounding
 * set (so in its permitted and effective sets), as systemd's
 * CapabilityBoundingSet= does.
 */
export function boundingSet(caps: string[]): string[] {
  const names = caps.map((c) => (CAP_NUMBERS[c] !== undefined ? `cap_${CAP_NUMBERS[c]}` : c.replace(/^cap_/, '')));
  return ['setpriv', '--inh-caps=-all', '--ambient-caps=-all', `--bounding-set=-all${names.map((n) => `,+${n}`).join('')}`, '--'];
}

export class AgentProcess {
  readonly lines: string[] = [];
  private readonly waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  readonly exited: Promise<number | null>;

  constructor(readonly proc: ChildProcess) {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.lines.push(line);
        for (const w of [...this.waiters]) {
          if (w.re.test(line)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  }

  /** The number of lines so far: pass it to waitFor to search from this point. */
  mark(): number {
    return this.lines.length;
  }

  /**
   * The first log line matching re: among lines from index `from` on (true:
   * all lines so far), else the next one to arrive.
   */
  waitFor(re: RegExp, timeoutMs: number, from: number | boolean = false): Promise<string> {
    const start = from === true ? 0 : from === false ? this.lines.length : from;
    const found = this.lines.slice(start).find((l) => re.test(l));
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no log line matching ${re} within ${timeoutMs} ms; last lines:\n${this.lines.slice(-15).join('\n')}`)), timeoutMs);
      this.waiters.push({ re, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  }

  signal(sig: NodeJS.Signals): void {
    this.proc.kill(sig);
  }

  /** SIGTERM, then SIGKILL if it has not exited within graceMs; resolves once it is gone. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export class Lab {
  readonly vip = '198.18.1.100';
  readonly client: LabHost;
  readonly directors: LabHost[] = [];
  readonly reals: LabHost[] = [];
  readonly workDir: string;
  readonly bpffs: string;
  private readonly topo: Topology;
  private readonly lan: string;
  /** the namespace holding the LAN bridge (br0) */
  get lanNs(): string {
    return this.lan;
  }
  private readonly servers = new Map<number, ChildProcess>();
  private readonly agents: AgentProcess[] = [];

  constructor(opts: LabOptions) {
    this.topo = new Topology(opts.tag);
    this.workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-lab-'));
    try {
      this.lan = this.topo.netns('lan');
      sh('ip', ['-n', this.lan, 'link', 'add', 'br0', 'type', 'bridge']);
      sh('ip', ['-n', this.lan, 'link', 'set', 'br0', 'up']);
      // directors are .1 to .9, reals .11 and up, the client .200
      this.client = this.host('c', '198.18.0.200', 'client');
      sh('ip', ['netns', 'exec', this.client.ns, 'ethtool', '-K', this.client.dev, 'tx', 'off']);
      if (opts.vipOnLink) sh('ip', ['-n', this.client.ns, 'route', 'add', `${this.vip}/32`, 'dev', this.client.dev]);
      else sh('ip', ['-n', this.client.ns, 'route', 'add', `${this.vip}/32`, 'via', '198.18.0.1']);
      for (let d = 0; d < (opts.directors ?? 1); d++) {
        const h = this.host(`d${d}`, `198.18.0.${1 + d}`, `director${d}`);
        sh('ip', ['-n', this.lan, 'link', 'set', 'dev', this.topo.name(`d${d}b`), 'xdpdrv', 'obj', PASS_OBJECT, 'sec', 'xdp']);
        this.directors.push(h);
      }
      for (let i = 0; i < opts.reals; i++) {
        const h = this.host(`r${i}`, `198.18.0.${11 + i}`, `real${i + 1}`);
        sh('ip', ['-n', h.ns, 'addr', 'add', `${this.vip}/32`, 'dev', 'lo']);
        sh('ip', ['netns', 'exec', h.ns, 'sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2']);
        this.reals.push(h);
      }
      this.bpffs = this.topo.bpffs();
    } catch (err) {
      this.cleanup();
      throw err;
    }
  }

  /** The bridge port (in lanNs) host h is plugged into. */
  bridgePort(h: LabHost): string {
    return h.dev.replace(/0$/, 'b');
  }

  private host(suffix: string, addr: string, name: string): LabHost {
    const ns = this.topo.netns(suffix);
    const dev = this.topo.name(`${suffix}0`);
    const peer = this.topo.name(`${suffix}b`);
    this.topo.veth(dev, peer, this.lan);
    sh('ip', ['link', 'set', dev, 'netns', ns]);
    sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    sh('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev]);
    sh('ip', ['-n', this.lan, 'link', 'set', peer, 'master', 'br0']);
    return { ns, dev, addr, name };
  }

  /** Starts the HTTP server of real i (0-based); resolves when it listens. */
  async startServer(i: number, ttl = 600): Promise<void> {
    const r = this.reals[i]!;
    const p = spawn('ip', ['netns', 'exec', r.ns, process.execPath, HTTPD, '--name', r.name, '--port', '80', '--ttl', String(ttl)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.servers.set(i, p);
    await once(p.stdout!, 'data');
  }

  async stopServer(i: number): Promise<void> {
    const p = this.servers.get(i);
    if (!p) return;
    this.servers.delete(i);
    p.kill('SIGKILL');
    if (p.exitCode === null) await once(p, 'exit');
  }

  writeConfig(name: string, text: string): string {
    const file = path.join(this.workDir, name);
    fs.writeFileSync(file, text);
    return file;
  }

  /**
   * `xdpvs run` on director d with this lab's pin and state directories;
   * `wrap` runs it through a command (e.g. boundingSet's setpriv).
   */
  startAgent(configFile: string, d = 0, extra: string[] = [], wrap: string[] = []): AgentProcess {
    const dir = this.directors[d]!;
    const proc = spawn(
      'ip',
      [
        'netns', 'exec', dir.ns, ...wrap, XDPVS_BIN, 'run', '-f', configFile, '-i', dir.dev,
        '--pin-dir', path.join(this.bpffs, `xdpvs-${d}`),
        '--state-dir', path.join(this.workDir, `state-${d}`),
        ...extra,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const a = new AgentProcess(proc);
    this.agents.push(a);
    return a;
  }

  /** An `xdpvs` command on director d, talking to its agent (stdout; throws on failure). */
  cli(args: string[], d = 0): string {
    return sh('ip', ['netns', 'exec', this.directors[d]!.ns, XDPVS_BIN, ...args, '--state-dir', path.join(this.workDir, `state-${d}`)]);
  }

  /** A GET from inside director d's namespace (e.g. its /metrics). */
  directorGet(url: string, d = 0): string {
    return sh('ip', ['netns', 'exec', this.directors[d]!.ns, 'curl', '-s', '-f', '-m', '3', url]);
  }

  /** Real i strips tunnels to its own address from the directors (TUN labs). */
  attachDecap(i: number): void {
    const r = this.reals[i]!;
    const from = this.directors.map((d) => d.addr);
    sh('ip', ['netns', 'exec', r.ns, XDPVS_BIN, 'decap', 'attach', '-i', r.dev, '-a', r.addr, '--allow-source', ...from, '--pin-dir', path.join(this.bpffs, `decap-${i}`)]);
  }

  /** One HTTP GET from the client to the VIP: the body, or undefined on failure. */
  get(pathname = '/', timeoutSec = 2): string | undefined {
    const r = spawnSync('ip', ['netns', 'exec', this.client.ns, 'curl', '-s', '-f', '-m', String(timeoutSec), `http://${this.vip}${pathname}`], {
      encoding: 'utf8',
      timeout: (timeoutSec + 2) * 1000,
    });
    return r.status === 0 ? r.stdout : undefined;
  }

  /** One GET in the background: true when it succeeded within the timeout. */
  getAsync(pathname = '/', timeoutSec = 1): Promise<boolean> {
    const p = spawn('ip', ['netns', 'exec', this.client.ns, 'curl', '-s', '-f', '-o', '/dev/null', '-m', String(timeoutSec), `http://${this.vip}${pathname}`], {
      stdio: 'ignore',
    });
    return new Promise((resolve) => p.once('exit', (code) => resolve(code === 0)));
  }

  /** Whether director d has the VIP on its interface (it is the VRRP master). */
  hasVip(d: number): boolean {
    const dir = this.directors[d]!;
    return sh('ip', ['-n', dir.ns, '-o', 'addr', 'show', 'dev', dir.dev]).includes(` ${this.vip}/`);
  }

  /** A command in director d's namespace, in the background (e.g. keepalived). */
  spawnIn(d: number, cmd: string[]): AgentProcess {
    const proc = spawn('ip', ['netns', 'exec', this.directors[d]!.ns, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    const a = new AgentProcess(proc);
    this.agents.push(a);
    return a;
  }

  /**
   * A long GET in the background (to the lab's VIP, or `host`): resolves with
   * curl's exit code and bytes received, once its output is read to the end
   * ('close', not 'exit': the last output can arrive after the process exits).
   */
  download(pathname: string, timeoutSec: number, host: string = this.vip): Promise<{ code: number | null; bytes: number }> {
    const p = spawn('ip', ['netns', 'exec', this.client.ns, 'curl', '-s', '-m', String(timeoutSec), '-o', '/dev/null', '-w', '%{size_download}', `http://${host}${pathname}`], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    return new Promise((resolve) => p.once('close', (code) => resolve({ code, bytes: Number(out) || 0 })));
  }

  /** POSTs `bytes` bytes to the VIP from the client: curl's exit code and the reply body. */
  upload(pathname: string, bytes: number, timeoutSec: number): Promise<{ code: number | null; body: string }> {
    const file = path.join(this.workDir, `upload-${bytes}`);
    fs.writeFileSync(file, Buffer.alloc(bytes, 0x75));
    const p = spawn('ip', ['netns', 'exec', this.client.ns, 'curl', '-s', '-m', String(timeoutSec), '--data-binary', `@${file}`, `http://${this.vip}${pathname}`], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let body = '';
    p.stdout.on('data', (d: Buffer) => (body += d.toString()));
    return new Promise((resolve) => p.once('close', (code) => resolve({ code, body })));
  }

  /** Stops every agent (SIGTERM), server and namespace; safe to call twice. */
  async cleanup(): Promise<void> {
    for (const a of this.agents.splice(0)) await a.stop();
    for (const i of [...this.servers.keys()]) await this.stopServer(i);
    this.topo.cleanup();
    fs.rmSync(this.workDir, { recursive: true, force: true });
  }
}
