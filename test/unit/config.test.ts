// Both configuration front ends into the one model: keepalived.conf as
// operators write it, and the project's YAML; every error at its file:line.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigCode, ConfigError, formatDiagnostic } from '../../agent/config/diagnostics';
import { detectFormat, loadConfig } from '../../agent/config/load';

/** The model as `xdpvs check` prints it: addresses as their text. */
const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x)) as unknown;

const FIXTURES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures');
let dir: string;
const write = (name: string, text: string): string => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};

function errorsOf(file: string): string[] {
  try {
    loadConfig(file);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
  }
  assert.fail(`${file} loaded without errors`);
}

describe('keepalived.conf into the model', () => {
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-conf-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads a sample shaped like keepalived\'s own, groups expanded', () => {
    const file = path.join(FIXTURES, 'keepalived-sample.conf');
    assert.equal(detectFormat(file), 'keepalived');
    const { config, warnings } = loadConfig(file);
    assert.equal(config.routerId, 'LVS_DEVEL');
    assert.deepEqual(
      config.services.map((s) => [s.key, s.scheduler, s.method, s.delayLoop, s.reals.length]),
      [
        ['tcp 192.168.200.100:443', 'wrr', 'tun', 6, 1],
        ['tcp 192.168.200.10:80', 'mh', 'dr', 10, 2],
        ['tcp 192.168.200.11:80', 'mh', 'dr', 10, 2],
        ['tcp 192.168.200.12:80', 'mh', 'dr', 10, 2],
        ['tcp 192.168.201.1:80', 'mh', 'dr', 10, 2],
      ],
    );
    const ssl = config.services[0]!;
    assert.equal(ssl.persistenceTimeout, 50);
    assert.deepEqual(plain(ssl.sorryServer), { addr: '192.168.200.200', port: 1358 });
    const check = ssl.reals[0]!.checks[0]!;
    assert.equal(check.type, 'https');
    assert.deepEqual(
      check.type === 'https' ? check.urls : [],
      [
        { path: '/', statusCodes: [[200, 299]], digest: 'ff20ad2481f97b1754ef3e12ecd3a9cc' },
        { path: '/mrtg/', statusCodes: [[200, 299], [301, 301]] },
      ],
    );
    assert.deepEqual(
      plain([check.connectTimeout, check.retry, check.delayBeforeRetry, check.delayLoop, check.connect]),
      [3, 3, 3, 6, { addr: '192.168.201.100', port: 443 }],
    );
    const web = config.services[1]!;
    assert.deepEqual(web.reals.map((r) => [String(r.addr), r.weight, r.inhibitOnFailure]), [['10.0.0.1', 1, true], ['10.0.0.2', 0, true]]);
    assert.deepEqual(plain(web.reals[0]!.checks[0]!.connect), { addr: '10.0.0.1', port: 8080 });
    const misc = web.reals[1]!.checks[0]!;
    assert.deepEqual(misc.type === 'misc' ? [misc.path, misc.timeout] : [], ['/usr/local/bin/check --host 10.0.0.2', 5]);
    // unused global_defs are warned about, by line
    assert.deepEqual(
      warnings.map((w) => [w.loc.line, w.code]),
      [
        [4, ConfigCode.UNKNOWN_KEYWORD],
        [7, ConfigCode.UNKNOWN_KEYWORD],
      ],
    );
    const v = config.vrrpInstances[0]!;
    assert.deepEqual(
      [v.name, v.initialState, v.interface, v.virtualRouterId, v.priority, v.advertInt, v.version, v.family],
      ['VI_1', 'MASTER', 'eth0', 51, 100, 1, 2, 'inet'],
    );
    assert.deepEqual(v.virtualAddresses.map((a) => [String(a.addr), a.prefix]), [['192.168.200.16', 32]]);
  });

  it('every error is listed with file:line and the expected range', () => {
    const file = write(
      'bad.conf',
      [
        'virtual_server 10.0.0.1 80 {', // 1
        '  delay_loop -3', // 2
        '  lb_algo lblc', // 3
        '  lb_kind NAT', // 4
        '  real_server 10.0.0.300 80 {', // 5
        '  }', // 6
        '  real_server 10.0.0.2 80 {', // 7
        '    weight 70000', // 8
        '    HTTP_GET {', // 9
        '      url { path /', // 10
        '        status_code 200-99 }', // 11
        '      connect_timeout fast', // 12
        '    }', // 13
        '  }', // 14
        '}', // 15
        'virtual_server fwmark 1 {', // 16
        '}', // 17
        'virtual_server 10.0.0.1 80 {', // 18
        '}', // 19
      ].join('\n'),
    );
    const errs = errorsOf(file);
    const lines = errs.map((e) => Number(/bad\.conf:(\d+):/.exec(e)?.[1]));
    assert.deepEqual(lines, [2, 3, 4, 5, 8, 11, 12, 16, 18]);
    assert.match(errs[0]!, /delay_loop wants seconds from 0\.001 to 86400, got "-3"/);
    assert.match(errs[1]!, /lb_algo wants one of rr, wrr, lc, wlc, sh, dh, mh, sed, nq, got "lblc"/);
    assert.match(errs[2]!, /NAT is not supported: xdpvs forwards by DR or TUN/);
    assert.match(errs[3]!, /real_server address: "10\.0\.0\.300" is not an IPv4 or IPv6 address/);
    assert.match(errs[4]!, /weight 70000 is out of range 0\.\.65535/);
    assert.match(errs[5]!, /status_code wants codes or ranges .* got "200-99"/);
    assert.match(errs[6]!, /connect_timeout wants seconds from 0\.001 to 3600, got "fast"/);
    assert.match(errs[7]!, /fwmark is not supported/);
    assert.match(errs[8]!, /defined twice \(first at .*bad\.conf:1\)/);
  });

  it('vrrp_instance, vrrp_script and vrrp_sync_group reach the model with keepalived defaults', () => {
    const file = write(
      'vrrp.conf',
      [
        'global_defs {',
        '  vrrp_version 3',
        '}',
        'vrrp_script chk_web {',
        '  script "/usr/bin/curl -sf http://127.0.0.1/"',
        '  interval 2',
        '  weight -20',
        '  fall 2',
        '  rise 3',
        '}',
        'vrrp_instance VI_1 {',
        '  state BACKUP',
        '  interface eth0',
        '  virtual_router_id 51',
        '  priority 150',
        '  advert_int 0.5',
        '  nopreempt',
        '  preempt_delay 10',
        '  virtual_ipaddress {',
        '    10.0.0.100/24 dev eth0 label eth0:vip',
        '    10.0.0.101',
        '  }',
        '  track_interface {',
        '    eth1 weight -30',
        '  }',
        '  track_script {',
        '    chk_web',
        '  }',
        '  unicast_src_ip 10.0.0.2',
        '  unicast_peer {',
        '    10.0.0.3',
        '  }',
        '  notify_master "/etc/keepalived/master.sh"',
        '  garp_master_delay 2',
        '}',
        'vrrp_instance VI_6 {',
        '  interface eth0',
        '  virtual_router_id 52',
        '  version 2',
        '  virtual_ipaddress {',
        '    2001:db8::100/64',
        '  }',
        '}',
        'vrrp_sync_group G {',
        '  group {',
        '    VI_1',
        '    VI_6',
        '  }',
        '  sync_group_tracking_weight',
        '}',
      ].join('\n'),
    );
    const { config, warnings } = loadConfig(file);
    const [v4, v6] = config.vrrpInstances;
    assert.deepEqual(
      plain([v4!.version, v4!.priority, v4!.advertInt, v4!.nopreempt, v4!.preemptDelay, v4!.unicastSrcIp, v4!.unicastPeers, v4!.garpMasterDelay, v4!.notifyMaster]),
      [3, 150, 0.5, true, 10, '10.0.0.2', ['10.0.0.3'], 2, '/etc/keepalived/master.sh'],
    );
    assert.deepEqual(v4!.virtualAddresses.map((a) => [String(a.addr), a.prefix, a.dev, a.label]), [['10.0.0.100', 24, 'eth0', 'eth0:vip'], ['10.0.0.101', 32, undefined, undefined]]);
    assert.deepEqual(v4!.trackInterfaces, [{ name: 'eth1', weight: -30, reverse: false, loc: { file, line: 24 } }]);
    assert.deepEqual(v4!.trackScripts, [{ name: 'chk_web', reverse: false, loc: { file, line: 27 } }]);
    assert.deepEqual([v6!.version, v6!.family, v6!.priority], [3, 'inet6', 100]);
    assert.deepEqual(warnings.map((w) => w.loc.line), [36], 'IPv6 with version 2: warned, runs v3');
    const s = config.vrrpScripts[0]!;
    assert.deepEqual([s.name, s.script, s.interval, s.weight, s.fall, s.rise], ['chk_web', '/usr/bin/curl -sf http://127.0.0.1/', 2, -20, 2, 3]);
    assert.deepEqual([config.vrrpSyncGroups[0]!.group, config.vrrpSyncGroups[0]!.trackingWeight], [['VI_1', 'VI_6'], true]);
  });

  it("vrrp_sync_group tracking follows keepalived's rules: no weights on members, group tracking for all, none with an owner", () => {
    const inst = (name: string, vrid: number, priority: number, body: string[] = []): string[] => [
      `vrrp_instance ${name} {`, '  interface eth0', `  virtual_router_id ${vrid}`, `  priority ${priority}`, '  virtual_ipaddress {', `    10.0.0.${vrid}`, '  }', ...body, '}'];
    const lines = [
      'vrrp_script chk {', '  script "true"', '  weight -20', '}', // 1-4
      'vrrp_script up {', '  script "true"', '}', // 5-7
      ...inst('A', 1, 150, ['  track_script {', '    chk', '    up', '  }', '  track_interface {', '    eth1 weight -30', '    eth2', '  }']), // 8-23: chk 16, eth1 20
      ...inst('B', 2, 100), // 24-31
      'vrrp_sync_group G1 {', '  group {', '    A', '    B', '  }', // 32-36
      '  track_script {', '    chk weight -10', '  }', '  track_interface {', '    eth3 weight -5', '  }', '}', // 37-43
      ...inst('C', 3, 255), // 44-51
      ...inst('D', 4, 100), // 52-59
      'vrrp_sync_group G2 {', '  group {', '    C', '    D', '  }', '  track_script {', '    chk', '  }', '}', // 60-68: chk 66
      ...inst('E', 5, 100, ['  track_script {', '    chk', '  }']), // 69-79
      ...inst('F', 6, 100), // 80-87
      'vrrp_sync_group G3 {', '  group {', '    E', '    F', '  }', '  global_tracking', '}', // 88-94: global_tracking 93
    ];
    const file = write('syncweights.conf', lines.join('\n'));
    const { config, warnings } = loadConfig(file);
    const v = new Map(config.vrrpInstances.map((i) => [i.name, i]));
    const view = (name: string): [string[], string[]] => [
      v.get(name)!.trackScripts.map((t) => `${t.name}:${t.weight ?? 'script'}`),
      v.get(name)!.trackInterfaces.map((t) => `${t.name}:${t.weight ?? 'none'}`),
    ];
    // A's weighted chk is dropped, eth1 counts as weight 0; G1's own tracking reaches both with its weights
    assert.deepEqual(view('A'), [['up:script', 'chk:-10'], ['eth1:0', 'eth2:none', 'eth3:-5']]);
    assert.deepEqual(view('B'), [['chk:-10'], ['eth3:-5']]);
    // C owns its address (255): G2's chk cannot weigh and puts the members in FAULT instead
    assert.deepEqual(view('C'), [['chk:0'], []]);
    assert.deepEqual(view('D'), [['chk:0'], []]);
    // global_tracking (deprecated) keeps members' weights, as sync_group_tracking_weight does
    assert.deepEqual(view('E'), [['chk:script'], []]);
    assert.ok(config.vrrpSyncGroups[2]!.trackingWeight);
    assert.deepEqual(warnings.map((w) => [w.loc.line, w.code]), [[93, ConfigCode.IGNORED], [16, ConfigCode.IGNORED], [20, ConfigCode.IGNORED], [66, ConfigCode.IGNORED]]);
    assert.match(warnings[1]!.message, /A is in vrrp_sync_group G1: track_script chk with weight -20 is ignored/);
    assert.match(warnings[2]!.message, /track_interface eth1 weight -30 is read as weight 0/);
    assert.match(warnings[3]!.message, /G2: track_script chk cannot weigh while member C has priority 255/);
  });

  it('vrrp_sync_group errors: a member in two groups, group tracking that names no script', () => {
    const file = write(
      'syncbad.conf',
      [
        'vrrp_instance A {', '  interface eth0', '  virtual_router_id 1', '  virtual_ipaddress {', '    10.0.0.1', '  }', '}', // 1-7
        'vrrp_sync_group G1 {', '  group {', '    A', '  }', '}', // 8-12
        'vrrp_sync_group G2 {', '  group {', '    A', '  }', '  track_script {', '    nosuch', '  }', '}', // 13-20: nosuch 18
      ].join('\n'),
    );
    const errs = errorsOf(file).map((e) => e.replace(/^.*syncbad\.conf:/, ''));
    assert.deepEqual(errs.map((e) => Number(e.split(':')[0])), [13, 18]);
    const warned = (() => {
      try {
        loadConfig(file);
      } catch (err) {
        return (err as ConfigError).diagnostics.filter((d) => d.severity === 'warning').map((d) => [d.loc.line, d.message]);
      }
      return [];
    })();
    assert.deepEqual(warned, [[8, 'vrrp_sync_group G1 has 1 member(s): a group needs two to mean anything'], [13, 'vrrp_sync_group G2 has 1 member(s): a group needs two to mean anything']]);
    assert.match(errs[0]!, /vrrp_sync_group G2: A is already in vrrp_sync_group G1/);
    assert.match(errs[1]!, /vrrp_sync_group G2: track_script nosuch names no vrrp_script/);
  });

  it('VRRP errors: a missing script, a clashing VRID, AH, a bad priority, no VIP', () => {
    const file = write(
      'vrrpbad.conf',
      [
        'vrrp_instance A {', // 1
        '  interface eth0',
        '  virtual_router_id 7',
        '  priority 256', // 4
        '  authentication {', // 5
        '    auth_type AH',
        '  }',
        '  virtual_ipaddress {',
        '    10.0.0.1',
        '  }',
        '  track_script {',
        '    nosuch',
        '  }',
        '}',
        'vrrp_instance B {', // 15
        '  interface eth0',
        '  virtual_router_id 7',
        '  virtual_ipaddress {',
        '    10.0.0.2',
        '  }',
        '}',
        'vrrp_instance C {', // 22
        '  interface eth0',
        '  virtual_router_id 8',
        '}',
      ].join('\n'),
    );
    const errs = errorsOf(file).map((e) => e.replace(/^.*vrrpbad\.conf:/, ''));
    assert.deepEqual(errs.map((e) => Number(e.split(':')[0])), [4, 5, 22, 12, 15]);
    assert.match(errs[0]!, /priority 256 is out of range 1\.\.255/);
    assert.match(errs[1]!, /auth_type AH is not supported/);
    assert.match(errs[2]!, /vrrp_instance C needs at least one virtual_ipaddress/);
    assert.match(errs[3]!, /track_script nosuch names no vrrp_script/);
    assert.match(errs[4]!, /virtual_router_id 7 on eth0 is already used by A/);
  });

  it('quorum, hysteresis, quorum_up/down and omega reach the model', () => {
    const file = write(
      'quorum.conf',
      'virtual_server 10.0.0.1 80 {\n  quorum 3\n  hysteresis 1\n  quorum_up "/usr/bin/logger up"\n  quorum_down /usr/bin/logger down\n  omega\n  real_server 10.0.0.2 80 {\n  }\n}\n',
    );
    const { config, warnings } = loadConfig(file);
    const s = config.services[0]!;
    assert.deepEqual([s.quorum, s.hysteresis, s.quorumUp, s.quorumDown, s.omega], [3, 1, '/usr/bin/logger up', '/usr/bin/logger down', true]);
    assert.deepEqual(warnings, []);
  });

  it('unknown keywords are warnings that name the block, and the rest still loads', () => {
    const file = write('unknown.conf', 'virtual_server 10.0.0.1 80 {\n  frobnicate 3\n  real_server 10.0.0.2 80 {\n  }\n}\n');
    const { config, warnings } = loadConfig(file);
    assert.equal(config.services[0]!.reals.length, 1);
    assert.equal(formatDiagnostic(warnings[0]!), `${file}:2: warning: unknown keyword "frobnicate" in virtual_server: ignored [${ConfigCode.UNKNOWN_KEYWORD}]`);
  });
});

