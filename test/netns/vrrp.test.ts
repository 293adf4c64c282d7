// VRRP between directors, end to end: two `xdpvs run` with the same
// services, the client reaching the VIP on-link (ARP), so whoever is master
// gets the traffic. Then xdpvs and a real keepalived in one VRRP group.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Lab, XDPVS_BIN, type AgentProcess } from '../lab/lab';
import { sh } from '../lab/netns';
import { requireRoot } from '../support/root';

interface VrrpOpts {
  dev: string;
  priority: number;
  version?: 2 | 3;
  nopreempt?: boolean;
  trackFile?: string;
  services?: boolean;
  /** unicast adverts: [our address, the peer's] */
  unicast?: [string, string];
  reference?: string;
  /** v2 PASS authentication */
  authPass?: string;
}

/** A director's keepalived.conf: the service (unless services: false) and one vrrp_instance. */
function conf(lab: Lab, o: VrrpOpts): string {
  const lines: string[] = ['global_defs {', '  router_id lab', `  vrrp_version ${o.version ?? 3}`, '}'];
  if (o.services !== false) {
    lines.push('virtual_server 198.18.1.100 80 {', '  delay_loop 1', '  lb_algo mh', '  lb_kind DR');
    for (const r of lab.reals) {
      lines.push(`  real_server ${r.addr} 80 {`, '    HTTP_GET {', '      url {', '        path /health', '      }', '      connect_timeout 1', '      retry 0', '    }', '  }');
    }
    lines.push('}');
  }
  if (o.trackFile) lines.push('vrrp_script chk_file {', `  script "test -f ${o.trackFile}"`, '  interval 1', '  weight -60', '  fall 1', '  rise 1', '}');
  lines.push(
    'vrrp_instance VI_1 {',
    '  state BACKUP',
    `  interface ${o.dev}`,
    '  virtual_router_id 51',
    `  priority ${o.priority}`,
    '  advert_int 1',
    ...(o.nopreempt ? ['  nopreempt'] : []),
    ...(o.authPass ? ['  authentication {', '    auth_type PASS', `    auth_pass ${o.authPass}`, '  }'] : []),
    '  virtual_ipaddress {',
    `    ${lab.vip}/32 dev ${o.dev}`,
    '  }',
    ...(o.trackFile ? ['  track_script {', '    chk_file', '  }'] : []),
    ...(o.reference ? [`  reference_address ${o.reference} fall 2`] : []),
    ...(o.unicast ? [`  unicast_src_ip ${o.unicast[0]}`, '  unicast_peer {', `    ${o.unicast[1]}`, '  }'] : []),
    '}',
  );
  return lines.join('\n');
}

const HTTPD = path.join(__dirname, '..', 'lab', 'httpd.js');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** GETs every 100 ms for `ms`: how many of how many failed. */
async function probe(lab: Lab, ms: number): Promise<{ sent: number; lost: number }> {
  const results: Promise<boolean>[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    results.push(lab.getAsync('/', 1));
    await sleep(100);
  }
  const ok = await Promise.all(results);
  return { sent: ok.length, lost: ok.filter((x) => !x).length };
}

