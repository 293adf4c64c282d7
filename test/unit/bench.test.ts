// The benchmark's pure parts: the hosts file (errors name the field), the
// ratios and tables, the traffic, the qemu command line, the provisioning
// roles, and the Vagrantfile agreeing with bench/vagrant-hosts.json.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readHostsFile } from '../../bench/testbed';
import { markdownOne, ratios, svg, type BenchReport } from '../../bench/report';
import { trafgenConf } from '../../bench/run';
import { qemuArgs } from '../../bench/vm';

const ROOT = path.join(__dirname, '..', '..', '..');
const PROVISION = path.join(ROOT, 'bench', 'vm', 'provision.sh');

function hostsFile(content: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-hosts-'));
  const file = path.join(dir, 'hosts.json');
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

const GOOD = {
  vip: '192.0.2.100',
  director: { addr: '192.0.2.1' },
  client: { addr: '192.0.2.10', ssh: 'u@client' },
  real: { addr: '192.0.2.21', exec: ['ip', 'netns', 'exec', 'r'] },
};

describe('bench hosts file', () => {
  it('reads the Vagrant topology and a file with command prefixes', () => {
    const v = readHostsFile(path.join(ROOT, 'bench', 'vagrant-hosts.json'));
    assert.equal(v.vip, '192.168.56.100');
    assert.deepEqual(readHostsFile(hostsFile(GOOD)).real.exec, ['ip', 'netns', 'exec', 'r']);
  });

  it('names the file and the field of every error', () => {
    const cases: [unknown, RegExp][] = [
      ['{ nope', /hosts\.json: .*JSON/],
      [{ ...GOOD, vip: '' }, /field "vip" must be a non-empty string/],
      [{ ...GOOD, real: undefined }, /field "real" must be an object/],
      [{ ...GOOD, client: { ssh: 'u@c' } }, /field "client\.addr" must be a non-empty string/],
      [{ ...GOOD, client: { addr: '192.0.2.10', ssh: 'u@c', exec: ['x'] } }, /field "client" takes "ssh" or "exec", not both/],
      [{ ...GOOD, real: { addr: '192.0.2.21', exec: 'ip netns exec r' } }, /field "real\.exec" must be a list of non-empty strings/],
      [{ ...GOOD, director: { addr: '192.0.2.1', ssh: 'u@d' } }, /field "director\.ssh" is not supported/],
      [{ ...GOOD, ssh: [] }, /field "ssh" must be a list/],
    ];
    for (const [content, re] of cases) {
      const file = hostsFile(content);
      assert.throws(() => readHostsFile(file), (err: Error) => err.message.startsWith(file) && re.test(err.message), String(re));
    }
  });
});

describe('bench report', () => {
  const report: BenchReport = {
    label: 'vm',
    where: 'namespaces',
    host: 'h',
    kernel: '6.1.0',
    cpus: 2,
    cpuModel: 'Example CPU @ 2.0GHz',
    seconds: 5,
    flows: 10000,
    frameBytes: 64,
    leakPps: 0,
    modes: [
      { mode: 'ceiling', description: '', runs: [250, 240, 260], softirqCores: [0.5, 0.5, 0.5] },
      { mode: 'xdpvs-dr', description: '', runs: [200, 190, 230], softirqCores: [0.5, 0.4, 0.6] },
      { mode: 'xdpvs-tun', description: '', runs: [150], softirqCores: [0] },
      { mode: 'ipvs-dr', description: '', runs: [100, 100, 90], softirqCores: [0.8, 0.8, 0.8] },
      { mode: 'ipvs-tun', description: '', runs: [], note: 'kernel x has no ip_vs' },
    ],
    controlPlane: { 'Maglev ring 65537 slots, 10 reals': 1.25 },
  };

  it('takes medians, ratios to the ceiling and to IPVS of the same method, and pps per softirq core', () => {
    const r = ratios(report);
    assert.deepEqual(r.get('xdpvs-dr'), { median: 200, vsCeiling: 0.8, vsIpvs: 2, perCore: 400, perCoreVsIpvs: 3.2 });
    // no IPVS counterpart measured, no CPU figure: no ratio rather than a wrong one
    assert.deepEqual(r.get('xdpvs-tun'), { median: 150, vsCeiling: 0.6, vsIpvs: undefined, perCore: undefined, perCoreVsIpvs: undefined });
    assert.equal(r.get('ipvs-tun'), undefined);
  });

  it('prints one row per mode, the unmeasured with their reason', () => {
    const md = markdownOne(report);
    assert.match(md, /^\*\*vm\*\*: namespaces; host h, kernel 6\.1\.0, 2 CPUs \(Example CPU @ 2\.0GHz\)/);
    assert.ok(md.includes('| xdpvs-dr | 200 | 190 - 230 | 3 | 0.50 | 400 | 80 % | 2.00 x | 3.20 x |'), md);
    assert.ok(md.includes('| ipvs-tun | not measured | | | | | | | kernel x has no ip_vs |'), md);
    assert.ok(md.includes('| Maglev ring 65537 slots, 10 reals | 1.3 |'), md);
    const chart = svg({ date: 'd', host: 'h', command: 'c', environments: [report, { ...report, label: 'host' }] });
    assert.equal(chart.match(/<rect /g)?.length, 8);
  });
});

describe('bench traffic and VM', () => {
  it('UDP: 64-byte frames (60 without FCS) over 10,000 source ports; SYN: random sources', () => {
    const udp = trafgenConf('udp', '02:00:00:00:00:01', '02:00:00:00:00:02', '198.18.0.200', '198.18.1.100');
    assert.match(udp, /eth\(da=02:00:00:00:00:01, sa=02:00:00:00:00:02, type=0x0800\)/);
    assert.match(udp, /udp\(sp=dinc\(1024, 11023\), dp=80\), fill\(0x41, 18\)/);
    assert.match(trafgenConf('syn', 'a', 'b', '198.18.0.200', '198.18.1.100'), /sa\[2:2\]=drnd\(\).*tcp\(sp=drnd\(\), dp=80, syn\)/);
  });

  it('boots without a network device, from a throw-away overlay, the project shared read-only', () => {
    const a = qemuArgs('/img', '/out', 2, 2048).join(' ');
    assert.match(a, /-nic none/);
    // NICs only on qemu's internal hub, never a host netdev (user, tap, socket)
    assert.deepEqual(a.match(/-netdev \S+/g), ['-netdev hubport,id=hub0,hubid=0', '-netdev hubport,id=hub1,hubid=0', '-netdev hubport,id=hub2,hubid=0']);
    assert.match(a, /-snapshot/);
    assert.match(a, /mount_tag=xdpvs,security_model=none,readonly=on/);
    assert.match(a, /local,path=\/out,mount_tag=out,security_model=none( |$)/);
    assert.match(a, /init=\/sbin\/xdpvs-init panic=-1/);
  });
});

describe('provisioning and the Vagrantfile', () => {
  it('every role lists its packages; an unknown role is an error naming it', () => {
    const list = (role: string): string[] => execFileSync(PROVISION, ['--list', role], { encoding: 'utf8' }).trim().split(/\s+/);
    for (const p of ['linux-image-amd64', 'ipvsadm', 'netsniff-ng', 'bpftool', 'libbpf1']) assert.ok(list('guest').includes(p), p);
    assert.ok(list('director').includes('ipvsadm'));
    assert.ok(list('client').includes('netsniff-ng'));
    assert.ok(list('real').includes('bpftool'));
    const bad = spawnSync(PROVISION, ['--list', 'router'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown role 'router'/);
  });

  it('the Vagrantfile provisions with provision.sh roles and matches bench/vagrant-hosts.json', () => {
    const vf = fs.readFileSync(path.join(ROOT, 'Vagrantfile'), 'utf8');
    const net = /^NET = "([\d.]+)"/m.exec(vf)![1]!;
    const machines = new Map([...vf.matchAll(/"(\w+)" => \{ ip: "#\{NET\}\.(\d+)", role: "(\w+)" \}/g)].map((m) => [m[1]!, { ip: `${net}.${m[2]}`, role: m[3]! }]));
    assert.deepEqual([...machines.keys()], ['client', 'director1', 'director2', 'real1', 'real2']);
    for (const { role } of machines.values()) execFileSync(PROVISION, ['--list', role]);
    assert.match(vf, /bash \/tmp\/xdpvs-provision\.sh director \/home\/vagrant\/xdpvs/);
    const hosts = readHostsFile(path.join(ROOT, 'bench', 'vagrant-hosts.json'));
    assert.equal(hosts.vip, `${net}.${/^VIP = "#\{NET\}\.(\d+)"/m.exec(vf)?.[1]}`);
    assert.equal(hosts.director.addr, machines.get('director1')!.ip);
    assert.equal(hosts.client.addr, machines.get('client')!.ip);
    assert.equal(hosts.client.ssh, `vagrant@${machines.get('client')!.ip}`);
    assert.equal(hosts.real.addr, machines.get('real1')!.ip);
    assert.equal(hosts.real.ssh, `vagrant@${machines.get('real1')!.ip}`);
    const key = hosts.ssh![hosts.ssh!.indexOf('-i') + 1]!;
    assert.ok(vf.includes(`destination: "${key}"`), `the Vagrantfile puts the bench key at ${key}`);
  });
});
