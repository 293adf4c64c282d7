// The fresh layer: xdpvs installs from nothing. A clean copy of the tree in
// a fresh Debian 12 root (debootstrap, cached) with only what a new machine
// of ours has sets itself up, builds and passes its unit tests; the Debian
// package installs into another fresh root pulling runtime packages only and
// runs with Debian's own Node.js; and in the VM with Debian's kernel, the
// packaged director runs under systemd, forwards traffic, upgrades under
// traffic without a failed request, and leaves nothing when removed.
// Slow the first time (debootstrap, downloads); the caches make later runs
// quick. scripts/fresh-root.sh does the mounting and chrooting.
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bootVm, CACHE_DIR } from '../../bench/vm';
import { requireRoot } from '../support/root';

const ROOT = path.join(__dirname, '..', '..', '..');
const FRESH_ROOT = path.join(ROOT, 'scripts', 'fresh-root.sh');
const HERE = path.join(ROOT, 'test', 'fresh');
const CACHE = path.join(CACHE_DIR, 'fresh');
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const MIN = 60_000;

/**
 * Packages a director must never get from xdpvs: compilers and build tools,
 * headers, and the test peers of the development workflow.
 */
const NOT_RUNTIME =
  /^(gcc|g\+\+|cpp|clang|llvm|lld|binutils|make|build-essential|dpkg-dev|libc6-dev|linux-libc-dev|.*-dev|npm|node-gyp|python3|keepalived|netsniff-ng|ipvsadm|bird2?|bpftool|qemu.*|debootstrap)(-[0-9.]+)?(:.*)?$/;

function run(args: string[], timeoutMs: number): SpawnSyncReturns<string> {
  return spawnSync(FRESH_ROOT, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20, killSignal: 'SIGKILL' });
}

function explain(r: SpawnSyncReturns<string>, lines = 40): string {
  const all = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').filter((l) => l.trim() !== '');
  return `fresh-root.sh ${r.error ? r.error.message : `exit ${r.status}`}; last lines:\n${all.slice(-lines).join('\n')}`;
}

/** The text between `==name==` and the next marker in a root's output. */
function section(out: string, name: string): string {
  const m = new RegExp(`==${name}==\\n([\\s\\S]*?)(?=\\n==[a-z-]+==|$)`).exec(out);
  assert.ok(m, `no ==${name}== section in:\n${out.slice(-3000)}`);
  return m[1]!.trim();
}

