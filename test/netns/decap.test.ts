// The decap program on a real server with real traffic: a client tunnels a
// UDP datagram (IPIP) to the real server, which has no ipip module; the decap
// program strips the outer header, the echo server bound to the VIP on lo
// answers the client directly, as a TUN real server does.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { once } from 'node:events';
import { Topology, sh } from '../support/netns';
import { requireRoot } from '../support/root';

const ROOT = path.join(__dirname, '..', '..', '..');
const HELPERS = path.join(ROOT, 'test', 'netns', 'helpers');
const XDPVS = path.join(ROOT, 'bin', 'xdpvs');
const CLIENT = '10.0.2.2';
const RS = '10.0.2.1';
const VIP = '192.0.2.11';

describe('decap on a real server', () => {
  let topo: Topology;
  let client: string;
  let rs: string;
  let rsDev: string;
  let pinDir: string;
  let echo: ChildProcess | undefined;

  before(async () => {
    requireRoot('netns');
    topo = new Topology('d');
    client = topo.netns('c');
    rs = topo.netns('r');
    const cdev = topo.name('c0');
    rsDev = topo.name('r0');
    topo.veth(cdev, rsDev, rs);
    sh('ip', ['link', 'set', cdev, 'netns', client]);
    sh('ip', ['-n', client, 'link', 'set', cdev, 'up']);
    sh('ip', ['-n', client, 'addr', 'add', `${CLIENT}/24`, 'dev', cdev]);
    sh('ip', ['-n', rs, 'addr', 'add', `${RS}/24`, 'dev', rsDev]);
    sh('ip', ['-n', rs, 'addr', 'add', `${VIP}/32`, 'dev', 'lo']);
    sh('ip', ['-n', client, 'route', 'add', `${VIP}/32`, 'via', RS]);
    pinDir = path.join(topo.bpffs(), 'decap');
    echo = spawn('ip', ['netns', 'exec', rs, 'python3', path.join(HELPERS, 'udp_echo.py'), VIP, '5353', '10', '60'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await once(echo.stdout!, 'data');
  });

  after(() => {
    echo?.kill();
    topo?.cleanup();
  });

  const send = (payload: string): string =>
    sh('ip', [
      'netns', 'exec', client, 'python3', path.join(HELPERS, 'ipip_send.py'),
      CLIENT, '40000', VIP, '5353', RS, payload, '1.5',
    ]).trim();

  it('without decap the tunnelled datagram is lost (this kernel has no ipip module)', () => {
    assert.equal(send('before'), 'timeout');
  });

  it('with decap attached the VIP answers the client directly', () => {
    const out = sh('ip', ['netns', 'exec', rs, XDPVS, 'decap', 'attach', '-i', rsDev, '-a', RS, '--pin-dir', pinDir]);
    assert.match(out, new RegExp(`decap attached to ${rsDev} \\(native\\) for ${RS}`));
    assert.equal(send('hello'), `${VIP}:5353 hello`);
  });

  it('stats report the address and the decapsulated packet', () => {
    const stats = JSON.parse(sh('ip', ['netns', 'exec', rs, XDPVS, 'decap', 'stats', '--json', '--pin-dir', pinDir])) as {
      addresses: string[];
      counters: Record<string, { packets: number }>;
    };
    assert.deepEqual(stats.addresses, [RS]);
    assert.equal(stats.counters['decapsulated']?.packets, 1);
    assert.equal(stats.counters['malformed']?.packets, 0);
  });

  it('detach removes the program and its pins', () => {
    sh('ip', ['netns', 'exec', rs, XDPVS, 'decap', 'detach', '-i', rsDev, '--pin-dir', pinDir]);
    assert.equal(send('after'), 'timeout');
    assert.throws(() => sh('ip', ['netns', 'exec', rs, XDPVS, 'decap', 'stats', '--pin-dir', pinDir]), /no decap maps pinned/);
  });
});
