// Hitless restarts keep persistent clients where they are: an rr service with
// persistence_timeout, two clients, twenty restarts (SIGUSR2, then a new
// `xdpvs run`) in a row, the clients connecting all the while; no client ever
// lands on another real, no request fails.
//
// What used to move them: the new agent resolves every real afresh and wrote
// a real it could not resolve yet as inactive (MAC 0), over the next hop the
// pinned map still held; a persistent client connecting then was rescheduled
// and its persistence entry rewritten to the other real for good. A
// neighbour entry that aged out while no agent ran is enough. Each round
// reproduces that: the director forgets the clients' real's MAC, and ARP
// cannot reach that real (its bridge port floods no broadcast) until the new
// agent says it is running.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Lab, type AgentProcess } from '../lab/lab';
import { sh } from '../lab/netns';
import { requireRoot } from '../support/root';

const RESTARTS = 20;
const CLIENTS = ['198.18.0.200', '198.18.0.201'];

const config = [
  'services:',
  '  - vip: 198.18.1.100',
  '    port: 80',
  '    lb_algo: rr',
  '    lb_kind: dr',
  '    persistence_timeout: 60',
  '    delay_loop: 1',
  '    reals:',
  ...[11, 12].flatMap((n) => [
    `      - address: 198.18.0.${n}`,
    '        checks: [{ type: tcp, connect_timeout: 3 }]',
  ]),
].join('\n');

describe('persistence across hitless restarts', () => {
  let lab: Lab;
  let agent: AgentProcess;
  let cfg: string;

  /** One GET from client address `src`: the real's name, or 'FAILED'. */
  const getFrom = (src: string): Promise<string> => {
    const p = spawn('ip', ['netns', 'exec', lab.client.ns, 'curl', '-s', '-f', '-m', '2', '--interface', src, `http://${lab.vip}/`], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // 'close', not 'exit': stdout may still hold the body when the process exits
    return new Promise((resolve) => p.once('close', (code) => resolve(code === 0 ? out.trim() : 'FAILED')));
  };

  /** ARP broadcasts reach real i (0-based) or not: its port on the LAN bridge. */
  const broadcastTo = (i: number, on: boolean): void => {
    sh('ip', ['netns', 'exec', lab.lanNs, 'bridge', 'link', 'set', 'dev', lab.bridgePort(lab.reals[i]!), 'bcast_flood', on ? 'on' : 'off']);
  };

  before(async () => {
    requireRoot('netns');
    lab = new Lab({ tag: 'p', reals: 2 });
    sh('ip', ['-n', lab.client.ns, 'addr', 'add', `${CLIENTS[1]}/24`, 'dev', lab.client.dev]);
    for (let i = 0; i < 2; i++) await lab.startServer(i, 1200);
    cfg = lab.writeConfig('xdpvs.yaml', config);
    agent = lab.startAgent(cfg);
    await agent.waitFor(/xdpvs running/, 15_000);
  });

  after(async () => lab?.cleanup());

  it(`no client moves to another real over ${RESTARTS} restarts in a row, nor while the new agent starts`, async () => {
    // each client's real, from its first connections
    const home = new Map<string, string>();
    for (const c of CLIENTS) {
      const seen = new Set<string>();
      for (let i = 0; i < 10; i++) seen.add(await getFrom(c));
      assert.equal(seen.size, 1, `client ${c} stuck to one real before any restart: ${[...seen].join(', ')}`);
      home.set(c, [...seen][0]!);
    }
    assert.ok(![...home.values()].includes('FAILED'));

    const homeReal = lab.reals.findIndex((r) => r.name === home.get(CLIENTS[0]!));
    const homeAddr = lab.reals[homeReal]!.addr;
    const director = lab.directors[0]!;
    const wrong: string[] = [];
    for (let round = 1; round <= RESTARTS; round++) {
      agent.signal('SIGUSR2');
      assert.equal(await agent.exited, 0, `round ${round}: the agent exits cleanly on SIGUSR2`);
      broadcastTo(homeReal, false);
      sh('ip', ['-n', director.ns, 'neigh', 'flush', 'to', homeAddr, 'dev', director.dev]);
      agent = lab.startAgent(cfg);
      const running = agent.waitFor(/xdpvs running/, 20_000);
      let started = false;
      void running.then(() => (started = true), () => (started = true));
      // connect while the new agent loads, writes its maps and attaches (bounded: the wait above is)
      const during: Promise<void>[] = [];
      while (!started) {
        for (const c of CLIENTS) during.push(getFrom(c).then((got) => void (got !== home.get(c) && wrong.push(`round ${round}, during start: ${c} -> ${got}`))));
        await new Promise((r) => setTimeout(r, 150));
      }
      await running;
      broadcastTo(homeReal, true);
      await Promise.all(during);
      for (const c of CLIENTS) {
        for (let i = 0; i < 10; i++) {
          const got = await getFrom(c);
          if (got !== home.get(c)) wrong.push(`round ${round}, after start: ${c} -> ${got}`);
        }
      }
      if (wrong.length > 0) break;
    }
    assert.deepEqual(wrong, [], `clients moved or failed (homes: ${JSON.stringify(Object.fromEntries(home))}); agent log:\n${agent.lines.slice(-25).join('\n')}`);
  });
});
