// The demo scenario behind `xdpvs demo` (make demo): the main job on an
// embedded topology. A client, a director running `xdpvs run`, three real
// servers, all in namespaces made here; traffic through the VIP, a real dying
// and returning, the live table and the metrics. Everything is removed on
// exit and on Ctrl-C. It lives with the lab: both are the development tree's,
// not the package's.
import * as fs from 'node:fs';
import type { DemoOptions } from '../../agent/cli/demo';
import { Lab, type AgentProcess } from './lab';
import { sh } from './netns';

/** The embedded configuration of director d: keepalived.conf, as an operator's would be. */
const DEMO_CONFIG = (method: 'dr' | 'tun', dev: string, priority: number): string => `! embedded demo configuration: keepalived.conf, run unchanged by xdpvs
global_defs {
    router_id xdpvs_demo
}
virtual_server 198.18.1.100 80 {
    delay_loop 1
    lb_algo mh
    lb_kind ${method.toUpperCase()}
    protocol TCP
${[11, 12, 13]
  .map(
    (n) => `    real_server 198.18.0.${n} 80 {
        weight 1
        HTTP_GET {
            url {
                path /health
                status_code 200
            }
            connect_timeout 1
            retry 0
        }
    }`,
  )
  .join('\n')}
}
vrrp_instance VI_1 {
    state BACKUP
    interface ${dev}
    virtual_router_id 51
    priority ${priority}
    advert_int 1
    virtual_ipaddress {
        198.18.1.100/32 dev ${dev}
    }
}
`;

const say = (s = ''): void => console.log(s);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** n GETs through the VIP: count per real and failures. */
function traffic(lab: Lab, n: number): { per: Map<string, number>; failed: number } {
  const per = new Map<string, number>();
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const body = lab.get('/', 2)?.trim();
    if (body === undefined) failed++;
    else per.set(body, (per.get(body) ?? 0) + 1);
  }
  return { per, failed };
}

function show(title: string, t: { per: Map<string, number>; failed: number }, n: number): void {
  say(title);
  for (const name of [...t.per.keys()].sort()) {
    const c = t.per.get(name)!;
    say(`  ${name.padEnd(6)} ${String(c).padStart(4)}  ${'#'.repeat(Math.round((c / n) * 50))}`);
  }
  say(`  failed ${String(t.failed).padStart(4)}`);
}

async function waitLog(agent: AgentProcess, re: RegExp, ms: number): Promise<number> {
  const start = Date.now();
  await agent.waitFor(re, ms);
  return Date.now() - start;
}

export async function demo(opts: DemoOptions): Promise<void> {
  const n = Math.max(30, Number(opts.requests) || 300);
  say(`xdpvs demo: client -> 2 directors (XDP, ${opts.method.toUpperCase()}, VRRP) -> 3 real servers, all in network namespaces\n`);
  const lab = new Lab({ tag: 'm', reals: 3, directors: 2, vipOnLink: true });
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    say('\ncleaning up: agent, servers, namespaces');
    await lab.cleanup();
  };
  const onSignal = (): void => void cleanup().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (let i = 0; i < 3; i++) {
      if (opts.method === 'tun') lab.attachDecap(i);
      await lab.startServer(i);
    }
    const cfgs = [0, 1].map((d) => lab.writeConfig(`director${d}.conf`, DEMO_CONFIG(opts.method, lab.directors[d]!.dev, d === 0 ? 150 : 100)));
    say(`configuration of director0 (${cfgs[0]}; director1's differs in interface and priority 100):\n${fs.readFileSync(cfgs[0]!, 'utf8')}`);
    const agent = lab.startAgent(cfgs[0]!, 0);
    const backup = lab.startAgent(cfgs[1]!, 1);
    await agent.waitFor(/"msg":"vrrp MASTER"/, 30_000);
    const attached = /"mode":"(\w+)"/.exec(agent.lines.find((l) => /xdp attached/.test(l)) ?? '')?.[1];
    say(`director0 is VRRP master (priority 150) and owns the VIP; XDP ${attached ?? '?'} mode. Waiting for the checks to pass ...`);
    const deadline = Date.now() + 20_000;
    while (traffic(lab, 6).per.size < 3 && Date.now() < deadline) await sleep(300);

    show(`\n${n} requests from the client, each a new connection:`, traffic(lab, n), n);
    say(`\n$ xdpvs list\n${lab.cli(['list'])}`);

    say('\nkilling the HTTP server of real2 ...');
    await lab.stopServer(1);
    const down = await waitLog(agent, /real down/, 15_000);
    say(`its health check took it out after ${(down / 1000).toFixed(1)} s (delay_loop 1, retry 0)`);
    show(`${n} requests while real2 is down:`, traffic(lab, n), n);

    say('\nstarting real2 again ...');
    await lab.startServer(1);
    const up = await waitLog(agent, /real up/, 15_000);
    say(`back in the ring after ${(up / 1000).toFixed(1)} s`);
    show(`${n} requests with real2 back:`, traffic(lab, n), n);

    const metrics = lab.directorGet('http://127.0.0.1:9641/metrics');
    say('\nsome of /metrics (http://127.0.0.1:9641/metrics inside the director namespace):');
    for (const line of metrics.split('\n')) if (/^xdpvs_(real_new_flows_total|real_up|verdict_packets_total\{reason="fwd|vrrp_state)/.test(line)) say(`  ${line}`);

    say('\nkilling the agent of director0, the VRRP master (SIGKILL: no goodbye advertisement) ...');
    const mark = backup.mark();
    const killedAt = Date.now();
    agent.signal('SIGKILL');
    const probes: Promise<boolean>[] = [];
    const end = Date.now() + 6000;
    while (Date.now() < end) {
      probes.push(lab.getAsync('/', 1));
      await sleep(100);
    }
    const line = await backup.waitFor(/"msg":"vrrp MASTER"/, 10_000, mark);
    const took = Number(/"time":(\d+)/.exec(line)?.[1] ?? Date.now()) - killedAt;
    const ok = await Promise.all(probes);
    say(`director1 became master ${(took / 1000).toFixed(2)} s later (Master_Down_Interval: 3 x 1 s + skew 0.61 s after the last advertisement) and sent gratuitous ARP`);
    say(`requests every 100 ms meanwhile: ${ok.filter(Boolean).length} of ${ok.length} answered`);
    say('  (the XDP program outlives its agent: director0 kept forwarding until the client followed the ARP to director1)');
    const neigh = sh('ip', ['-n', lab.client.ns, 'neigh', 'show', lab.vip]).trim();
    const mac1 = sh('ip', ['-n', lab.directors[1]!.ns, '-br', 'link', 'show', lab.directors[1]!.dev]).trim().split(/\s+/)[2];
    say(`client's neighbour entry for the VIP: ${neigh} (director1's MAC is ${mac1})`);
    show(`${n} requests through director1:`, traffic(lab, n), n);

    if (opts.hold) {
      say(`\nthe lab stays up until Ctrl-C. Try:\n  ip netns exec ${lab.client.ns} curl http://${lab.vip}/\n  ip netns exec ${lab.directors[0]!.ns} bin/xdpvs list --state-dir ${lab.workDir}/state-0`);
      await new Promise(() => {});
    }
  } finally {
    await cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