describe('VRRP failover between two xdpvs directors', () => {
  let lab: Lab;
  let a0: AgentProcess;
  let a1: AgentProcess;
  let conf0: string;
  let trackFile: string;

  const start0 = (): AgentProcess => (a0 = lab.startAgent(conf0, 0));

  before(async () => {
    requireRoot('netns');
    lab = new Lab({ tag: 'v', reals: 2, directors: 2, vipOnLink: true });
    for (let i = 0; i < 2; i++) await lab.startServer(i);
    trackFile = path.join(lab.workDir, 'healthy');
    fs.writeFileSync(trackFile, '');
    conf0 = lab.writeConfig('d0.conf', conf(lab, { dev: lab.directors[0]!.dev, priority: 150, trackFile }));
    const conf1 = lab.writeConfig('d1.conf', conf(lab, { dev: lab.directors[1]!.dev, priority: 100 }));
    start0();
    a1 = lab.startAgent(conf1, 1);
    await a0.waitFor(/"msg":"vrrp MASTER"/, 20_000);
  });

  after(async () => lab?.cleanup());

  it('the higher priority is master, owns the VIP and serves; the other is backup', async () => {
    assert.equal(lab.hasVip(0), true);
    assert.equal(lab.hasVip(1), false);
    await a1.waitFor(/"msg":"vrrp BACKUP"/, 5_000, true);
    // whoever started VRRP first may have been master a moment; once elected, the backup stays backup
    const m1 = a1.mark();
    await sleep(2500);
    assert.ok(!a1.lines.slice(m1).some((l) => /"msg":"vrrp MASTER"/.test(l)), 'the backup stays backup');
    assert.equal(lab.hasVip(1), false);
    assert.ok(lab.get('/'), 'served through the master');
    assert.match(lab.cli(['list'], 0), /^VI_1 +MASTER +150 +\d+\/\d+ +0$/m);
    assert.match(lab.cli(['list'], 1), /^VI_1 +BACKUP +100 +\d+\/\d+ +0$/m);
  });

  it('SIGTERM on the master: priority 0, the backup takes over within Skew_Time', async () => {
    const t = Date.now();
    const m1 = a1.mark();
    a0.signal('SIGTERM');
    await a1.waitFor(/"msg":"vrrp MASTER"/, 5_000, m1);
    const took = Date.now() - t;
    console.log(`# SIGTERM handover: backup master after ${took} ms (Skew_Time ${((256 - 100) / 256).toFixed(3)} s)`);
    assert.ok(took < 1500, `took ${took} ms`);
    await a0.exited;
    assert.equal(lab.hasVip(0), false);
    assert.equal(lab.hasVip(1), true);
    assert.ok(lab.get('/'), 'served through the new master');
  });

  it('the old master returning preempts', async () => {
    const m1 = a1.mark();
    start0();
    await a0.waitFor(/"msg":"vrrp MASTER"/, 15_000);
    await a1.waitFor(/"msg":"vrrp BACKUP"/, 5_000, m1);
    assert.equal(lab.hasVip(0), true);
    assert.equal(lab.hasVip(1), false);
  });

  it('SIGKILL on the master: the backup takes the VIP within Master_Down_Interval; a download keeps going; lost requests counted', async () => {
    const download = lab.download('/big?mb=3&ms=100', 30); // about 5 s
    await sleep(500);
    const t = Date.now();
    const m1 = a1.mark();
    a0.signal('SIGKILL');
    const probing = probe(lab, 6000);
    await a1.waitFor(/"msg":"vrrp MASTER"/, 8_000, m1);
    const took = Date.now() - t;
    const { sent, lost } = await probing;
    console.log(`# SIGKILL failover: backup master after ${took} ms (Master_Down_Interval ${(3 + (256 - 100) / 256).toFixed(3)} s); client lost ${lost} of ${sent} requests`);
    assert.ok(took < 3609 + 1500, `took ${took} ms`);
    assert.equal(lab.hasVip(1), true);
    // the gratuitous ARP moved the client to the new master
    const mac1 = sh('ip', ['-n', lab.directors[1]!.ns, '-br', 'link', 'show', lab.directors[1]!.dev]).trim().split(/\s+/)[2];
    assert.match(sh('ip', ['-n', lab.client.ns, 'neigh', 'show', lab.vip]), new RegExp(`lladdr ${mac1}`));
    // the same Maglev ring on both directors: the flow lands on the same real
    assert.deepEqual(await download, { code: 0, bytes: 3 * 1024 * 1024 });
    assert.ok(lab.get('/'), 'served through the new master');
  });

  it('a failing track_script lowers the priority (150 - 60 < 100) and moves the VIP', async () => {
    let m1 = a1.mark();
    start0();
    await a0.waitFor(/"msg":"vrrp MASTER"/, 15_000);
    await a1.waitFor(/"msg":"vrrp BACKUP"/, 5_000, m1);
    m1 = a1.mark();
    const m0 = a0.mark();
    fs.rmSync(trackFile);
    await a0.waitFor(/"priority":90.*priority changed by tracking|priority changed by tracking.*"priority":90/, 5_000, m0);
    await a1.waitFor(/"msg":"vrrp MASTER"/, 8_000, m1);
    await a0.waitFor(/"msg":"vrrp BACKUP"/, 3_000, m0);
    assert.equal(lab.hasVip(1), true);
    assert.equal(lab.hasVip(0), false);
    fs.writeFileSync(trackFile, '');
    await a0.waitFor(/"msg":"vrrp MASTER"/, 8_000);
  });

  it('with nopreempt the returning higher priority stays backup', async () => {
    const m1 = a1.mark();
    a0.signal('SIGTERM');
    await a1.waitFor(/"msg":"vrrp MASTER"/, 3_000, m1);
    await a0.exited;
    a0 = lab.startAgent(lab.writeConfig('d0-nopreempt.conf', conf(lab, { dev: lab.directors[0]!.dev, priority: 150, nopreempt: true })), 0);
    await a0.waitFor(/"msg":"vrrp BACKUP"/, 15_000);
    await sleep(6000);
    assert.ok(!a0.lines.some((l) => /"msg":"vrrp MASTER"/.test(l)), 'no preemption');
    assert.deepEqual([lab.hasVip(0), lab.hasVip(1)], [false, true]);
  });
});

