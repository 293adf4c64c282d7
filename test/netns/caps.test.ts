// The director with the capabilities its systemd unit gives it and no more:
// a bounding set without CAP_SYS_ADMIN (setpriv, as CapabilityBoundingSet=
// does). A restart finds the attached program and the VIPs' tables by their
// pins, since opening either by id would need CAP_SYS_ADMIN.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { boundingSet, Lab, type AgentProcess } from '../lab/lab';
import { sh } from '../lab/netns';
import { requireRoot } from '../support/root';

/** The bounding set a systemd unit gives the agent (CapabilityBoundingSet=): CAP_PERFMON for the verifier (pointer subtraction), no CAP_SYS_ADMIN. */
const CAPS = ['cap_bpf', 'cap_perfmon', 'cap_net_admin', 'cap_net_raw'];
const CAP_SYS_ADMIN = 21;
const CAP_BPF = 39;
const VIP2 = '198.18.1.101';

const config = (vips: string[]): string =>
  [
    'services:',
    ...vips.flatMap((vip) => [
      `  - vip: ${vip}`,
      '    port: 80',
      '    lb_algo: mh',
      '    lb_kind: dr',
      '    delay_loop: 1',
      '    reals:',
      ...[11, 12].flatMap((n) => [`      - address: 198.18.0.${n}`, '        checks: [{ type: tcp, connect_timeout: 1, retry: 0 }]']),
    ]),
  ].join('\n');

function effectiveCaps(agent: AgentProcess): bigint {
  const status = fs.readFileSync(`/proc/${agent.proc.pid}/status`, 'utf8');
  return BigInt(`0x${/^CapEff:\s+([0-9a-f]+)$/m.exec(status)?.[1] ?? '0'}`);
}

function get(lab: Lab, vip: string): string | undefined {
  try {
    return sh('ip', ['netns', 'exec', lab.client.ns, 'curl', '-s', '-f', '-m', '2', `http://${vip}/`]).trim();
  } catch {
    return undefined;
  }
}

async function untilServed(lab: Lab, vip: string, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (get(lab, vip)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${vip} never served`);
}

describe('director without CAP_SYS_ADMIN', () => {
  let lab: Lab;
  let agent: AgentProcess;
  let cfg: string;
  let pinDir: string;

  const start = async (): Promise<AgentProcess> => {
    const a = lab.startAgent(cfg, 0, [], boundingSet(CAPS));
    await a.waitFor(/xdpvs running/, 15_000);
    return a;
  };

  before(async () => {
    requireRoot('netns');
    lab = new Lab({ tag: 'k', reals: 2 });
    for (let i = 0; i < 2; i++) {
      await lab.startServer(i);
      sh('ip', ['-n', lab.reals[i]!.ns, 'addr', 'add', `${VIP2}/32`, 'dev', 'lo']);
    }
    sh('ip', ['-n', lab.client.ns, 'route', 'add', `${VIP2}/32`, 'via', '198.18.0.1']);
    pinDir = path.join(lab.bpffs, 'xdpvs-0');
    cfg = lab.writeConfig('xdpvs.yaml', config([lab.vip]));
    agent = await start();
    await untilServed(lab, lab.vip, 20_000);
  });

  after(async () => lab?.cleanup());

  it('runs with CAP_BPF and without CAP_SYS_ADMIN, and pins its program and tables', () => {
    const caps = effectiveCaps(agent);
    assert.equal((caps >> BigInt(CAP_SYS_ADMIN)) & 1n, 0n);
    assert.equal((caps >> BigInt(CAP_BPF)) & 1n, 1n);
    assert.ok(fs.existsSync(path.join(pinDir, 'xdpvs_lb')), 'program pinned');
    assert.equal(fs.readdirSync(path.join(pinDir, 'vip_tables')).length, 1, 'one table pinned');
  });

  it('a restart (SIGUSR2, then run again) keeps a download going and replaces the program atomically', async () => {
    const download = lab.download('/big?mb=2&ms=50', 30);
    await new Promise((r) => setTimeout(r, 500));
    agent.signal('SIGUSR2');
    assert.equal(await agent.exited, 0);
    agent = await start();
    assert.match(agent.lines.join('\n'), /"replaced":\d+/);
    assert.deepEqual(await download, { code: 0, bytes: 2 * 1024 * 1024 });
    assert.ok(get(lab, lab.vip));
  });

  it('a reload (SIGHUP) after the restart adds a VIP with its table and keeps the first serving', async () => {
    lab.writeConfig('xdpvs.yaml', config([lab.vip, VIP2]));
    agent.signal('SIGHUP');
    await agent.waitFor(/configuration reloaded/, 10_000);
    await untilServed(lab, VIP2, 10_000);
    assert.ok(get(lab, lab.vip));
    assert.equal(fs.readdirSync(path.join(pinDir, 'vip_tables')).length, 2);
  });

  it('a second restart re-adopts both tables by their pins', async () => {
    agent.signal('SIGUSR2');
    assert.equal(await agent.exited, 0);
    agent = await start();
    assert.ok(get(lab, lab.vip));
    assert.ok(get(lab, VIP2));
    assert.doesNotMatch(agent.lines.join('\n'), /"level":(50|60)/);
  });

  it('tables without pins (an older agent\'s pin directory) are replaced whole', async () => {
    agent.signal('SIGUSR2');
    assert.equal(await agent.exited, 0);
    fs.rmSync(path.join(pinDir, 'vip_tables'), { recursive: true });
    agent = await start();
    assert.ok(get(lab, lab.vip));
    assert.ok(get(lab, VIP2));
    assert.equal(fs.readdirSync(path.join(pinDir, 'vip_tables')).length, 2);
  });

  it('an attached program without a pin is not taken over, and the error names the remedy', async () => {
    agent.signal('SIGUSR2');
    assert.equal(await agent.exited, 0);
    fs.rmSync(path.join(pinDir, 'xdpvs_lb'));
    const a = lab.startAgent(cfg, 0, [], boundingSet(CAPS));
    assert.notEqual(await a.exited, 0);
    assert.match(a.lines.join('\n'), /runs XDP program id \d+, which is not the xdpvs_lb pinned at .*needs CAP_SYS_ADMIN: start this agent once with CAP_SYS_ADMIN/);
    assert.ok(get(lab, lab.vip), 'the old program still forwards');
    // with CAP_SYS_ADMIN it takes over without a gap, and pins the program again
    agent = lab.startAgent(cfg);
    await agent.waitFor(/xdpvs running/, 15_000);
    assert.match(agent.lines.join('\n'), /"replaced":\d+/);
    assert.ok(fs.existsSync(path.join(pinDir, 'xdpvs_lb')));
    assert.ok(get(lab, lab.vip));
  });
});