describe('from nothing: a fresh Debian 12 root', { timeout: 60 * MIN }, () => {
  let work: string;
  let deb: string;
  let upgradeDeb: string;

  before(() => {
    requireRoot('fresh');
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-fresh-'));
  });

  it('a clean copy of the tree installs what it needs (scripts/setup.sh), builds, and passes its unit tests', () => {
    requireRoot('fresh');
    // the configuration fuzzer's full count is make test's; here the unit tests prove the tree, not the fuzzer
    const r = run(['run', 'machine', '--tree', '/root/xdpvs', '--', 'bash', '-c', 'cd /root/xdpvs && scripts/setup.sh && make build && FUZZ_CONFIG_N=2000 make test-unit'], 30 * MIN);
    assert.equal(r.status, 0, explain(r));
    const tests = Number(/^ℹ tests (\d+)$/m.exec(r.stdout)?.[1]);
    assert.ok(tests > 100, `only ${tests} unit tests ran\n${explain(r)}`);
    assert.match(r.stdout, /^ℹ fail 0$/m, explain(r));
    assert.match(r.stdout, /^ℹ skipped 0$/m, explain(r));
  });

  it('make deb builds the package: BPF objects, addon, agent, production node_modules, unit, man page, completion', () => {
    requireRoot('fresh');
    const b = spawnSync(path.join(ROOT, 'scripts', 'build-deb.sh'), [work], { encoding: 'utf8', timeout: 10 * MIN });
    assert.equal(b.status, 0, `${b.stdout}\n${b.stderr}`);
    deb = b.stdout.trim().split('\n').pop()!;
    assert.equal(path.basename(deb), `xdpvs_${VERSION}_amd64.deb`);
    const files = spawnSync('dpkg-deb', ['-c', deb], { encoding: 'utf8', maxBuffer: 64 << 20 }).stdout;
    for (const f of [
      './usr/sbin/xdpvs',
      './usr/lib/xdpvs/bpf/build/lb.bpf.o',
      './usr/lib/xdpvs/bpf/build/decap.bpf.o',
      './usr/lib/xdpvs/native/build/Release/xdpvs_bridge.node',
      './usr/lib/xdpvs/dist/agent/cli/main.js',
      './usr/lib/xdpvs/node_modules/commander/package.json',
      './lib/systemd/system/xdpvs.service',
      './etc/default/xdpvs',
      './etc/xdpvs/xdpvs.yaml',
      './usr/share/man/man8/xdpvs.8.gz',
      './usr/share/bash-completion/completions/xdpvs',
    ]) {
      assert.ok(files.includes(` ${f}\n`), `${f} is not in the package`);
    }
    // production dependencies only; no lab, no tests, no sources
    for (const bad of ['node_modules/typescript/', 'node_modules/node-gyp/', 'node_modules/@types/', 'node_modules/node-addon-api/', 'dist/test/', 'dist/bench/', 'pass.bpf.o']) {
      assert.ok(!files.includes(bad), `the package holds ${bad}`);
    }
    const sources = files.split('\n').filter((l) => /\.ts$/.test(l) && !l.includes('/node_modules/'));
    assert.deepEqual(sources, [], 'the package holds TypeScript sources');
    const conffiles = spawnSync('dpkg-deb', ['-I', deb, 'conffiles'], { encoding: 'utf8' }).stdout.trim().split('\n');
    assert.deepEqual(conffiles.sort(), ['/etc/default/xdpvs', '/etc/xdpvs/xdpvs.yaml']);
    // the same package, one version up, for the upgrade test
    const x = path.join(work, 'x');
    assert.equal(spawnSync('dpkg-deb', ['-R', deb, x]).status, 0);
    const control = path.join(x, 'DEBIAN', 'control');
    fs.writeFileSync(control, fs.readFileSync(control, 'utf8').replace(/^Version: .*$/m, `Version: ${VERSION}+upgrade1`));
    // the agent reports its version from package.json: the new one must say so
    const pkg = path.join(x, 'usr', 'lib', 'xdpvs', 'package.json');
    fs.writeFileSync(pkg, fs.readFileSync(pkg, 'utf8').replace(`"version": "${VERSION}"`, `"version": "${VERSION}+upgrade1"`));
    upgradeDeb = path.join(work, `xdpvs_${VERSION}+upgrade1_amd64.deb`);
    const u = spawnSync('dpkg-deb', ['--root-owner-group', '--build', x, upgradeDeb], { encoding: 'utf8' });
    assert.equal(u.status, 0, u.stderr);
  });

  it("apt-get install ./xdpvs_*.deb pulls runtime packages only, and xdpvs runs with Debian's own nodejs", () => {
    requireRoot('fresh');
    assert.ok(deb, 'the package was not built');
    const script = [
      'set -e',
      "dpkg-query -W -f='${Package}\\n' | sort >/tmp/before",
      'apt-get update -qq',
      'apt-get install -y -qq /tmp/xdpvs.deb >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; exit 1; }',
      "dpkg-query -W -f='${Package}\\n' | sort >/tmp/after",
      'echo ==installed==; comm -13 /tmp/before /tmp/after',
      "echo ==node==; node --version; dpkg-query -W -f='${Version}\\n' nodejs",
      'echo ==version==; xdpvs --version',
      'echo ==check==; xdpvs check -f /etc/xdpvs/xdpvs.yaml',
      'echo ==keepalived==; xdpvs check -f /usr/share/doc/xdpvs/examples/keepalived.conf',
      'echo ==demo==; xdpvs demo 2>&1 || true',
      'echo ==end==',
    ].join('\n');
    const r = run(['run', 'base', '--file', `${deb}:/tmp/xdpvs.deb`, '--', 'bash', '-c', script], 20 * MIN);
    assert.equal(r.status, 0, explain(r));
    const installed = section(r.stdout, 'installed').split('\n');
    for (const p of ['xdpvs', 'nodejs', 'libbpf1', 'libelf1', 'iproute2']) assert.ok(installed.includes(p), `${p} was not installed: ${installed.join(' ')}`);
    const offending = installed.filter((p) => NOT_RUNTIME.test(p));
    assert.deepEqual(offending, [], `installing xdpvs pulled build or test packages: ${offending.join(', ')}`);
    const [nodeVersion, nodePackage] = section(r.stdout, 'node').split('\n');
    assert.match(nodeVersion!, /^v18\./, "Debian 12's own nodejs is 18.x");
    assert.doesNotMatch(nodePackage!, /nodesource/);
    assert.equal(section(r.stdout, 'version'), VERSION);
    assert.match(section(r.stdout, 'check'), /TCP\s+192\.0\.2\.10:80 mh/);
    assert.match(section(r.stdout, 'keepalived'), /TCP\s+\S+:\d+/);
    assert.match(section(r.stdout, 'demo'), /runs from a checkout of xdpvs/);
  });

  it("in the VM with Debian's kernel, the packaged director runs under systemd, forwards, upgrades under traffic without a failed request, and removal takes it all off", async () => {
    requireRoot('fresh');
    assert.ok(deb && upgradeDeb, 'the packages were not built');
    const imageDir = path.join(CACHE, 'vm-image');
    const image = run(
      [
        'image', 'vm', imageDir,
        '--file', `${deb}:/root/xdpvs.deb`,
        '--file', `${upgradeDeb}:/root/xdpvs-upgrade.deb`,
        '--file', `${path.join(HERE, 'vm-job.sh')}:/root/vm-job.sh`,
        '--file', `${path.join(HERE, 'vm-client.js')}:/root/vm-client.js`,
        '--file', `${path.join(HERE, 'vm-real.js')}:/root/vm-real.js`,
        '--file', `${path.join(HERE, 'xdpvs-fresh-job.service')}:/etc/systemd/system/xdpvs-fresh-job.service`,
        '--file', `${path.join(ROOT, 'bpf', 'build', 'pass.bpf.o')}:/root/pass.bpf.o`,
        '--',
        'bash', '-c', 'set -e; apt-get update -qq; apt-get install -y -qq /root/xdpvs.deb >/dev/null; systemctl enable xdpvs-fresh-job.service',
      ],
      20 * MIN,
    );
    assert.equal(image.status, 0, explain(image));
    const r = await bootVm({ job: 'fresh', timeoutMs: 20 * MIN, imageDir, prebuilt: { init: '/lib/systemd/systemd' } });
    const why = (): string => `${r.why ?? `job exit ${r.status}`}; console:\n${r.console.filter((l) => /fresh-vm|job|xdpvs/.test(l)).slice(-40).join('\n')}\n${r.files.get('journal.txt')?.slice(-3000) ?? ''}`;
    const file = (name: string): string => {
      const f = r.files.get(name);
      assert.ok(f !== undefined, `the job left no ${name}: ${why()}`);
      return f.trim();
    };
    assert.equal(r.status, 0, why());
    assert.match(file('node-version'), /^v18\./);
    assert.equal(file('verify.status'), '0', `systemd-analyze verify xdpvs.service:\n${file('verify.txt')}`);
    assert.equal(file('verify.txt'), '', 'systemd-analyze verify has warnings');
    // the unit as systemd runs it
    const unit = file('unit-before');
    assert.match(unit, /^ActiveState=active$/m);
    assert.match(unit, /^NoNewPrivileges=yes$/m);
    assert.match(unit, /^ProtectSystem=strict$/m);
    const caps = (/^CapabilityBoundingSet=(.*)$/m.exec(unit)?.[1] ?? '').split(' ').sort();
    assert.deepEqual(caps, ['cap_bpf', 'cap_net_admin', 'cap_net_raw', 'cap_perfmon']);
    // forwarded by XDP: every request answered by the real, counted by the program
    const count = JSON.parse(file('count.json')) as { requests: number; failed: number; by: Record<string, number> };
    assert.deepEqual(count, { requests: 20, failed: 0, by: { r1: 20 } });
    const stats = JSON.parse(file('stats.json')) as { services: { key: string; packets: string }[] };
    assert.ok(stats.services.some((s) => Number(s.packets) > 0), `no packet counted: ${file('stats.json')}`);
    // the upgrade: a new agent, the new version running, no request lost, the long download whole
    assert.equal(file('upgrade.status'), '0', file('upgrade.txt'));
    assert.match(file('upgrade.txt'), /restarting the running agent hitlessly/);
    assert.equal(file('version-after'), `${VERSION}+upgrade1`);
    const pid = (s: string): string => /^MainPID=(\d+)$/m.exec(s)?.[1] ?? '';
    assert.notEqual(pid(file('unit-after')), pid(unit), 'the agent was not replaced');
    assert.match(file('unit-after'), /^ActiveState=active$/m);
    assert.ok(file('info-after').includes(`version="${VERSION}+upgrade1"`), `the running agent is not the new one: ${file('info-after')}`);
    const during = JSON.parse(file('during.json')) as { requests: number; failed: number; errors: string[]; download: { ok: boolean; bytes: number } };
    assert.ok(during.requests >= 30, `only ${during.requests} requests during the upgrade`);
    assert.equal(during.failed, 0, `requests failed during the upgrade: ${during.errors.join('; ')}`);
    assert.ok(during.download.ok && during.download.bytes > 100 * 1024, `the download across the upgrade broke: ${JSON.stringify(during.download)}`);
    assert.match(file('journal.txt'), /leaving xdp attached/);
    // removal and purge
    assert.equal(file('remove.status'), '0', file('remove.txt'));
    assert.deepEqual(file('after-remove.txt').split('\n'), ['active=inactive', 'xdp=0', 'pins=absent', 'config=present']);
    assert.equal(file('purge.status'), '0', file('purge.txt'));
    assert.deepEqual(file('after-purge.txt').split('\n'), ['config=absent', 'default=absent']);
  });
});

