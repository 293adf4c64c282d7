// The control socket never takes the agent down: a socket path the kernel
// cannot bind (sun_path holds 107 bytes and a NUL) is an error in the log
// naming the path, and the agent goes on serving without its control socket.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { ControlServer } from '../../agent/control/server';

function capture(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(chunk.toString()), cb()) });
  return { log: pino({ level: 'debug' }, sink), lines };
}

describe('control server', () => {
  it('a socket path over 107 bytes is logged as an error naming it, not an uncaught exception', async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'agctl-'));
    const stateDir = path.join(base, 'd'.repeat(120 - base.length));
    fs.mkdirSync(stateDir, { recursive: true });
    const { log, lines } = capture();
    const uncaught: Error[] = [];
    const onUncaught = (err: Error): void => void uncaught.push(err);
    // node:test turns an uncaught exception into this test's failure; listening keeps the count honest
    process.prependListener('uncaughtException', onUncaught);
    let server: ControlServer | undefined;
    try {
      server = new ControlServer(stateDir, () => ({ ok: true, stats: { verdicts: {}, services: [] } }), log);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(uncaught.map((e) => e.message), []);
      const text = lines.join('');
      assert.match(text, /control socket unavailable/);
      assert.match(text, new RegExp(`${path.join(stateDir, 'xdpvs.sock').length} bytes, the limit is 107`));
    } finally {
      process.removeListener('uncaughtException', onUncaught);
      server?.close();
      fs.rmSync(base, { recursive: true, force: true });
    }
  });

  it('answers on a usable path', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agctl-'));
    const server = new ControlServer(dir, () => ({ ok: true, stats: { verdicts: {}, services: [] } }), capture().log);
    try {
      const net = await import('node:net');
      await new Promise((r) => setTimeout(r, 100));
      const answer = await new Promise<string>((resolve, reject) => {
        const c = net.connect(server.socketPath, () => c.write('{"cmd":"stats"}\n'));
        c.on('data', (d) => (resolve(d.toString()), c.end()));
        c.on('error', reject);
      });
      assert.equal(answer, '{"ok":true,"stats":{"verdicts":{},"services":[]}}\n');
    } finally {
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
