// A busy director: the pinned flow table of a running agent filled with a
// million entries while the agent is VRRP master. The table has room for
// two million: each CPU inserts into its own share of a per-CPU-LRU table
// (README "Maps"), and the entries are written from one process.
// Scrapes and `xdpvs list` read that table (through the agent's flow census); none of them
// may stall the event loop: adverts keep going out every Advertisement_Interval
// (RFC 5798 section 6.4.3), or a backup takes over and both directors are
// master at once.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Lab, type AgentProcess } from '../lab/lab';
import { ask } from '../../agent/control/client';
import { openPinnedMap, type BpfMap } from '../../native/index';
import { FlowKey, FlowKind, FlowState } from '../../agent/dataplane/abi';
import { requireRoot } from '../support/root';

const FLOWS = 1_000_000;
const TABLE = 2 * 1024 * 1024;
const MEASURE_MS = 15_000;
const NICE = ['nice', '-n', '-10'];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs a command to completion: exit code, stdout, wall time in ms. */
function timed(cmd: string, args: string[], limitMs: number): Promise<{ code: number | null; out: string; ms: number }> {
  const t = process.hrtime.bigint();
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'], timeout: limitMs });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  // 'close': every byte of the output read, which 'exit' does not promise
  return new Promise((resolve) => p.once('close', (code) => resolve({ code, out, ms: Number(process.hrtime.bigint() - t) / 1e6 })));
}

/** Writes `n` connection entries, spread over `realIds` by `share`, most seen just now. */
function fill(map: BpfMap, n: number, realIds: number[], share: number[]): void {
  const chunk = 65536;
  const keys = Buffer.alloc(chunk * FlowKey.size);
  const values = Buffer.alloc(chunk * FlowState.size);
  const now = process.hrtime.bigint();
  const old = now > 120_000_000_000n ? now - 120_000_000_000n : 0n;
  const total = share.reduce((a, b) => a + b, 0);
  for (let base = 0; base < n; base += chunk) {
    const count = Math.min(chunk, n - base);
    for (let j = 0; j < count; j++) {
      const i = base + j;
      // clients 10.0.0.0/8, source port from the index: every key distinct
      FlowKey.encode({
        src: Buffer.from([10, (i >> 16) & 255, (i >> 8) & 255, i & 255, ...new Array(12).fill(0)]),
        dst: Buffer.from([198, 18, 1, 100, ...new Array(12).fill(0)]),
        sport: 1024 + (i % 50000),
        dport: 80,
        proto: 6,
        family: 2,
        kind: FlowKind.XDPVS_FLOW_CONN,
        pad: 0,
      }).copy(keys, j * FlowKey.size);
      let r = (i % total) + 1;
      let idx = 0;
      while (r > share[idx]!) r -= share[idx++]!;
      FlowState.encode({ realId: realIds[idx]!, pad: 0, lastSeen: i % 4 === 0 ? old : now }).copy(values, j * FlowState.size);
    }
    map.updateBatch(keys, values, count);
  }
}

/** The lag histogram: observations in all, and at most 20 ms (undefined: not in the text). */
function lag(text: string): { count: number; within20ms: number } | undefined {
  const count = /^xdpvs_event_loop_lag_seconds_count (\d+)$/m.exec(text)?.[1];
  const within20ms = /^xdpvs_event_loop_lag_seconds_bucket\{le="0.02"\} (\d+)$/m.exec(text)?.[1];
  return count === undefined || within20ms === undefined ? undefined : { count: Number(count), within20ms: Number(within20ms) };
}

interface Phase {
  scrapes: number[];
  lists: number[];
  /** connections `list` counted last */
  listed: number;
  /** the last /metrics text */
  text: string;
  gap: number;
  adverts: number;
  samples: number;
  late: number;
}

