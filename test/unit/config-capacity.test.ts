// What a configuration may ask of the data plane and of the host, refused
// before anything changes: more services or reals than the maps hold (also by
// `xdpvs check`), and interfaces or addresses this host lacks (`xdpvs run`).
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, formatDiagnostic } from '../../agent/config/diagnostics';
import { hostProblems, type Host } from '../../agent/config/host';
import { loadConfig } from '../../agent/config/load';

let dir: string;

function errorsOf(name: string, text: string): string[] {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  try {
    loadConfig(f);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
  }
  assert.fail(`${name} loaded without errors`);
}

/** keepalived.conf with n services of `reals` reals each; a service is 1 + reals * 3 + 1 lines after the 1-line header */
function services(n: number, reals: number): string {
  const out = ['! capacity'];
  for (let s = 0; s < n; s++) {
    out.push(`virtual_server 10.${(s >> 8) & 255}.${s & 255}.1 80 {`);
    for (let r = 0; r < reals; r++) out.push(`  real_server 172.16.${r >> 8}.${r & 255} 80 {`, '    weight 1', '  }');
    out.push('}');
  }
  return out.join('\n');
}

describe('capacities are checked with the file', () => {
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-cap-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('512 services load; the 513th is an error at its line', () => {
    assert.doesNotThrow(() => loadConfig((fs.writeFileSync(path.join(dir, 'ok.conf'), services(512, 1)), path.join(dir, 'ok.conf'))));
    // service s starts at line 2 + s * 5
    assert.deepEqual(errorsOf('vips.conf', services(513, 1)), [
      `${dir}/vips.conf:${2 + 512 * 5}: error: 513 services: the data plane holds at most 512 [XDPVS_CONF_CAPACITY]`,
    ]);
  });

  it('the 4096th real is an error at its line (4095 ids: 0 means no real)', () => {
    // 4 services of 1024 reals: the 4096th real is the last real of the last service
    const errors = errorsOf('reals.conf', services(4, 1024));
    const line = 2 + 3 * (1 + 1024 * 3 + 1) + 1 + 1023 * 3;
    assert.deepEqual(errors, [`${dir}/reals.conf:${line}: error: more than 4095 reals (sorry servers included): the data plane holds at most 4095 [XDPVS_CONF_CAPACITY]`]);
  });
});

describe('what a configuration asks of the host', () => {
  const host = (ifaces: Record<string, string[]>): Host => ({
    hasInterface: (n) => n in ifaces,
    addresses: (n, family) => (ifaces[n] ?? []).filter((a) => (family === 'inet' ? !a.includes(':') : a.startsWith('fe80:'))),
  });
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-host-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const instance = (iface: string, vipDev?: string): string =>
    ['vrrp_instance VI_1 {', `  interface ${iface}`, '  virtual_router_id 7', '  priority 100', '  virtual_ipaddress {', `    192.0.2.10/32${vipDev ? ` dev ${vipDev}` : ''}`, '  }', '}'].join('\n');

  it('a missing interface is named with its file:line and code', () => {
    const f = path.join(dir, 'a.conf');
    fs.writeFileSync(f, instance('eth9'));
    assert.deepEqual(hostProblems(loadConfig(f).config, host({ eth0: ['10.0.0.1'] })).map(formatDiagnostic), [
      `${f}:1: error: vrrp_instance VI_1: interface eth9 does not exist on this host [XDPVS_CONF_HOST]`,
    ]);
  });

  it('an interface without an address to send from, and a VIP on a missing device, are named', () => {
    const f = path.join(dir, 'b.conf');
    fs.writeFileSync(f, instance('eth0', 'eth7'));
    assert.deepEqual(hostProblems(loadConfig(f).config, host({ eth0: ['192.0.2.10'] })).map(formatDiagnostic), [
      `${f}:1: error: vrrp_instance VI_1: eth0 has no IPv4 address to send adverts from [XDPVS_CONF_HOST]`,
      `${f}:6: error: vrrp_instance VI_1: 192.0.2.10 names interface eth7, which does not exist on this host [XDPVS_CONF_HOST]`,
    ]);
  });

  it('a host that has everything: no problem', () => {
    const f = path.join(dir, 'c.conf');
    fs.writeFileSync(f, instance('eth0', 'eth0'));
    assert.deepEqual(hostProblems(loadConfig(f).config, host({ eth0: ['10.0.0.1'] })), []);
  });
});