describe('VRRP reload in place', () => {
  let lab: Lab;

  after(async () => lab?.cleanup());

  it('adding a VIP and a notify script by reload (SIGHUP): the master stays master (no priority 0), the new VIP is added; the backup never takes over', async () => {
    requireRoot('netns');
    lab = new Lab({ tag: 'p', reals: 1, directors: 2, vipOnLink: true });
    await lab.startServer(0);
    const c0 = conf(lab, { dev: lab.directors[0]!.dev, priority: 150 });
    const f0 = lab.writeConfig('p0.conf', c0);
    const a0 = lab.startAgent(f0, 0);
    const a1 = lab.startAgent(lab.writeConfig('p1.conf', conf(lab, { dev: lab.directors[1]!.dev, priority: 100 })), 1);
    await a0.waitFor(/"msg":"vrrp MASTER"/, 20_000);
    await a1.waitFor(/"msg":"vrrp BACKUP"/, 5_000, true);
    await sleep(2500); // the election settles: the backup has heard the master
    const m0 = a0.mark();
    const m1 = a1.mark();
    const notified = path.join(lab.workDir, 'notified');
    const edited = c0
      .replace(`    ${lab.vip}/32 dev ${lab.directors[0]!.dev}`, `    ${lab.vip}/32 dev ${lab.directors[0]!.dev}\n    198.18.1.101/32 dev ${lab.directors[0]!.dev}`)
      .replace('  advert_int 1', `  advert_int 1\n  notify_master "touch ${notified}"`);
    assert.notEqual(edited, c0);
    fs.writeFileSync(f0, edited);
    a0.signal('SIGHUP');
    await a0.waitFor(/configuration reloaded/, 10_000, m0);
    const has101 = (): boolean => sh('ip', ['-n', lab.directors[0]!.ns, '-o', 'addr', 'show', 'dev', lab.directors[0]!.dev]).includes(' 198.18.1.101/');
    for (let n = 0; n < 25 && !has101(); n++) await sleep(200);
    assert.ok(has101(), 'the new VIP is on the master');
    await sleep(4000); // longer than Master_Down_Interval (3.4 s at priority 100)
    const after0 = a0.lines.slice(m0).filter((l) => /"msg":"vrrp (MASTER|BACKUP|FAULT|INIT)"/.test(l));
    assert.deepEqual(after0, [], 'no transition on the reloaded director');
    assert.ok(!a1.lines.slice(m1).some((l) => /"msg":"vrrp MASTER"/.test(l)), 'the backup never took over');
    assert.equal(lab.hasVip(0), true);
    assert.equal(lab.hasVip(1), false);
    assert.ok(lab.get('/'), 'served through the master');
  });
});