describe('YAML into the model', () => {
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-yaml-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads services, reals and checks with the keepalived words', () => {
    const file = write(
      'xdpvs.yaml',
      [
        'router_id: lb1',
        'ring_size: 251',
        'services:',
        '  - vip: 192.0.2.10',
        '    port: 80',
        '    lb_kind: tun',
        '    delay_loop: 2',
        '    sorry_server: "192.0.2.99:8080"',
        '    reals:',
        '      - address: 10.0.1.1',
        '        weight: 2',
        '        checks:',
        '          - type: http',
        '            path: /health',
        '            status_code: 200-204',
        '            connect_timeout: 1',
        '            retry: 2',
        '      - address: 10.0.1.2',
        '        port: 8080',
        '        checks: [{ type: tcp }]',
      ].join('\n'),
    );
    const { config, warnings } = loadConfig(file);
    assert.deepEqual(warnings, []);
    assert.equal(config.ringSize, 251);
    const s = config.services[0]!;
    assert.deepEqual(plain([s.key, s.scheduler, s.method, s.delayLoop, s.sorryServer]), ['tcp 192.0.2.10:80', 'mh', 'tun', 2, { addr: '192.0.2.99', port: 8080 }]);
    assert.deepEqual(s.reals.map((r) => [String(r.addr), r.port, r.weight]), [['10.0.1.1', 80, 2], ['10.0.1.2', 8080, 1]]);
    const hc = s.reals[0]!.checks[0]!;
    assert.deepEqual(hc.type === 'http' ? hc.urls : [], [{ path: '/health', statusCodes: [[200, 204]] }]);
    assert.deepEqual([hc.connectTimeout, hc.retry, hc.delayLoop, hc.loc.line], [1, 2, 2, 13]);
  });

  it('errors name file:line: bad values, a prime ring, YAML syntax', () => {
    const file = write('bad.yaml', 'ring_size: 65536\nservices:\n  - vip: 192.0.2.x\n    port: 80\n    lb_algo: fair\n');
    const errs = errorsOf(file);
    assert.equal(errs.length, 3);
    assert.match(errs[0]!, /bad\.yaml:1: error: ring_size 65536 is not a prime/);
    assert.match(errs[1]!, /bad\.yaml:3: error: vip: "192\.0\.2\.x" is not an IPv4 or IPv6 address/);
    assert.match(errs[2]!, /bad\.yaml:5: error: lb_algo wants one of/);
    const syntax = write('syntax.yaml', 'services:\n  - vip: [1, 2\n');
    assert.match(errorsOf(syntax)[0]!, /syntax\.yaml:\d+: error: YAML: /);
  });
});
