// The agent under the faults of daily operation (issue 11): a reload that
// cannot be applied, signals during start, a flushed neighbour table, a real
// removed while the agent was down. Each test names what an operator relies on.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Lab, XDPVS_BIN, type AgentProcess } from '../lab/lab';
import { LbDataplane } from '../../agent/dataplane/lb';
import { sh } from '../lab/netns';
import { requireRoot } from '../support/root';
import { untilServing } from '../support/serving';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whichever comes first: a log line matching re, or the agent's exit (a failure naming its code). */
async function lineOrExit(agent: AgentProcess, re: RegExp, ms: number, from: number): Promise<string> {
  const exited = agent.exited.then((code) => {
    throw new Error(`the agent exited (code ${code}) instead of logging ${re}; last lines:\n${agent.lines.slice(-8).join('\n')}`);
  });
  return Promise.race([agent.waitFor(re, ms, from), exited]);
}

/** A keepalived.conf: the service on the lab's reals (no checks) and, unless vrrpDev is undefined, one instance. */
function conf(lab: Lab, vrrpDev: string | undefined, reals: string[] = lab.reals.map((r) => r.addr)): string {
  const lines = ['global_defs {', '  router_id faults', '}', 'virtual_server 198.18.1.100 80 {', '  lb_algo mh', '  lb_kind DR', '  protocol TCP'];
  for (const a of reals) lines.push(`  real_server ${a} 80 {`, '    weight 1', '  }');
  lines.push('}');
  if (vrrpDev !== undefined) {
    lines.push('vrrp_instance VI_1 {', '  state MASTER', `  interface ${vrrpDev}`, '  virtual_router_id 61', '  priority 150', '  advert_int 1');
    lines.push('  virtual_ipaddress {', `    ${lab.vip}/32 dev ${lab.directors[0]!.dev}`, '  }', '}');
  }
  return lines.join('\n');
}

describe('reloads and signals never take the director down', () => {
  let lab: Lab;
  let agent: AgentProcess;
  let cfg: string;

  before(async () => {
    requireRoot('netns');
    lab = new Lab({ tag: 'g', reals: 2, vipOnLink: true });
    for (let i = 0; i < 2; i++) await lab.startServer(i);
    cfg = lab.writeConfig('keepalived.conf', conf(lab, lab.directors[0]!.dev));
    agent = lab.startAgent(cfg);
    await agent.waitFor(/xdpvs running/, 15_000);
    await agent.waitFor(/"to":"MASTER"|MASTER/, 10_000, true);
    await untilServing(lab, ['real1', 'real2'], 20_000);
  });

  after(async () => lab?.cleanup());

  it('a reload naming a missing interface is rejected whole: the agent lives, the instance stays MASTER with its VIP', async () => {
    const bad = conf(lab, 'agnosuch0');
    lab.writeConfig('keepalived.conf', bad);
    // the file itself is valid: check passes, only the host lacks the interface
    sh(XDPVS_BIN, ['check', '-f', cfg]);
    const from = agent.mark();
    agent.signal('SIGHUP');
    const line = await lineOrExit(agent, /reload rejected/, 10_000, from);
    assert.match(line, /reload rejected/);
    assert.match(agent.lines.slice(from).join('\n'), /keepalived\.conf:\d+: error: vrrp_instance VI_1: interface agnosuch0 does not exist on this host \[XDPVS_CONF_HOST\]/);
    await sleep(1500);
    assert.equal(agent.proc.exitCode, null, 'the agent is still running');
    assert.ok(lab.hasVip(0), 'the VIP stayed on the director');
    assert.match(lab.cli(['list']), /^VI_1 +MASTER +150 /m);
    assert.doesNotMatch(agent.lines.slice(from).join('\n'), /vrrp instance stopped|"state":"BACKUP"|releas/i, 'nothing moved');
    assert.ok(lab.get('/'), 'still serving');
  });

  it('a SIGHUP while the agent is still starting waits for the start and reloads; it does not kill the agent', async () => {
    await agent.stop();
    // an unreachable real holds start() in its wait for the reals (5 s)
    cfg = lab.writeConfig('keepalived.conf', conf(lab, undefined, [...lab.reals.map((r) => r.addr), '198.18.0.99']));
    agent = lab.startAgent(cfg);
    await agent.waitFor(/configuration loaded/, 15_000);
    agent.signal('SIGHUP');
    await lineOrExit(agent, /xdpvs running/, 15_000, 0);
    await lineOrExit(agent, /configuration reloaded/, 10_000, 0);
    assert.equal(agent.proc.exitCode, null);
  });

  it('a SIGTERM while the agent is still starting stops it cleanly once started: exit 0, XDP detached', async () => {
    await agent.stop();
    const late = lab.startAgent(lab.writeConfig('late.conf', conf(lab, undefined, ['198.18.0.99'])));
    await late.waitFor(/configuration loaded/, 15_000);
    late.signal('SIGTERM');
    assert.equal(await late.exited, 0);
    assert.match(late.lines.join('\n'), /xdp detached/);
  });
});

