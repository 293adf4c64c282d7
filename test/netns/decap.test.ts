// The decap program on a real server with real traffic: a client tunnels a
// UDP datagram (IPIP) to the real server, which has no ipip module; the decap
// program strips the outer header, the echo server bound to the VIP on lo
// answers the client directly, as a TUN real server does. The client stands
// in for the director: only tunnels from an allowed source are stripped.
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

  const decap = (args: string[]): string => sh('ip', ['netns', 'exec', rs, XDPVS, 'decap', ...args, '--pin-dir', pinDir]);
  const stats = (): { addresses: string[]; allowedSources: string[]; counters: Record<string, { packets: number }> } =>
    JSON.parse(decap(['stats', '--json']));

  it('attach without --allow-source is refused, naming the options, and attaches nothing', () => {
    assert.throws(() => decap(['attach', '-i', rsDev, '-a', RS]), /--allow-source PREFIX\.\.\. is required.*--allow-any-source/s);
    assert.throws(() => decap(['attach', '-i', rsDev, '-a', RS, '--allow-source', `${CLIENT}/24`]), /--allow-source: "10\.0\.2\.2\/24" has host bits set: did you mean 10\.0\.2\.0\/24\?/);
    assert.equal(send('refused'), 'timeout');
  });

  it('a tunnel from a source not allowed is dropped and counted source_refused', () => {
    const out = decap(['attach', '-i', rsDev, '-a', RS, '--allow-source', '10.0.2.9', 'fd00::9']);
    assert.match(out, new RegExp(`decap attached to ${rsDev} \\(native\\) for ${RS} from 10\\.0\\.2\\.9/32, fd00::9/128`));
    assert.equal(send('stranger'), 'timeout');
    const s = stats();
    assert.deepEqual(s.allowedSources.sort(), ['10.0.2.9/32', 'fd00::9/128']);
    assert.equal(s.counters['source_refused']?.packets, 1);
    assert.equal(s.counters['decapsulated']?.packets, 0);
    decap(['detach', '-i', rsDev]);
  });

  it('with decap attached for the sender the VIP answers the client directly', () => {
    const out = decap(['attach', '-i', rsDev, '-a', RS, '--allow-source', '10.0.2.0/24']);
    assert.match(out, new RegExp(`decap attached to ${rsDev} \\(native\\) for ${RS} from 10\\.0\\.2\\.0/24`));
    assert.equal(send('hello'), `${VIP}:5353 hello`);
  });

  it('stats report the address, the allowed sources and the decapsulated packet', () => {
    const s = stats();
    assert.deepEqual(s.addresses, [RS]);
    assert.deepEqual(s.allowedSources, ['10.0.2.0/24']);
    assert.equal(s.counters['decapsulated']?.packets, 1);
    assert.equal(s.counters['malformed']?.packets, 0);
    assert.equal(s.counters['source_refused']?.packets, 0);
  });

  it('detach removes the program and its pins', () => {
    sh('ip', ['netns', 'exec', rs, XDPVS, 'decap', 'detach', '-i', rsDev, '--pin-dir', pinDir]);
    assert.equal(send('after'), 'timeout');
    assert.throws(() => sh('ip', ['netns', 'exec', rs, XDPVS, 'decap', 'stats', '--pin-dir', pinDir]), /no decap maps pinned/);
  });
});
