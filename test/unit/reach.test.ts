// A reached real keeps its last known next hop until the kernel reports a
// definite change; a failed lookup never takes it out. Every real is looked
// up with two ip processes, and changes come from one ip monitor.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { lookupAll, nextReach, type DeviceFacts, type IpResult, type IpRunner, type Resolved } from '../../agent/reach/lookup';
import { parseMonitorLine, ReachMonitor, type ReachEvent } from '../../agent/reach/monitor';
import { FakeClock } from '../support/clock';
import { parseAddr, parseMac } from '../../agent/net/addr';

const known: Resolved = { mac: parseMac('02:00:00:00:00:0b'), ifindex: 0, dev: 'eth0', hop: '10.0.0.11', mtu: 1500 };

describe('nextReach', () => {
  it('a lookup that failed (ip did not start, timed out) keeps the last next hop', () => {
    assert.equal(nextReach('10.0.0.11', known, { unknown: 'route lookup failed: spawn ip ENOENT' }), known);
  });

  it('a neighbour entry aged out, INCOMPLETE or FAILED on the same route keeps the last next hop', () => {
    assert.equal(nextReach('10.0.0.11', known, { unknown: 'no usable neighbour entry', route: { dev: 'eth0' } }), known);
  });

  it('a route by another device or gateway drops the old MAC (another neighbour)', () => {
    assert.equal(nextReach('10.0.0.11', known, { unknown: 'no usable neighbour entry', route: { dev: 'eth1' } }), undefined);
    assert.equal(nextReach('10.0.0.11', known, { unknown: 'no usable neighbour entry', route: { dev: 'eth0', gateway: '10.0.0.1' } }), undefined);
  });

  it('the kernel saying there is no route takes the real out', () => {
    assert.equal(nextReach('10.0.0.11', known, { unreachable: 'RTNETLINK answers: Network is unreachable' }), undefined);
  });

  it('a new answer replaces the old one (a neighbour with another MAC)', () => {
    const moved = { ...known, mac: parseMac('02:00:00:00:00:0c') };
    assert.equal(nextReach('10.0.0.11', known, { reached: moved }), moved);
  });

  it('a real never reached stays unreached until a lookup succeeds', () => {
    assert.equal(nextReach('10.0.0.11', undefined, { unknown: 'no usable neighbour entry', route: { dev: 'eth0' } }), undefined);
  });
});

/** A fake `ip`: route answers and neighbour entries as iproute2 prints them, and every call recorded. */
function fakeIp(routes: Record<string, object | string>, neigh: object[], opts: { dead?: boolean } = {}): IpRunner & { calls: string[][] } {
  const calls: string[][] = [];
  const run = async (args: string[], input?: string): Promise<IpResult> => {
    calls.push(args);
    if (opts.dead) return { stdout: '', stderr: 'spawn ip ENOENT', ran: false };
    if (args.includes('neigh')) return { stdout: JSON.stringify(neigh), stderr: '', ran: true };
    let stdout = '';
    let stderr = '';
    (input ?? '').split('\n').filter(Boolean).forEach((line, i) => {
      const dst = line.split(' ')[2]!;
      const r = routes[dst];
      if (typeof r === 'object') stdout += `${JSON.stringify([{ dst, ...r }])}\n`;
      else stderr += `${r ?? 'RTNETLINK answers: Network is unreachable'}\nCommand failed -:${i + 1}\n`;
    });
    return { stdout, stderr, ran: true };
  };
  return Object.assign(run, { calls });
}

const devices: DeviceFacts = { mac: () => '02:00:00:00:00:01', mtu: () => 1500, index: () => 7, poke: () => undefined };

