// What a reload restarts: a VRRP instance whose definition is unchanged keeps
// running (and keeps its VIPs) even when its lines moved in the file.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../agent/config/load';
import { same } from '../../agent/net/same';

const instance = ['vrrp_script chk {', '  script "true"', '}', 'vrrp_instance VI_1 {', '  interface eth0', '  virtual_router_id 51', '  virtual_ipaddress {', '    10.0.0.100', '  }',
  '  track_script {', '    chk', '  }', '  track_interface {', '    eth1', '  }', '}'];

describe('VRRP reload', () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-vrrp-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const load = (name: string, lines: string[]): ReturnType<typeof loadConfig>['config'] => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, lines.join('\n'));
    return loadConfig(f).config;
  };

  it('an instance whose lines only moved (its tracked objects too) is the same definition; a changed one is not', () => {
    const a = load('a.conf', instance);
    const moved = load('b.conf', ['! a comment', '', ...instance]);
    assert.notDeepEqual(moved.vrrpInstances[0]!.trackScripts[0]!.loc, a.vrrpInstances[0]!.trackScripts[0]!.loc);
    assert.ok(same(a.vrrpInstances[0]!, moved.vrrpInstances[0]!));
    assert.ok(same(a.vrrpScripts[0]!, moved.vrrpScripts[0]!));
    const changed = load('c.conf', instance.map((l) => (l === '    eth1' ? '    eth1 weight -10' : l)));
    assert.ok(!same(a.vrrpInstances[0]!, changed.vrrpInstances[0]!));
  });
});