describe('VRRP with unicast peers', () => {
  let lab: Lab;

  after(async () => lab?.cleanup());

  it('elects by unicast adverts and hands over on SIGTERM', async () => {
    requireRoot('netns');
    lab = new Lab({ tag: 'u', reals: 1, directors: 2, vipOnLink: true });
    await lab.startServer(0);
    const [d0, d1] = lab.directors;
    const a0 = lab.startAgent(lab.writeConfig('u0.conf', conf(lab, { dev: d0!.dev, priority: 150, unicast: [d0!.addr, d1!.addr] })), 0);
    const a1 = lab.startAgent(lab.writeConfig('u1.conf', conf(lab, { dev: d1!.dev, priority: 100, unicast: [d1!.addr, d0!.addr] })), 1);
    await a0.waitFor(/"msg":"vrrp MASTER"/, 20_000);
    await a1.waitFor(/"msg":"vrrp BACKUP"/, 5_000, true);
    const m1 = a1.mark();
    await sleep(2500);
    assert.ok(!a1.lines.slice(m1).some((l) => /"msg":"vrrp MASTER"/.test(l)), 'the backup hears the unicast adverts');
    a0.signal('SIGTERM');
    await a1.waitFor(/"msg":"vrrp MASTER"/, 3_000, m1);
    assert.equal(lab.hasVip(1), true);
  });
});

