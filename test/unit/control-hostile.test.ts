// The control socket under hostile input: a huge line, invalid JSON, unknown
// commands, bad fields, a slow client, a client that never reads, and 1,000
// connections at once. The server answers or closes; it never crashes,
// never blocks the others, and never holds more than its bounds.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { ControlServer, type ControlLimits } from '../../agent/control/server';
import { ask } from '../../agent/control/client';
import { SOCKET_NAME, type Answer, type Request } from '../../agent/control/protocol';

const LIMITS: ControlLimits = { maxLine: 64 * 1024, idleMs: 300, maxConnections: 64, maxPending: 256 * 1024 };

/** Connects, writes `data`, collects what comes back until the server closes or `ms` pass. */
function exchange(socket: string, data: string | Buffer, ms: number): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const c = net.connect(socket);
    let text = '';
    let closedByServer = false;
    const timer = setTimeout(() => {
      c.destroy();
      resolve({ text, closedByServer });
    }, ms);
    c.on('connect', () => c.write(data));
    c.on('data', (d) => (text += d.toString()));
    c.on('error', () => undefined);
    c.on('close', () => {
      closedByServer = true;
      clearTimeout(timer);
      resolve({ text, closedByServer });
    });
  });
}

describe('control socket under hostile input', () => {
  let dir: string;
  let server: ControlServer;
  let socket: string;
  const seen: Request[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-ctl-'));
    server = new ControlServer(
      dir,
      (req): Answer => {
        seen.push(req);
        return { ok: true, services: [], vrrp: [] } as unknown as Answer;
      },
      pino({ level: 'silent' }),
      LIMITS,
    );
    socket = path.join(dir, SOCKET_NAME);
    await server.listening;
  });
  after(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const healthy = async (): Promise<void> => {
    const a = await ask(dir, { cmd: 'list' }, 2000);
    assert.equal(a.ok, true, 'a well-formed request is still answered');
  };

  it('answers invalid JSON, unknown commands and bad fields with an error naming the field, and keeps the connection', async () => {
    const lines = ['{not json', '[]', '"list"', '{"cmd":"reboot"}', '{"cmd":"real","service":1}', '{"cmd":"real","service":"tcp 192.0.2.1:80","real":"10.0.0.1:80","weight":-5}', '{"cmd":"list"}'];
    const r = await exchange(socket, `${lines.join('\n')}\n`, 1000);
    const answers = r.text.trim().split('\n').map((l) => JSON.parse(l) as { ok: boolean; error?: string });
    assert.equal(answers.length, lines.length);
    assert.match(answers[0]!.error!, /^request: not JSON/);
    assert.match(answers[1]!.error!, /^cmd: /);
    assert.match(answers[2]!.error!, /^request: wants a JSON object/);
    assert.match(answers[3]!.error!, /^cmd: wants list, stats or real, got "reboot"/);
    assert.match(answers[4]!.error!, /^service: /);
    assert.match(answers[5]!.error!, /^weight: /);
    assert.equal(answers[6]!.ok, true);
  });

  it('closes a connection whose line outgrows the limit, without reading it all into memory', async () => {
    const before = process.memoryUsage().rss;
    const huge = Buffer.alloc(32 * 1024 * 1024, 0x61); // 32 MiB, no newline
    const r = await exchange(socket, huge, 5000);
    assert.ok(r.closedByServer, 'the server closed the connection');
    assert.match(r.text, /request: a line longer than 65536 bytes/);
    // the server kept no 32 MiB string; the client's own buffer is the test's
    assert.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024);
    await healthy();
  });

  it('closes a slow client after the idle limit and serves others meanwhile', async () => {
    const slow = exchange(socket, '{"cmd":', 3000);
    await healthy();
    const r = await slow;
    assert.ok(r.closedByServer, 'the idle connection was closed by the server');
    assert.equal(r.text, '');
  });

  it('closes a client that sends requests but never reads the answers, once its answers pile up', async () => {
    const c = net.connect(socket);
    c.on('error', () => undefined);
    await new Promise((resolve) => c.once('connect', resolve));
    c.pause(); // never reads
    const closed = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 5000);
      c.once('close', () => (clearTimeout(timer), resolve(true)));
    });
    const burst = `${'{"cmd":"list"}\n'.repeat(20_000)}`;
    c.write(burst);
    assert.ok(await closed, 'the server closed the connection');
    c.destroy();
    await healthy();
  });

  it('1,000 connections at once: every one is answered or closed, none hangs, and the server still answers', async () => {
    const n = 1000;
    const results = await Promise.all(Array.from({ length: n }, () => exchange(socket, '{"cmd":"stats"}\n', 5000)));
    for (const r of results) {
      const answered = r.text.startsWith('{"ok":true');
      assert.ok(answered || r.closedByServer, `a connection neither answered nor closed: ${JSON.stringify(r)}`);
    }
    assert.ok(results.filter((r) => r.text.startsWith('{"ok":true')).length >= LIMITS.maxConnections, 'at least the limit were served');
    await healthy();
  });
});