/**
 * The real a running download goes through: the only one whose packet
 * counter grows while nothing else sends. (Packet counters are live;
 * connection counts come from a walk of the flow table every few seconds.)
 */
async function downloadReal(lab: Lab): Promise<{ addr: string } | undefined> {
  const packets = (): Map<string, number> =>
    new Map((JSON.parse(lab.cli(['list', '--json'])) as { reals: { addr: string; packets: string }[] }[])[0]!.reals.map((r) => [r.addr, Number(r.packets)]));
  const before = packets();
  await sleep(1000);
  const grew = [...packets()].filter(([addr, n]) => n > (before.get(addr) ?? 0));
  return grew.length === 1 ? { addr: grew[0]![0] } : undefined;
}

describe('neighbour churn never moves a flow', () => {
  let lab: Lab;
  let agent: AgentProcess;

  before(async () => {
    requireRoot('netns');
    lab = new Lab({ tag: 'h', reals: 2 });
    for (let i = 0; i < 2; i++) await lab.startServer(i);
    // no health checks: nothing but the agent's own lookups makes the director resolve the reals again
    agent = lab.startAgent(lab.writeConfig('keepalived.conf', conf(lab, undefined)));
    await agent.waitFor(/xdpvs running/, 15_000);
    await untilServing(lab, ['real1', 'real2'], 20_000);
  });

  after(async () => lab?.cleanup());

  it('a download completes through its real while the director\'s neighbour entry for that real is flushed again and again', async () => {
    // 4 MiB in 64 chunks 150 ms apart: about 10 s, two or more of the agent's 5 s re-resolutions
    // the download's real: the one whose connection count it raised
    const download = lab.download('/big?mb=4&ms=150', 40);
    await sleep(300);
    const real = await downloadReal(lab);
    assert.ok(real, 'the download has a flow through one real');
    const from = agent.mark();
    let flushes = 0;
    let done = false;
    void download.then(() => (done = true));
    for (let i = 0; i < 60 && !done; i++) {
      sh('ip', ['-n', lab.directors[0]!.ns, 'neigh', 'flush', 'to', real.addr]);
      flushes++;
      await sleep(250);
    }
    const result = await download;
    assert.deepEqual(result, { code: 0, bytes: 4 * 1024 * 1024 }, `the download broke; agent said:\n${agent.lines.slice(from).join('\n')}`);
    assert.ok(flushes >= 20, `flushed ${flushes} times`);
    assert.doesNotMatch(agent.lines.slice(from).join("\n"), /real not reachable yet|real unreachable/, "the real kept its next hop");
  });
});

describe('a real removed while the agent was down', () => {
  let lab: Lab;
  let agent: AgentProcess;

  before(async () => {
    requireRoot('netns');
    lab = new Lab({ tag: 'i', reals: 2 });
    for (let i = 0; i < 2; i++) await lab.startServer(i);
    agent = lab.startAgent(lab.writeConfig('keepalived.conf', conf(lab, undefined)));
    await agent.waitFor(/xdpvs running/, 15_000);
    await untilServing(lab, ['real1', 'real2'], 20_000);
  });

  after(async () => lab?.cleanup());

  it('is inactive in the pinned maps after the next start, and its flows are rescheduled', async () => {
    const download = lab.download('/big?mb=4&ms=150', 40);
    await sleep(300);
    const gone = (await downloadReal(lab))?.addr;
    assert.ok(gone, 'the download has a flow through one real');
    const ids = JSON.parse(fs.readFileSync(path.join(lab.workDir, 'state-0', 'ids.json'), 'utf8')) as { reals: Record<string, number> };
    const id = ids.reals[`tcp 198.18.1.100:80 -> ${gone}:80`];
    assert.ok(id, JSON.stringify(ids));
    agent.signal('SIGUSR2');
    assert.equal(await agent.exited, 0);
    // the file loses the real the download runs through; its server keeps running
    const cfg = lab.writeConfig('keepalived.conf', conf(lab, undefined, lab.reals.map((r) => r.addr).filter((a) => a !== gone)));
    agent = lab.startAgent(cfg);
    await agent.waitFor(/xdpvs running/, 15_000);
    const dp = LbDataplane.load({ pinDir: path.join(lab.bpffs, 'xdpvs-0') });
    try {
      assert.equal((dp.real(id)?.flags ?? 0) & 1, 0, `real id ${id} (${gone}) is still ACTIVE in the pinned reals map`);
      const packets = dp.realStats(id).packets;
      await sleep(1000);
      assert.equal(dp.realStats(id).packets, packets, 'packets still go to the removed real');
    } finally {
      dp.close();
    }
    // rescheduled to the other real, which does not know the connection and resets it
    assert.notEqual((await download).code, 0);
  });
});