describe('lookupAll: every real with two ip processes', () => {
  it('routes and neighbours of 1,000 reals from one batch and one neighbour table', async () => {
    const routes: Record<string, object> = {};
    const neigh: object[] = [{ dst: '10.0.0.1', dev: 'eth0', lladdr: '02:00:00:00:fe:01', state: ['REACHABLE'] }];
    const addrs = Array.from({ length: 1000 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
    for (const a of addrs) routes[a] = { dev: 'eth0', gateway: '10.0.0.1', prefsrc: '10.0.0.2' };
    const ip = fakeIp(routes, neigh);
    const got = await lookupAll(addrs, ['eth0'], ip, devices);
    assert.equal(ip.calls.length, 2, 'one route batch and one neighbour table');
    assert.deepEqual(ip.calls[0], ['-j', '-force', '-batch', '-']);
    assert.equal(got.size, 1000);
    for (const a of addrs) assert.deepEqual(got.get(a), { reached: { mac: parseMac('02:00:00:00:fe:01'), dev: 'eth0', hop: '10.0.0.1', mtu: 1500, prefsrc: parseAddr('10.0.0.2'), ifindex: 0 } });
  });

  it("the kernel's refusal is definite, other failures are not; each failed line is matched by its number", async () => {
    const ip = fakeIp(
      { '10.0.0.11': { dev: 'eth0' }, '10.0.0.13': { dev: 'eth1', metrics: [{ mtu: 1400 }] } },
      [
        { dst: '10.0.0.11', dev: 'eth0', lladdr: '02:00:00:00:00:0b', state: ['STALE'] },
        { dst: '10.0.0.13', dev: 'eth1', state: ['FAILED'], lladdr: '02:00:00:00:00:0d' },
      ],
    );
    const got = await lookupAll(['10.0.0.11', '10.0.0.12', '10.0.0.13'], ['eth0'], ip, devices);
    assert.deepEqual(got.get('10.0.0.11'), { reached: { mac: parseMac('02:00:00:00:00:0b'), dev: 'eth0', hop: '10.0.0.11', mtu: 1500, ifindex: 0 } });
    assert.deepEqual(got.get('10.0.0.12'), { unreachable: 'RTNETLINK answers: Network is unreachable' });
    assert.deepEqual(got.get('10.0.0.13'), { unknown: 'no usable neighbour entry for 10.0.0.13 on eth1', route: { dev: 'eth1', mtu: 1400 } });
    const other = await lookupAll(['10.0.0.12'], ['eth0'], fakeIp({ '10.0.0.12': 'Error: any valid prefix is expected rather than "x".' }, []), devices);
    assert.ok('unknown' in other.get('10.0.0.12')!);
  });

  it('ip that cannot start or times out proves nothing: every real unknown, so nextReach keeps them', async () => {
    const got = await lookupAll(['10.0.0.11'], ['eth0'], fakeIp({}, [], { dead: true }), devices);
    const r = got.get('10.0.0.11')!;
    assert.ok('unknown' in r);
    assert.equal(nextReach('10.0.0.11', known, r), known);
  });

  it('a real behind another interface than the only XDP one is reached by redirect, with that device index and MAC', async () => {
    const got = await lookupAll(['10.0.0.11'], ['eth0'], fakeIp({ '10.0.0.11': { dev: 'eth1' } }, [{ dst: '10.0.0.11', dev: 'eth1', lladdr: '02:00:00:00:00:0b' }]), devices);
    assert.deepEqual(got.get('10.0.0.11'), { reached: { mac: parseMac('02:00:00:00:00:0b'), dev: 'eth1', hop: '10.0.0.11', mtu: 1500, ifindex: 7, srcMac: parseMac('02:00:00:00:00:01') } });
  });
});

describe('ReachMonitor: one ip monitor, restarted with a growing delay', () => {
  it('parses labelled lines into events', () => {
    assert.deepEqual(parseMonitorLine('[NEIGH]10.0.0.11 dev eth0 lladdr 02:00:00:00:00:0b REACHABLE'), {
      kind: 'neigh',
      words: ['10.0.0.11', 'dev', 'eth0', 'lladdr', '02:00:00:00:00:0b', 'REACHABLE'],
    });
    assert.deepEqual(parseMonitorLine('[ROUTE]Deleted 10.0.0.0/24 dev eth1 proto kernel scope link src 10.0.0.1')?.kind, 'route');
    assert.equal(parseMonitorLine('something else'), undefined);
  });

  it('delivers events, and restarts a dead monitor after 1 s, 2 s, 4 s ... at most 30 s; stop ends it for good', async () => {
    const clock = new FakeClock();
    const procs: (EventEmitter & { stdout: PassThrough; kill(): void; killed: boolean })[] = [];
    const spawner = (): ChildProcess => {
      const p = Object.assign(new EventEmitter(), { stdout: new PassThrough(), killed: false, kill: () => void (p.killed = true) });
      procs.push(p);
      return p as unknown as ChildProcess;
    };
    const events: ReachEvent[] = [];
    const restarts: string[] = [];
    const m = new ReachMonitor((e) => events.push(e), clock, spawner, (why) => restarts.push(why));
    m.start();
    procs[0]!.stdout.write('[NEIGH]10.0.0.11 dev eth0 lladdr 02:00:00:00:00:0c REACHABLE\n[ROU');
    procs[0]!.stdout.write('TE]10.9.0.0/16 via 10.0.0.1 dev eth0\n');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(events.map((e) => e.kind), ['neigh', 'route']);
    const delays: number[] = [];
    for (let n = 0; n < 7; n++) {
      procs.at(-1)!.emit('exit', 1, null);
      const before = procs.length;
      let waited = 0;
      while (procs.length === before && waited < 60_000) {
        await clock.advance(500);
        waited += 500;
      }
      delays.push(waited);
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    assert.equal(restarts.length, 7);
    m.stop();
    assert.ok(procs.at(-1)!.killed);
    procs.at(-1)!.emit('exit', null, 'SIGTERM');
    await clock.advance(60_000);
    assert.equal(procs.length, 8, 'no restart after stop');
  });
});