describe('a busy director (a million flow entries) stays VRRP master while scraped', () => {
  let lab: Lab;
  let agent: AgentProcess;
  let listener: ChildProcess | undefined;
  const adverts: number[] = [];

  before(async () => {
    requireRoot('netns');
    lab = new Lab({ tag: 'sc', reals: 2, directors: 1, vipOnLink: true });
    for (let i = 0; i < 2; i++) await lab.startServer(i);
    const dev = lab.directors[0]!.dev;
    // no lb_algo: keepalived's default, wlc, so the connection feedback runs too
    const conf = [
      'virtual_server 198.18.1.100 80 {', '  delay_loop 1', '  lb_kind DR',
      ...lab.reals.flatMap((r) => [`  real_server ${r.addr} 80 {`, '    TCP_CHECK {', '      connect_timeout 1', '    }', '  }']),
      '}',
      'vrrp_instance VI_1 {', '  state BACKUP', `  interface ${dev}`, '  virtual_router_id 51', '  priority 150', '  advert_int 1',
      '  virtual_ipaddress {', `    ${lab.vip}/32 dev ${dev}`, '  }', '}',
    ].join('\n');
    // the goals are about the agent's own work, not about the other jobs of a
    // shared test machine: the agent and the listener run at a higher
    // priority than those (as keepalived runs VRRP with vrrp_priority)
    agent = lab.startAgent(lab.writeConfig('busy.conf', conf), 0, ['--max-flows', String(TABLE)], NICE);
    await agent.waitFor(/"msg":"vrrp MASTER"/, 20_000);
  });

  after(async () => {
    listener?.kill('SIGTERM');
    await lab?.cleanup();
  });

  it('every scrape and list answers within 1 s, no advert is more than 50 ms late, event-loop lag p99 < 20 ms', async () => {
    const ns = lab.directors[0]!.ns;
    const url = 'http://127.0.0.1:9641/metrics';
    // adverts as a host on the LAN hears them
    listener = spawn('ip', ['netns', 'exec', lab.client.ns, ...NICE, process.execPath, path.join(__dirname, '..', 'support', 'vrrp-listen.js'), lab.client.dev], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    const heard = new Promise<void>((resolve) =>
      listener!.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const [t, src] = buf.slice(0, nl).split(' ');
          buf = buf.slice(nl + 1);
          if (t === 'listening') resolve();
          else if (src === lab.directors[0]!.addr) adverts.push(Number(t));
        }
      }),
    );
    await heard;
    const list = JSON.parse(lab.cli(['list', '--json'])) as { reals: { id: number }[] }[];
    const realIds = list[0]!.reals.map((r) => r.id);
    assert.equal(realIds.length, 2);

    const state = path.join(lab.workDir, 'state-0');
    const body = path.join(lab.workDir, 'metrics.txt');

    /** Scrapes every 300 ms and lists every third time, for `ms`: the timings, the adverts heard, the lag. */
    const phase = async (ms: number): Promise<Phase> => {
      const firstAdvert = adverts.length;
      const lagBefore = lag((await timed('ip', ['netns', 'exec', ns, 'curl', '-s', '-m', '3', url], 5000)).out);
      const p: Phase = { scrapes: [], lists: [], listed: 0, text: '', gap: 0, adverts: 0, samples: 0, late: 0 };
      const end = Date.now() + ms;
      for (let n = 0; Date.now() < end && n < 100; n++) {
        // curl's own time_total: the agent's answer, not starting curl on a loaded machine
        const r = await timed('ip', ['netns', 'exec', ns, 'curl', '-s', '-f', '-m', '3', '-o', body, '-w', '%{time_total}', url], 5000);
        p.scrapes.push(r.code === 0 ? Number(r.out) * 1000 : Infinity);
        if (r.code === 0) p.text = fs.readFileSync(body, 'utf8');
        if (n % 3 === 0) {
          // what `xdpvs list` asks, timed from the request to the answer
          const t = Date.now();
          const a = await ask(state, { cmd: 'list' }, 5000).catch(() => undefined);
          p.lists.push(a?.ok ? Date.now() - t : Infinity);
          if (a?.ok && 'services' in a) p.listed = a.services[0]!.reals.reduce((sum, x) => sum + x.activeConn + x.inactConn, 0);
        }
        await sleep(300);
      }
      const seen = adverts.slice(firstAdvert);
      p.adverts = seen.length;
      for (let i = 1; i < seen.length; i++) p.gap = Math.max(p.gap, seen[i]! - seen[i - 1]!);
      const lagAfter = lag(p.text);
      if (lagBefore && lagAfter) {
        p.samples = lagAfter.count - lagBefore.count;
        p.late = p.samples - (lagAfter.within20ms - lagBefore.within20ms);
      }
      assert.ok(lagBefore && lagAfter, 'xdpvs_event_loop_lag_seconds (a histogram with a 0.02 bucket) is in /metrics');
      console.log(
        `#   ${p.scrapes.length} scrapes, slowest ${Math.max(...p.scrapes).toFixed(0)} ms; ${p.lists.length} lists, slowest ${Math.max(...p.lists).toFixed(0)} ms; ` +
          `${p.adverts} adverts, largest gap ${p.gap.toFixed(1)} ms; lag over 20 ms in ${p.late} of ${p.samples} samples`,
      );
      return p;
    };

    // the same agent with an empty table first: what this machine's other
    // jobs cost it (a shared 2-core test machine can delay any process by
    // tens of ms); the goals hold on top of that noise, never looser than it
    console.log('# empty flow table:');
    const base = await phase(5_000);

    const map = openPinnedMap(path.join(lab.bpffs, 'xdpvs-0', 'flows'));
    const tFill = Date.now();
    try {
      fill(map, FLOWS, realIds, [3, 1]);
    } finally {
      map.close();
    }
    console.log(`# ${FLOWS} flow entries written in ${Date.now() - tFill} ms; with them:`);
    const busy = await phase(MEASURE_MS);
    const lastText = busy.text;
    console.log(`# one walk of the flow table: ${/^xdpvs_flow_walk_seconds (\S+)$/m.exec(lastText)?.[1] ?? '?'} s; counts ${/^xdpvs_flow_snapshot_age_seconds (\S+)$/m.exec(lastText)?.[1] ?? '?'} s old at the last scrape`);

    assert.ok(busy.scrapes.every((ms) => ms < 1000), `scrapes took ${busy.scrapes.map((x) => x.toFixed(0)).join(', ')} ms`);
    assert.ok(busy.lists.every((ms) => ms < 1000), `xdpvs list took ${busy.lists.map((x) => x.toFixed(0)).join(', ')} ms`);
    assert.ok(busy.adverts >= MEASURE_MS / 1000 - 1, `only ${busy.adverts} adverts heard in ${MEASURE_MS} ms`);
    const gapLimit = Math.max(1050, base.gap + 50);
    assert.ok(busy.gap <= gapLimit, `an advert came ${busy.gap.toFixed(1)} ms after the one before (advert_int 1 s; limit ${gapLimit.toFixed(0)} ms, the empty table's largest gap ${base.gap.toFixed(0)} ms)`);
    const lateLimit = Math.max(0.01, 2 * (base.late / Math.max(1, base.samples)));
    assert.ok(
      busy.samples > 0 && busy.late <= busy.samples * lateLimit,
      `event-loop lag over 20 ms in ${busy.late} of ${busy.samples} samples (p99 must stay under 20 ms; allowed ${(lateLimit * 100).toFixed(1)}%, the empty table had ${base.late} of ${base.samples})`,
    );
    const listed = busy.listed;
    // the answers describe the table: the snapshot counted what was written
    const entries = Number(/^xdpvs_map_entries\{map="flows"\} (\d+)$/m.exec(lastText)?.[1] ?? 0);
    assert.ok(entries >= FLOWS * 0.95 && entries <= FLOWS, `xdpvs_map_entries{map="flows"} is ${entries}, ${FLOWS} written`);
    // written: real1 3 of every 4 entries, one of those 3 last seen 2 minutes ago; real2 the 4th
    const gaugeOf = (name: string): number[] => [...lastText.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'gm'))].map((m) => Number(m[1]));
    const counted = [...gaugeOf('xdpvs_real_active_connections'), ...gaugeOf('xdpvs_real_inactive_connections')];
    const want = [FLOWS / 2, FLOWS / 4, FLOWS / 4, 0];
    assert.ok(counted.length === 4 && counted.every((c, i) => Math.abs(c - want[i]!) <= FLOWS * 0.02), `active real1, real2, inactive real1, real2: ${counted.join(', ')}; written ${want.join(', ')}`);
    assert.ok(listed >= FLOWS * 0.95, `xdpvs list counts ${listed} connections, ${FLOWS} written`);
  });
});
