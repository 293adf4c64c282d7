// The soak: a compressed day of a director's life under traffic. Requests
// run all the time through one VIP and long downloads through another while
// the configuration is reloaded over and over (every tenth file broken, so
// rejected), one real's health flaps every second, runtime weights change,
// and the agent restarts hitlessly by SIGUSR2. Goals, asserted:
//  - no failed request (every real's server is alive: only its check flaps);
//  - no download reset (they go to reals whose health never changes);
//  - after warm-up, the agent's RSS grows by less than 10 MB, and its open
//    fds, timers and map entries (VIPs, reals, tables) stay as they were.
//    V8 lets the heap grow between major collections, so RSS saws up and down
//    by 20-30 MB under reloads; growth is measured between the lowest RSS of
//    the first and of the last window of samples, which a leak would raise.
// `make test` runs the short day (80 reloads, 2 restarts); `make soak`
// (SOAK=long) the long one: 1,000 reloads and 10 restarts.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Lab, type AgentProcess } from '../lab/lab';
import { sh } from '../lab/netns';
import { requireRoot } from '../support/root';

const LONG = process.env.SOAK === 'long';
// The restarts come early in the day, so the last agent lives long enough to
// show a trend: WARM reloads of warm-up, then RSS is sampled after each reload.
const DAY = LONG ? { reloads: 1000, restarts: 10, restartEvery: 40, reloadEveryMs: 300 } : { reloads: 80, restarts: 2, restartEvery: 10, reloadEveryMs: 100 };
const WARM = 20;
/** RSS samples per window: longer than V8's heap sawtooth (a major GC every 10-15 reloads here). */
const WINDOW = 20;
const VIP2 = '198.18.1.101';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Service 1 (the request VIP): three reals, the third's check follows a flag file. Service 2: downloads, reals 1 and 2. */
function config(lab: Lab, weights: [number, number, number], broken: boolean): string {
  const flag = path.join(lab.workDir, 'real3-down');
  const reals1 = weights.map((w, i) => [
    `      - address: 198.18.0.${11 + i}`,
    `        weight: ${w}`,
    i === 2
      ? `        checks: [{ type: misc, misc_path: "test ! -e ${flag}", misc_timeout: 1 }]`
      : '        checks: [{ type: http, path: /health, connect_timeout: 1, retry: 1, delay_before_retry: 1 }]',
  ]);
  return [
    'services:',
    `  - vip: ${lab.vip}`,
    '    port: 80',
    '    lb_algo: mh',
    '    lb_kind: dr',
    '    delay_loop: 1',
    '    reals:',
    ...reals1.flat(),
    `  - vip: ${VIP2}`,
    '    port: 80',
    '    lb_algo: mh',
    '    lb_kind: dr',
    '    delay_loop: 1',
    '    reals:',
    '      - address: 198.18.0.11',
    '        checks: [{ type: tcp, connect_timeout: 1 }]',
    '      - address: 198.18.0.12',
    '        checks: [{ type: tcp, connect_timeout: 1 }]',
    ...(broken ? ['  - vip: not-an-address', '    port: 99999'] : []),
  ].join('\n');
}

/** The agent's own figures, from its /metrics. */
function figures(lab: Lab): { rss: number; fds: number; timers: number; maps: Record<string, number> } {
  const text = lab.directorGet('http://127.0.0.1:9641/metrics');
  const one = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
  const maps: Record<string, number> = {};
  for (const m of text.matchAll(/^xdpvs_map_entries\{map="(\w+)"\} (\d+)$/gm)) maps[m[1]!] = Number(m[2]);
  delete maps['flows']; // traffic's, not the configuration's
  return {
    rss: one(/^xdpvs_agent_process_resident_memory_bytes (\d+)/m),
    fds: one(/^xdpvs_agent_process_open_fds (\d+)/m),
    timers: one(/^xdpvs_agent_nodejs_active_resources\{type="Timeout"\} (\d+)/m) || 0,
    maps,
  };
}