describe('VRRP over IPv6', () => {
  let lab: Lab;

  after(async () => lab?.cleanup());

  it('v3 to ff02::12 from link-local addresses: election and SIGTERM handover of an IPv6 VIP', async () => {
    requireRoot('netns');
    lab = new Lab({ tag: 's', reals: 1, directors: 2, vipOnLink: true });
    const vip6 = 'fd00:1::100';
    const v6conf = (d: number, priority: number): string =>
      lab.writeConfig(
        `v6-${d}.conf`,
        ['vrrp_instance VI_6 {', `  interface ${lab.directors[d]!.dev}`, '  virtual_router_id 61', `  priority ${priority}`, '  advert_int 1',
          '  virtual_ipaddress {', `    ${vip6}/128 dev ${lab.directors[d]!.dev}`, '  }', '}'].join('\n'),
      );
    // link-local addresses finish duplicate address detection first
    await sleep(2500);
    const a0 = lab.startAgent(v6conf(0, 150), 0);
    const a1 = lab.startAgent(v6conf(1, 100), 1);
    await a0.waitFor(/"msg":"vrrp MASTER"/, 20_000);
    const m1 = a1.mark();
    await sleep(2500);
    assert.ok(!a1.lines.slice(m1).some((l) => /"msg":"vrrp MASTER"/.test(l)), 'the backup hears the IPv6 adverts');
    const has = (d: number): boolean => sh('ip', ['-n', lab.directors[d]!.ns, '-6', '-o', 'addr', 'show', 'dev', lab.directors[d]!.dev]).includes(vip6);
    assert.deepEqual([has(0), has(1)], [true, false]);
    assert.match(a0.lines.find((l) => /vrrp instance started/.test(l)) ?? '', /"version":3,"from":"fe80::/);
    a0.signal('SIGTERM');
    await a1.waitFor(/"msg":"vrrp MASTER"/, 3_000, m1);
    assert.deepEqual([has(0), has(1)], [false, true]);
  });
});

describe('IPv6 VRRP with DR and TUN services, the VIPs in the LAN prefix', () => {
  let lab: Lab;
  const servers: ChildProcess[] = [];

  after(async () => {
    for (const p of servers.splice(0)) {
      p.kill('SIGKILL');
      if (p.exitCode === null && p.signalCode === null) await once(p, 'exit');
    }
    await lab?.cleanup();
  });

  it('the master serves both VIPs (its health checks do not come from a VIP); on SIGTERM the backup takes over without DAD and serves them', async () => {
    requireRoot('netns');
    lab = new Lab({ tag: '6', reals: 2, directors: 2, vipOnLink: true });
    // One /64 for the LAN. The VIPs sit in it, as a new user puts them, and
    // nearer the reals' addresses (common prefix) than the directors' own, so
    // a preferred VIP would win source address selection (RFC 6724 rule 8).
    const lan = 'fd00:18::';
    const dr = `${lan}100`;
    const tun = `${lan}101`;
    const addr6 = (ns: string, dev: string, a: string): string => sh('ip', ['-n', ns, '-6', 'addr', 'add', a, 'dev', dev, 'nodad']);
    addr6(lab.client.ns, lab.client.dev, `${lan}200/64`);
    lab.directors.forEach((d, i) => addr6(d.ns, d.dev, `${lan}${i + 1}/64`));
    const reals = lab.reals.map((r, i) => {
      const a = `${lan}11${i + 1}`;
      addr6(r.ns, r.dev, `${a}/64`);
      // the VIPs on lo: IPv6 answers neighbour solicitations only for addresses of the link they arrive on
      addr6(r.ns, 'lo', `${dr}/128`);
      addr6(r.ns, 'lo', `${tun}/128`);
      return a;
    });
    for (let i = 0; i < lab.reals.length; i++) {
      const p = spawn('ip', ['netns', 'exec', lab.reals[i]!.ns, process.execPath, HTTPD, '--name', lab.reals[i]!.name, '--port', '80', '--bind', '::', '--ttl', '300'], { stdio: ['ignore', 'pipe', 'inherit'] });
      servers.push(p);
      await once(p.stdout!, 'data');
      sh('ip', ['netns', 'exec', lab.reals[i]!.ns, XDPVS_BIN, 'decap', 'attach', '-i', lab.reals[i]!.dev, '-a', reals[i]!, '-s', `${lan}/64`, '--pin-dir', path.join(lab.bpffs, `decap6-${i}`)]);
    }
    const v6conf = (d: number, priority: number): string => {
      const dev = lab.directors[d]!.dev;
      const service = (vip: string, kind: string): string[] => [
        `virtual_server ${vip} 80 {`, '  delay_loop 1', '  lb_algo mh', `  lb_kind ${kind}`,
        ...reals.flatMap((r) => [`  real_server ${r} 80 {`, '    HTTP_GET {', '      url {', '        path /health', '      }', '      connect_timeout 1', '      retry 0', '    }', '  }']),
        '}'];
      return lab.writeConfig(`d6-${d}.conf`, [
        ...service(dr, 'DR'), ...service(tun, 'TUN'),
        'vrrp_instance VI_6 {', `  interface ${dev}`, '  virtual_router_id 61', `  priority ${priority}`, '  advert_int 1',
        '  virtual_ipaddress {', `    ${dr}/64 dev ${dev}`, `    ${tun}/64 dev ${dev}`, '  }', '}',
      ].join('\n'));
    };
    await sleep(2500); // the link-local addresses VRRP sends from finish their DAD
    const a0 = lab.startAgent(v6conf(0, 150), 0);
    const a1 = lab.startAgent(v6conf(1, 100), 1);
    await a0.waitFor(/"msg":"vrrp MASTER"/, 20_000);
    await a1.waitFor(/"msg":"vrrp BACKUP"/, 5_000, true);
    const get = (vip: string): boolean => spawnSync('ip', ['netns', 'exec', lab.client.ns, 'curl', '-s', '-f', '-g', '-m', '1', `http://[${vip}]/`], { timeout: 5000 }).status === 0;
    const served = (vip: string, n: number): number => Array.from({ length: n }, () => get(vip)).filter(Boolean).length;
    const vipLine = (d: number): string => sh('ip', ['-n', lab.directors[d]!.ns, '-6', '-o', 'addr', 'show', 'dev', lab.directors[d]!.dev]).split('\n').filter((l) => l.includes(dr)).join('');
    // every real up on the master (health checks from its own address), within a few delay_loops
    for (let n = 0; n < 50 && !(get(dr) && get(tun)); n++) await sleep(200);
    assert.equal(served(dr, 15), 15, 'DR: 15 of 15 served through the master');
    assert.equal(served(tun, 15), 15, 'TUN (6in6): 15 of 15 served through the master');
    assert.match(vipLine(0), /deprecated/, `the VIP is deprecated: ${vipLine(0)}`);
    assert.doesNotMatch(vipLine(0), /tentative|dadfailed/, `the VIP is usable at once: ${vipLine(0)}`);
    const m1 = a1.mark();
    a0.signal('SIGTERM');
    await a1.waitFor(/"msg":"vrrp MASTER"/, 3_000, m1);
    assert.doesNotMatch(vipLine(1), /tentative|dadfailed/, `the VIP is usable at once on the new master: ${vipLine(1)}`);
    // the new master's checks have run since its start: the reals are up there too
    for (let n = 0; n < 25 && !(get(dr) && get(tun)); n++) await sleep(200);
    assert.equal(served(dr, 15), 15, 'DR: 15 of 15 served through the new master');
    assert.equal(served(tun, 15), 15, 'TUN: 15 of 15 served through the new master');
  });
});

describe('VRRP sync group', () => {
  let lab: Lab;

  after(async () => lab?.cleanup());

  it("moves as one (both VIPs) to the other director: on the group's weighted track_script, and on a member's FAULT; and back", async () => {
    requireRoot('netns');
    lab = new Lab({ tag: 'g', reals: 1, directors: 2, vipOnLink: true });
    const groupOk = path.join(lab.workDir, 'group-ok');
    const ownOk = path.join(lab.workDir, 'own-ok');
    fs.writeFileSync(groupOk, '');
    fs.writeFileSync(ownOk, '');
    // keepalived's way: weights on the group's tracking (a member's own weighted
    // script would be ignored), weight 0 on a member's own for FAULT
    const groupConf = (d: number, priority: number, track: boolean): string => {
      const dev = lab.directors[d]!.dev;
      const inst = (name: string, vrid: number, vip: string, own: boolean): string[] => [
        `vrrp_instance ${name} {`, `  interface ${dev}`, `  virtual_router_id ${vrid}`, `  priority ${priority}`, '  advert_int 1',
        '  virtual_ipaddress {', `    ${vip}/32 dev ${dev}`, '  }', ...(own ? ['  track_script {', '    own', '  }'] : []), '}'];
      return lab.writeConfig(`g${d}.conf`, [
        ...(track ? ['vrrp_script grp {', `  script "test -f ${groupOk}"`, '  interval 1', '  weight -60', '}'] : []),
        ...(track ? ['vrrp_script own {', `  script "test -f ${ownOk}"`, '  interval 1', '  weight 0', '}'] : []),
        ...inst('VI_1', 51, '198.18.1.100', track),
        ...inst('VI_2', 52, '198.18.1.101', false),
        'vrrp_sync_group G {', '  group {', '    VI_1', '    VI_2', '  }', ...(track ? ['  track_script {', '    grp', '  }'] : []), '}',
      ].join('\n'));
    };
    const a0 = lab.startAgent(groupConf(0, 150, true), 0);
    lab.startAgent(groupConf(1, 100, false), 1);
    const vips = (d: number): string[] => ['198.18.1.100', '198.18.1.101'].filter((v) =>
      sh('ip', ['-n', lab.directors[d]!.ns, '-o', 'addr', 'show', 'dev', lab.directors[d]!.dev]).includes(` ${v}/`));
    const until = async (what: () => boolean, ms: number, label: string): Promise<void> => {
      const end = Date.now() + ms;
      while (!what()) {
        if (Date.now() > end) throw new Error(`${label}: d0 ${vips(0).join(',')} / d1 ${vips(1).join(',')}`);
        await sleep(200);
      }
    };
    const onD0 = (): boolean => vips(0).length === 2 && vips(1).length === 0;
    const onD1 = (): boolean => vips(1).length === 2 && vips(0).length === 0;
    await until(onD0, 20_000, 'both VIPs on d0 first');
    assert.ok(!a0.lines.some((l) => /XDPVS_CONF/.test(l)), 'the configuration loads without warnings');
    assert.match(lab.cli(['list'], 0), /^VI_2 +MASTER +150 +\d+\/\d+ +0 +G$/m, 'xdpvs list names the sync group');

    fs.rmSync(groupOk); // both members on d0: 150 - 60 = 90 < 100
    await until(onD1, 12_000, 'both VIPs move to d1 (group weight)');
    fs.writeFileSync(groupOk, '');
    await until(onD0, 12_000, 'both VIPs back on d0 (group weight)');

    const m0 = a0.mark();
    fs.rmSync(ownOk); // VI_1 in FAULT; VI_2 tracks nothing and follows only by its group
    await until(onD1, 12_000, 'both VIPs move to d1 (member FAULT)');
    // logged before the VIP is removed, but the pipe may deliver it after our look at the interface
    await a0.waitFor(/"vrrp":"VI_2".*sync group G: VI_1 is in FAULT/, 2_000, m0);
    fs.writeFileSync(ownOk, '');
    await until(onD0, 12_000, 'both VIPs back on d0 (member FAULT)');
  });
});

describe('VRRP split-brain guard', () => {
  let lab: Lab;

  after(async () => lab?.cleanup());

  it('a master whose reference address stops answering goes to FAULT and gives the VIP up', async () => {
    requireRoot('netns');
    lab = new Lab({ tag: 'r', reals: 1, directors: 2, vipOnLink: true });
    await lab.startServer(0);
    // the "gateway": an extra address on the client
    sh('ip', ['-n', lab.client.ns, 'addr', 'add', '198.18.0.254/24', 'dev', lab.client.dev]);
    const [d0, d1] = lab.directors;
    const a0 = lab.startAgent(lab.writeConfig('r0.conf', conf(lab, { dev: d0!.dev, priority: 150, reference: '198.18.0.254' })), 0);
    const a1 = lab.startAgent(lab.writeConfig('r1.conf', conf(lab, { dev: d1!.dev, priority: 100 })), 1);
    await a0.waitFor(/"msg":"vrrp MASTER"/, 20_000);
    const m0 = a0.mark();
    const m1 = a1.mark();
    await sleep(3000);
    assert.ok(!a0.lines.slice(m0).some((l) => /cut off/.test(l)), 'the reference answers: no fault');
    sh('ip', ['-n', lab.client.ns, 'addr', 'del', '198.18.0.254/24', 'dev', lab.client.dev]);
    await a0.waitFor(/"msg":"vrrp FAULT"/, 6_000, m0);
    await a1.waitFor(/"msg":"vrrp MASTER"/, 3_000, m1);
    assert.equal(lab.hasVip(0), false);
    assert.equal(lab.hasVip(1), true);
    sh('ip', ['-n', lab.client.ns, 'addr', 'add', '198.18.0.254/24', 'dev', lab.client.dev]);
    await a0.waitFor(/reference address answers again/, 6_000, m0);
    await a0.waitFor(/"msg":"vrrp MASTER"/, 8_000, m0);
  });
});

describe('VRRP interop with keepalived', () => {
  for (const version of [2, 3] as const) {
    describe(`VRRPv${version}${version === 2 ? ' with PASS authentication' : ''}`, () => {
      let lab: Lab;
      let xdpvs: AgentProcess;
      let keepalived: AgentProcess;
      let confX: string;

      const startKeepalived = (priority: number): AgentProcess => {
        const file = lab.writeConfig('keepalived.conf', conf(lab, { dev: lab.directors[1]!.dev, priority, version, services: false, ...(version === 2 ? { authPass: 'xdpvs123' } : {}) }));
        return (keepalived = lab.spawnIn(1, [
          'keepalived', '--dont-fork', '--log-console', '--log-detail', '--vrrp', '--use-file', file,
          '--pid', path.join(lab.workDir, 'k.pid'), '--vrrp_pid', path.join(lab.workDir, 'kv.pid'),
        ]));
      };

      before(async () => {
        requireRoot('netns');
        lab = new Lab({ tag: `k${version}`, reals: 1, directors: 2, vipOnLink: true });
        await lab.startServer(0);
        confX = lab.writeConfig('xdpvs.conf', conf(lab, { dev: lab.directors[0]!.dev, priority: 150, version, ...(version === 2 ? { authPass: 'xdpvs123' } : {}) }));
        keepalived = startKeepalived(100);
        await keepalived.waitFor(/Entering BACKUP STATE/, 10_000);
        xdpvs = lab.startAgent(confX, 0);
        await xdpvs.waitFor(/"msg":"vrrp MASTER"/, 20_000);
      });

      after(async () => lab?.cleanup());

      it('xdpvs (150) is master, keepalived (100) backup; the VIP is on xdpvs', async () => {
        // keepalived started first and was master until xdpvs (warm) preempted it
        await keepalived.waitFor(/Entering BACKUP STATE/, 5_000, keepalived.lines.findIndex((l) => /Entering MASTER STATE/.test(l)) + 1);
        const mk = keepalived.mark();
        await sleep(2500);
        assert.ok(!keepalived.lines.slice(mk).some((l) => /Entering MASTER STATE/.test(l)), 'keepalived stays backup: it accepts our adverts');
        assert.equal(lab.hasVip(0), true);
        assert.equal(lab.hasVip(1), false);
        assert.ok(lab.get('/'));
      });

      it('xdpvs stopping hands over to keepalived; xdpvs returning preempts it', async () => {
        let mk = keepalived.mark();
        xdpvs.signal('SIGTERM');
        await keepalived.waitFor(/Entering MASTER STATE/, 5_000, mk);
        await sleep(300);
        assert.equal(lab.hasVip(1), true);
        mk = keepalived.mark();
        xdpvs = lab.startAgent(confX, 0);
        await xdpvs.waitFor(/"msg":"vrrp MASTER"/, 15_000);
        await keepalived.waitFor(/Entering BACKUP STATE/, 5_000, mk);
        await sleep(300);
        assert.equal(lab.hasVip(0), true);
        assert.equal(lab.hasVip(1), false);
      });

      it('keepalived with the higher priority takes over from xdpvs, and hands back on stop', async () => {
        keepalived.signal('SIGTERM');
        await keepalived.exited;
        const mx = xdpvs.mark();
        startKeepalived(200);
        await keepalived.waitFor(/Entering MASTER STATE/, 10_000, true);
        await xdpvs.waitFor(/"msg":"vrrp BACKUP"/, 5_000, mx);
        await sleep(300);
        assert.equal(lab.hasVip(1), true);
        assert.equal(lab.hasVip(0), false);
        const mx2 = xdpvs.mark();
        keepalived.signal('SIGTERM');
        await xdpvs.waitFor(/"msg":"vrrp MASTER"/, 5_000, mx2);
        assert.equal(lab.hasVip(0), true);
      });
    });
  }
});
