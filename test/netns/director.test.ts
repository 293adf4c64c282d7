// The director end to end: `xdpvs run` in a namespace, real HTTP servers,
// curl from a client through the VIP, by DR and by TUN.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Lab, type AgentProcess } from '../lab/lab';
import { sh } from '../lab/netns';
import { requireRoot } from '../support/root';
import { spread, untilServing } from '../support/serving';

const config = (method: 'dr' | 'tun', weights: number[], lbAlgo = 'mh', notifyDir?: string): string =>
  [
    'services:',
    '  - vip: 198.18.1.100',
    '    port: 80',
    `    lb_algo: ${lbAlgo}`,
    `    lb_kind: ${method}`,
    '    delay_loop: 1',
    '    reals:',
    ...weights.flatMap((w, i) => [
      `      - address: 198.18.0.${11 + i}`,
      `        weight: ${w}`,
      ...(notifyDir
        ? [`        notify_down: "echo down >> ${notifyDir}/real${i + 1}"`, `        notify_up: "echo up >> ${notifyDir}/real${i + 1}"`]
        : []),
      '        checks: [{ type: http, path: /health, connect_timeout: 1, retry: 0, delay_before_retry: 1 }]',
    ]),
  ].join('\n');

describe('director by DR, end to end', () => {
  let lab: Lab;
  let agent: AgentProcess;
  let cfg: string;

  before(async () => {
    requireRoot('netns');
    lab = new Lab({ tag: 'e', reals: 3 });
    for (let i = 0; i < 3; i++) await lab.startServer(i);
    cfg = lab.writeConfig('xdpvs.yaml', config('dr', [1, 1, 1], 'mh', lab.workDir));
    agent = lab.startAgent(cfg);
    await agent.waitFor(/xdpvs running/, 15_000);
    await untilServing(lab, ['real1', 'real2', 'real3'], 20_000);
  });

  after(async () => lab?.cleanup());

  it('spreads new connections over every real', () => {
    const seen = spread(lab, 60);
    assert.deepEqual([...seen.keys()].sort(), ['real1', 'real2', 'real3']);
    for (const [name, n] of seen) assert.ok(n >= 5, `${name} got ${n} of 60`);
  });

  it('a real whose server dies is taken out by its check, no later request fails, and it comes back', async () => {
    await lab.stopServer(1);
    await agent.waitFor(/real down/, 10_000);
    const seen = spread(lab, 30);
    assert.deepEqual([...seen.keys()].sort(), ['real1', 'real3']);
    await lab.startServer(1);
    await agent.waitFor(/real up/, 10_000);
    await untilServing(lab, ['real2'], 10_000);
    // notify_down and notify_up ran (detached, so allow them a moment)
    const deadline = Date.now() + 3000;
    const notes = (): string => (fs.existsSync(`${lab.workDir}/real2`) ? fs.readFileSync(`${lab.workDir}/real2`, 'utf8') : '');
    while (notes() !== 'down\nup\n' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(notes(), 'down\nup\n');
  });

  it('xdpvs list shows services, reals, weights and counters like ipvsadm -Ln', () => {
    const table = lab.cli(['list']);
    assert.match(table, /^Prot LocalAddress:Port Scheduler Flags$/m);
    assert.match(table, /^TCP  198\.18\.1\.100:80 mh$/m);
    for (const ip of ['198.18.0.11', '198.18.0.12', '198.18.0.13']) assert.match(table, new RegExp(`-> ${ip.replace(/\./g, '\\.')}:80 +Route +1 `));
    const json = JSON.parse(lab.cli(['list', '--json'])) as { key: string; packets: string; reals: { addr: string; up: boolean; newFlows: string }[] }[];
    assert.equal(json[0]?.key, 'tcp 198.18.1.100:80');
    assert.ok(Number(json[0]?.packets) > 0);
    assert.ok(json[0]?.reals.every((r) => r.up && Number(r.newFlows) > 0), JSON.stringify(json[0]?.reals));
  });

  it('xdpvs real drain takes a real out of new flows without a reload; enable brings it back', async () => {
    assert.match(lab.cli(['real', 'drain', '198.18.1.100:80', '198.18.0.11:80']), /weight 0/);
    assert.deepEqual([...spread(lab, 30).keys()].sort(), ['real2', 'real3']);
    assert.match(lab.cli(['list']), /-> 198\.18\.0\.11:80 +Route +0 .*weight set \(configured 1\)/);
    lab.cli(['real', 'enable', '198.18.1.100:80', '198.18.0.11:80']);
    await untilServing(lab, ['real1'], 5_000);
    assert.throws(() => lab.cli(['real', 'drain', '198.18.1.100:80', '198.18.0.99:80']), /real: no real 198\.18\.0\.99:80 in service tcp 198\.18\.1\.100:80/);
  });

  it('/metrics has per-service and per-real counters, health and checks', () => {
    const text = lab.directorGet('http://127.0.0.1:9641/metrics');
    const value = (re: RegExp): number => Number(re.exec(text)?.[1] ?? 0); // absent until counted
    assert.ok(value(/^xdpvs_vip_packets_total\{service="tcp 198\.18\.1\.100:80"\} (\d+)$/m) > 0);
    assert.equal(value(/^xdpvs_real_up\{service="tcp 198\.18\.1\.100:80",real="198\.18\.0\.12:80"\} (\d+)$/m), 1);
    assert.ok(value(/^xdpvs_real_new_flows_total\{service="tcp 198\.18\.1\.100:80",real="198\.18\.0\.13:80"\} (\d+)$/m) > 0);
    assert.ok(value(/^xdpvs_checks_total\{service="tcp 198\.18\.1\.100:80",real="198\.18\.0\.11:80",type="http",result="ok"\} (\d+)$/m) > 0);
    assert.ok(value(/^xdpvs_verdict_packets_total\{reason="fwd_dr"\} (\d+)$/m) > 0);
    assert.equal(value(/^xdpvs_map_capacity\{map="flows"\} (\d+)$/m), 1048576);
    assert.match(text, /^xdpvs_info\{version="[^"]+",format="yaml",config="[^"]+"\} 1$/m);
  });

  it('a weight change by reload (SIGHUP) applies live', async () => {
    lab.writeConfig('xdpvs.yaml', config('dr', [0, 1, 1]));
    agent.signal('SIGHUP');
    await agent.waitFor(/configuration reloaded/, 10_000);
    const seen = spread(lab, 30);
    assert.deepEqual([...seen.keys()].sort(), ['real2', 'real3']);
  });

  it('a broken file on SIGHUP is rejected with its errors and changes nothing', async () => {
    lab.writeConfig('xdpvs.yaml', `${config('dr', [1, 1, 1])}\n    persistence_timeout: soon\n`);
    agent.signal('SIGHUP');
    const line = await agent.waitFor(/persistence_timeout|reload rejected/, 10_000);
    assert.match(line, /xdpvs\.yaml:\d+: error: persistence_timeout wants an integer/);
    await agent.waitFor(/reload rejected: the previous configuration keeps serving/, 5_000, true);
    const seen = spread(lab, 30);
    assert.deepEqual([...seen.keys()].sort(), ['real2', 'real3']);
  });

  it('an agent restart (SIGUSR2, then run again) keeps a long download going and keeps serving', async () => {
    lab.writeConfig('xdpvs.yaml', config('dr', [1, 1, 1]));
    agent.signal('SIGHUP');
    await agent.waitFor(/configuration reloaded/, 10_000);
    // 4 MiB in 64 chunks 50 ms apart: about 3 s
    const download = lab.download('/big?mb=4&ms=50', 30);
    await new Promise((r) => setTimeout(r, 500));
    agent.signal('SIGUSR2');
    assert.equal(await agent.exited, 0);
    assert.ok(lab.get('/'), 'served with no agent running: the program stayed attached');
    agent = lab.startAgent(cfg);
    await agent.waitFor(/xdpvs running/, 15_000);
    assert.match(agent.lines.join('\n'), /"replaced":\d+/, 'the new agent replaced the program atomically');
    const result = await download;
    assert.deepEqual(result, { code: 0, bytes: 4 * 1024 * 1024 });
  });
});

describe('director by TUN, end to end', () => {
  let lab: Lab;

  before(async () => {
    requireRoot('netns');
    lab = new Lab({ tag: 't', reals: 2 });
    for (let i = 0; i < 2; i++) {
      lab.attachDecap(i);
      await lab.startServer(i);
    }
    // keepalived.conf as an operator writes it, auto-detected
    const keepalived = [
      '! TUN director',
      'global_defs {',
      '    router_id LAB_TUN',
      '}',
      'virtual_server 198.18.1.100 80 {',
      '    delay_loop 1',
      '    lb_algo rr',
      '    lb_kind TUN',
      '    protocol TCP',
      ...[11, 12].flatMap((n) => [
        `    real_server 198.18.0.${n} 80 {`,
        '        weight 1',
        '        HTTP_GET {',
        '            url {',
        '                path /health',
        '                status_code 200',
        '            }',
        '            connect_timeout 1',
        '            retry 0',
        '        }',
        '    }',
      ]),
      '}',
    ].join('\n');
    const agent = lab.startAgent(lab.writeConfig('keepalived.conf', keepalived));
    await agent.waitFor(/xdpvs running/, 15_000);
    await untilServing(lab, ['real1', 'real2'], 20_000);
  });

  after(async () => lab?.cleanup());

  it('runs from keepalived.conf: tunnels to reals that decapsulate with the decap program; rr alternates', () => {
    const seen = spread(lab, 20);
    assert.deepEqual([...seen.keys()].sort(), ['real1', 'real2']);
    // per-CPU cursors: each CPU alternates, so the split stays near even
    for (const [, n] of seen) assert.ok(n >= 6, JSON.stringify([...seen]));
  });

  it('an upload in full-sized packets completes: frag-needed from the director lowers the client\'s path MTU', async () => {
    // 1500-byte packets + 20 bytes of tunnel do not fit the 1500-byte link to the reals
    const tooBig = (): number => Number(/xdpvs_verdict_packets_total\{reason="too_big"\} (\d+)/.exec(lab.directorGet('http://127.0.0.1:9641/metrics'))?.[1] ?? 0); // absent until counted
    const before = tooBig();
    const { code, body } = await lab.upload('/upload', 2 * 1024 * 1024, 20);
    assert.equal(code, 0, 'curl finished');
    assert.match(body, /^real[12] 2097152\n$/);
    assert.ok(tooBig() > before, 'the director answered with frag-needed');
    const route = sh('ip', ['-n', lab.client.ns, 'route', 'get', lab.vip]);
    assert.match(route, /mtu 1480/, `the client learned the path MTU: ${route}`);
  });
});