describe(`soak: a compressed day (${DAY.reloads} reloads, health flapping every second, runtime weights, ${DAY.restarts} hitless restarts)`, { timeout: (LONG ? 40 : 8) * 60_000 }, () => {
  let lab: Lab;
  let agent: AgentProcess;
  let cfg: string;

  before(async () => {
    requireRoot('netns');
    lab = new Lab({ tag: 'k', reals: 3 });
    for (let i = 0; i < 3; i++) await lab.startServer(i, LONG ? 3600 : 900);
    // the download VIP: on the first two reals' lo, routed through the director
    for (const r of lab.reals.slice(0, 2)) sh('ip', ['-n', r.ns, 'addr', 'add', `${VIP2}/32`, 'dev', 'lo']);
    sh('ip', ['-n', lab.client.ns, 'route', 'add', `${VIP2}/32`, 'via', '198.18.0.1']);
    cfg = lab.writeConfig('xdpvs.yaml', config(lab, [1, 1, 1], false));
    agent = lab.startAgent(cfg);
    await agent.waitFor(/xdpvs running/, 20_000);
    // every real checked up and reached before the day starts
    const deadline = Date.now() + 20_000;
    while (/down|unreached/.test(lab.cli(['list']))) {
      assert.ok(Date.now() < deadline, `reals not serving:\n${lab.cli(['list'])}`);
      await sleep(300);
    }
  });

  after(async () => lab?.cleanup());

  it('no request fails, no download resets, and the agent holds its resources', async (t) => {
    let stop = false;
    // traffic: requests back to back (each a new connection), bounded by `stop` and the test's timeout
    const requests = { ok: 0, failed: 0 };
    const traffic = (async () => {
      while (!stop) {
        if (await lab.getAsync('/', 2)) requests.ok++;
        else requests.failed++;
      }
    })();
    // downloads across most of the day (4 MiB in 64 KiB chunks, paced to last about as long)
    const downloadSecs = LONG ? 400 : 30;
    const mb = 4;
    const downloads = [0, 1, 2, 3].map(() => lab.download(`/big?mb=${mb}&ms=${Math.floor((downloadSecs * 1000) / (mb * 16))}`, downloadSecs * 3, VIP2));
    // health flaps every second
    const flag = path.join(lab.workDir, 'real3-down');
    const flapper = setInterval(() => (fs.existsSync(flag) ? fs.rmSync(flag) : fs.writeFileSync(flag, '')), 1000);

    const lastRestart = DAY.restartEvery * DAY.restarts;
    let warm: ReturnType<typeof figures> | undefined;
    const rss: number[] = []; // the last agent's, after warm-up
    let rejected = 0;
    try {
      for (let n = 1; n <= DAY.reloads; n++) {
        const broken = n % 10 === 0;
        const w: [number, number, number] = [1 + (n % 3), 1 + ((n + 1) % 2), 1];
        fs.writeFileSync(cfg, config(lab, w, broken));
        const mark = agent.mark();
        process.kill(agent.proc.pid!, 'SIGHUP');
        await agent.waitFor(broken ? /reload rejected/ : /configuration reloaded/, 10_000, mark);
        if (broken) rejected++;
        if (n % 7 === 0) lab.cli(['real', 'weight', `${lab.vip}:80`, '198.18.0.12:80', String(n % 4)]);
        if (n % DAY.restartEvery === 0 && n <= lastRestart) {
          // hitless restart: the new agent takes over the attached program and pinned maps
          process.kill(agent.proc.pid!, 'SIGUSR2');
          assert.equal(await agent.exited, 0);
          fs.writeFileSync(cfg, config(lab, w, false));
          agent = lab.startAgent(cfg);
          await agent.waitFor(/xdpvs running/, 20_000);
        }
        if (n === lastRestart + WARM) warm = figures(lab);
        if (n > lastRestart + WARM) rss.push(figures(lab).rss);
        await sleep(DAY.reloadEveryMs);
      }
      fs.writeFileSync(cfg, config(lab, [1, 2, 1], false));
      const mark = agent.mark();
      process.kill(agent.proc.pid!, 'SIGHUP');
      await agent.waitFor(/configuration reloaded/, 10_000, mark);
      await sleep(2000);
      const end = figures(lab);
      assert.ok(warm, 'the last agent warmed up');
      assert.equal(rejected, Math.floor(DAY.reloads / 10));
      assert.ok(rss.length >= 2 * WINDOW, `${rss.length} RSS samples`);
      const megs = (b: number): string => (b / 1048576).toFixed(1);
      const first = Math.min(...rss.slice(0, WINDOW));
      const last = Math.min(...rss.slice(-WINDOW));
      const figuresLine = `RSS after warm-up: lowest ${megs(first)} MB in the first ${WINDOW} reloads, ${megs(last)} MB in the last ${WINDOW}; highest ${megs(Math.max(...rss))} MB`;
      t.diagnostic(figuresLine);
      assert.ok(last - first < 10 * 1024 * 1024, `RSS grew by ${megs(last - first)} MB: ${figuresLine}; samples ${rss.map(megs).join(' ')}`);
      assert.ok(end.fds <= warm.fds + 2, `open fds ${warm.fds} -> ${end.fds}`);
      assert.ok(end.timers <= warm.timers + 2, `timers ${warm.timers} -> ${end.timers}`);
      assert.deepEqual(end.maps, warm.maps, 'map entries changed');
    } finally {
      clearInterval(flapper);
      stop = true;
      await traffic;
    }
    assert.ok(requests.ok > DAY.reloads, `only ${requests.ok} requests ran`);
    assert.equal(requests.failed, 0, `${requests.failed} of ${requests.ok + requests.failed} requests failed`);
    // the downloads are left to finish: every byte of each arrives
    for (const d of downloads) {
      const r = await d;
      assert.equal(r.code, 0, `a download ended with curl exit ${r.code} after ${r.bytes} bytes`);
      assert.equal(r.bytes, mb * 1024 * 1024);
    }
  });
});

