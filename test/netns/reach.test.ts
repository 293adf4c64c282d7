// Next hops follow the kernel's events: a real's new MAC reaches the maps
// within a second, traffic follows it, and the agent runs the same handful of
// `ip` processes whether it has two reals or 150.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Lab, type AgentProcess } from '../lab/lab';
import { sh } from '../lab/netns';
import { requireRoot } from '../support/root';
import { untilServing } from '../support/serving';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** unreached reals on the lab's LAN, nobody there: looked up every second */
const GHOSTS = 150;

function config(lab: Lab, ghosts: number): string {
  return [
    'services:',
    `  - vip: ${lab.vip}`,
    '    port: 80',
    '    lb_algo: mh',
    '    lb_kind: dr',
    '    delay_loop: 1',
    '    reals:',
    '      - address: 198.18.0.11',
    `  - vip: 198.18.1.101`,
    '    port: 80',
    '    lb_algo: mh',
    '    lb_kind: dr',
    '    reals:',
    ...Array.from({ length: ghosts }, (_, i) => `      - address: 198.18.0.${50 + i}`),
  ].join('\n');
}

/** The `ip` processes the agent has running now (its children), by pid. */
function ipChildren(pid: number): number[] {
  const r = spawnSync('ps', ['-o', 'pid=,comm=', '--ppid', String(pid)], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, comm]) => comm === 'ip')
    .map(([p]) => Number(p));
}

describe('next hops by kernel events', () => {
  let lab: Lab;
  let agent: AgentProcess;

  before(async () => {
    requireRoot('netns');
    lab = new Lab({ tag: 'h', reals: 1 });
    await lab.startServer(0);
    agent = lab.startAgent(lab.writeConfig('xdpvs.yaml', config(lab, GHOSTS)));
    await agent.waitFor(/xdpvs running/, 30_000);
    await untilServing(lab, ['real1'], 20_000);
  });

  after(async () => lab?.cleanup());

  it("a real's new MAC reaches the maps within 1 s of the kernel learning it, and traffic follows", async () => {
    const real = lab.reals[0]!;
    const dir = lab.directors[0]!;
    const mac = '02:00:00:00:11:11';
    sh('ip', ['-n', real.ns, 'link', 'set', 'dev', real.dev, 'address', mac]);
    // what a gratuitous ARP from the real would do on the director
    const mark = agent.mark();
    const t0 = Date.now();
    sh('ip', ['-n', dir.ns, 'neigh', 'replace', real.addr, 'lladdr', mac, 'dev', dir.dev, 'nud', 'reachable']);
    const line = await agent.waitFor(new RegExp(`"msg":"real reached".*"mac":"${mac}"|"mac":"${mac}".*"msg":"real reached"`), 5_000, mark);
    const ms = Date.now() - t0;
    assert.ok(line.includes(real.addr));
    assert.ok(ms < 1000, `the new MAC reached the maps after ${ms} ms`);
    for (let i = 0; i < 5; i++) assert.equal(lab.get('/')?.trim(), 'real1', 'a request after the MAC change');
  });

  it(`with ${GHOSTS + 1} reals, ${GHOSTS} of them unreached (looked up every second), the agent runs at most 3 ip processes at a time and a few per second`, async () => {
    const pid = agent.proc.pid!;
    const seen = new Set<number>();
    let most = 0;
    const until = Date.now() + 5_000;
    for (let n = 0; n < 500 && Date.now() < until; n++) {
      const now = ipChildren(pid);
      most = Math.max(most, now.length);
      for (const p of now) seen.add(p);
      await sleep(10);
    }
    // the monitor, one route batch, one neighbour table; polling per real ran 2 per real per pass
    assert.ok(most <= 3, `${most} ip processes at once`);
    assert.ok(seen.size >= 1, 'the ip monitor runs');
    assert.ok(seen.size <= 1 + 2 * 7, `${seen.size} ip processes in 5 s`);
  });
});
