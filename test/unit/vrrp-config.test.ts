// keepalived.conf vrrp_instance limits the wire format imposes, refused at
// configuration time with file:line and a stable code.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigCode, ConfigError, type Diagnostic } from '../../agent/config/diagnostics';
import { loadConfig } from '../../agent/config/load';

let dir: string;
let n = 0;

function conf(body: string[], vips: string[], excluded: string[] = []): string {
  const f = path.join(dir, `v${n++}.conf`);
  fs.writeFileSync(f, ['vrrp_instance VI_1 {', '  interface eth0', '  virtual_router_id 51', ...body, '  virtual_ipaddress {', ...vips.map((v) => `    ${v}`), '  }',
    ...(excluded.length ? ['  virtual_ipaddress_excluded {', ...excluded.map((v) => `    ${v}`), '  }'] : []), '}'].join('\n'));
  return f;
}

function errors(file: string): Diagnostic[] {
  try {
    loadConfig(file);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.diagnostics.filter((d) => d.severity === 'error');
  }
  return [];
}

const v4 = (count: number): string[] => Array.from({ length: count }, (_, i) => `10.${i >> 8}.${i & 255}.1`);
const v6 = (count: number): string[] => Array.from({ length: count }, (_, i) => `2001:db8::${(i + 1).toString(16)}`);

describe('VRRP configuration limits', () => {
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-vrrp-conf-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('255 IPv4 VIPs load; 256 are refused (the advert count is one byte) at the instance line', () => {
    assert.deepEqual(errors(conf([], v4(255))), []);
    const e = errors(conf([], v4(256)));
    assert.equal(e.length, 1, JSON.stringify(e));
    assert.equal(e[0]!.loc.line, 1);
    assert.equal(e[0]!.code, ConfigCode.INVALID_VALUE);
    assert.match(e[0]!.message, /VI_1: 256 virtual_ipaddress.*at most 255/);
  });

  it('127 IPv6 VIPs load; 128 are refused (an advert must fit the 2048-byte receive buffer)', () => {
    assert.deepEqual(errors(conf([], v6(127))), []);
    const e = errors(conf([], v6(128)));
    assert.equal(e.length, 1, JSON.stringify(e));
    assert.equal(e[0]!.loc.line, 1);
    assert.match(e[0]!.message, /VI_1: 128 IPv6 virtual_ipaddress.*at most 127/);
  });

  it('a VRRPv3 advert_int above 40.95 s (12 bits of centiseconds) is refused at its line; v2 takes up to 255 s', () => {
    const e = errors(conf(['  version 3', '  advert_int 41'], ['10.0.0.1']));
    assert.equal(e.length, 1, JSON.stringify(e));
    assert.equal(e[0]!.loc.line, 5);
    assert.match(e[0]!.message, /advert_int 41.*VRRPv3.*40\.95/);
    assert.deepEqual(errors(conf(['  version 3', '  advert_int 40.95'], ['10.0.0.1'])), []);
    assert.deepEqual(errors(conf(['  version 2', '  advert_int 41'], ['10.0.0.1'])), []);
    const e6 = errors(conf(['  advert_int 100'], ['2001:db8::1']));
    assert.equal(e6.length, 1, 'an IPv6 instance is v3');
  });

  it('an advert_int that rounds to 0 centiseconds is refused', () => {
    const e = errors(conf(['  advert_int 0.001'], ['10.0.0.1']));
    assert.equal(e.length, 1);
    assert.equal(e[0]!.loc.line, 4);
  });

  it('a dual-stack instance: IPv4 VIPs in adverts, the IPv6 ones in virtual_ipaddress_excluded, with their dev and prefix', () => {
    const f = conf([], ['10.0.0.1/32'], ['2001:db8::1/64 dev eth1', '10.0.1.1/24']);
    const { config, warnings } = loadConfig(f);
    assert.deepEqual(warnings, []);
    const v = config.vrrpInstances[0]!;
    assert.equal(v.family, 'inet');
    assert.deepEqual(v.excludedAddresses.map((a) => [String(a.addr), a.prefix, a.dev]), [['2001:db8::1', 64, 'eth1'], ['10.0.1.1', 24, undefined]]);
  });
});
