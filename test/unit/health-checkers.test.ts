// Each check kind against real servers on 127.0.0.1: what passes, what fails,
// and that every attempt ends within its timeout.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { HealthCheck, HttpUrl } from '../../agent/config/model';
import { runCheck } from '../../agent/health/checkers';
import { parseAddr } from '../../agent/net/addr';

const base = { delayLoop: 5, connectTimeout: 0.5, retry: 0, delayBeforeRetry: 1, warmup: 0, loc: { file: 't', line: 1 } };
const at = (port: number) => ({ connect: { addr: parseAddr('127.0.0.1'), port } });
const tcp = (port: number): HealthCheck => ({ type: 'tcp', ...base, ...at(port) });
const web = (port: number, urls: HttpUrl[], virtualhost?: string): HealthCheck => ({
  type: 'http',
  urls,
  ...(virtualhost ? { virtualhost } : {}),
  ...base,
  ...at(port),
});

/** A port nothing listens on: bound then closed. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('health checkers', () => {
  let httpServer: http.Server;
  let httpPort: number;
  let silent: net.Server;
  let silentPort: number;
  let udp: dgram.Socket;
  let udpPort: number;
  const hosts: string[] = [];

  before(async () => {
    httpServer = http.createServer((req, res) => {
      hosts.push(req.headers.host ?? '');
      if (req.url === '/health') res.end('OK');
      else if (req.url === '/moved') res.writeHead(301, { Location: '/' }).end();
      else res.writeHead(503).end('down');
    });
    await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
    httpPort = (httpServer.address() as AddressInfo).port;
    // accepts connections and never answers
    silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    silentPort = (silent.address() as AddressInfo).port;
    udp = dgram.createSocket('udp4');
    udp.on('message', (msg, rinfo) => udp.send(Buffer.from(`pong ${msg.toString()}`), rinfo.port, rinfo.address));
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    udpPort = udp.address().port;
  });

  after(async () => {
    silent.close();
    udp.close();
    httpServer.closeAllConnections();
    await new Promise((r) => httpServer.close(r));
  });

  it('TCP: a listening port is up, a closed one down with the reason', async () => {
    assert.equal((await runCheck(tcp(httpPort))).ok, true);
    const r = await runCheck(tcp(await closedPort()));
    assert.deepEqual([r.ok, r.detail], [false, 'ECONNREFUSED']);
  });

  it('HTTP: status ranges, every url, the Host header from virtualhost', async () => {
    assert.equal((await runCheck(web(httpPort, [{ path: '/health', statusCodes: [[200, 299]] }], 'www.example'))).ok, true);
    assert.equal(hosts.at(-1), 'www.example');
    const r = await runCheck(web(httpPort, [{ path: '/health', statusCodes: [[200, 299]] }, { path: '/moved', statusCodes: [[200, 299]] }]));
    assert.deepEqual([r.ok, r.detail], [false, '/moved: status 301']);
    assert.equal((await runCheck(web(httpPort, [{ path: '/moved', statusCodes: [[200, 200], [301, 302]] }]))).ok, true);
  });

  it('HTTP: digest is the MD5 of the body', async () => {
    const good = createHash('md5').update('OK').digest('hex');
    assert.equal((await runCheck(web(httpPort, [{ path: '/health', statusCodes: [[200, 299]], digest: good }]))).ok, true);
    const r = await runCheck(web(httpPort, [{ path: '/health', statusCodes: [[200, 299]], digest: '0'.repeat(32) }]));
    assert.match(r.detail, new RegExp(`digest ${good}, want 0{32}`));
  });

  it('TCP and HTTP attempts end within connect_timeout when the server is silent', async () => {
    const started = Date.now();
    const r = await runCheck(web(silentPort, [{ path: '/', statusCodes: [[200, 299]] }]));
    assert.equal(r.ok, false);
    assert.match(r.detail, /no answer within 0.5s/);
    assert.ok(Date.now() - started < 2000);
  });

  it('UDP: a required reply, silence without one, and ICMP port unreachable', async () => {
    const udpCheck = (port: number, extra: object): HealthCheck => ({ type: 'udp', ...base, ...at(port), ...extra }) as HealthCheck;
    assert.equal((await runCheck(udpCheck(udpPort, { payload: 'ping', require: 'pong ping' }))).ok, true);
    const wrong = await runCheck(udpCheck(udpPort, { payload: 'ping', require: 'nope' }));
    assert.deepEqual([wrong.ok, wrong.detail], [false, 'reply without the required text']);
    const refused = await runCheck(udpCheck(await closedPort(), { payload: 'x' }));
    assert.deepEqual([refused.ok, refused.detail], [false, 'ECONNREFUSED']);
  });

  it('MISC: the exit code decides; a script over its timeout is killed and counts as down', async () => {
    const misc = (path: string, timeout?: number): HealthCheck =>
      ({ type: 'misc', path, ...(timeout ? { timeout } : {}), ...base, ...at(0) }) as HealthCheck;
    assert.equal((await runCheck(misc('exit 0'))).ok, true);
    assert.deepEqual(await runCheck(misc('exit 3')).then((r) => [r.ok, r.detail]), [false, 'exit 3']);
    const started = Date.now();
    const slow = await runCheck(misc('sleep 30', 0.3));
    assert.equal(slow.ok, false);
    assert.match(slow.detail, /killed by SIGKILL/);
    assert.ok(Date.now() - started < 3000);
  });
});

describe('HTTP checks are bounded (issue 11, defect 7)', () => {
  let server: http.Server;
  let port: number;
  const timers = new Set<NodeJS.Timeout>();

  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/trickle') {
        // headers at once, then a byte every 300 ms, forever: never idle long enough for a socket timeout
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        const t = setInterval(() => res.write('x'), 300);
        timers.add(t);
        res.on('close', () => (clearInterval(t), timers.delete(t)));
      } else if (req.url === '/endless') {
        // a body that never ends, as fast as the socket takes it
        res.writeHead(200);
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        const pump = (): void => {
          while (res.write(chunk)) if (res.destroyed) return;
          res.once('drain', pump);
        };
        pump();
      } else res.end('OK');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });

  after(() => {
    for (const t of timers) clearInterval(t);
    server.closeAllConnections();
    server.close();
  });

  /** The check's result, or 'pending' if it has not ended within ms. */
  const within = (check: HealthCheck, ms: number): Promise<Awaited<ReturnType<typeof runCheck>> | 'pending'> => {
    let timer: NodeJS.Timeout | undefined;
    const pending = new Promise<'pending'>((r) => (timer = setTimeout(() => r('pending'), ms)));
    return Promise.race([runCheck(check).finally(() => clearTimeout(timer)), pending]);
  };

  it('a server that trickles its body a byte every 300 ms fails the check within connect_timeout', async () => {
    const check = { ...web(port, [{ path: '/trickle', statusCodes: [[200, 299]] }]), connectTimeout: 1 } as HealthCheck;
    const start = Date.now();
    const result = await within(check, 4000);
    assert.notEqual(result, 'pending', 'the check was still pending after 4 s with connect_timeout 1');
    if (result === 'pending') return;
    assert.equal(result.ok, false);
    assert.match(result.detail, /\/trickle: no answer within 1s/);
    assert.ok(Date.now() - start < 1500, `took ${Date.now() - start} ms`);
  });

  it('an answer that arrived while the event loop was stalled past the deadline still counts', async () => {
    // the server in another process: it answers while this one is stalled
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['-e', "require('http').createServer((q, r) => setTimeout(() => r.end('OK'), 100)).listen(0, '127.0.0.1', function () { console.log(this.address().port) })"], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const childPort = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
      const check = { ...web(childPort, [{ path: '/health', statusCodes: [[200, 299]] }]), connectTimeout: 0.3 } as HealthCheck;
      const pending = runCheck(check);
      await new Promise((r) => setTimeout(r, 50)); // the request is out; the answer comes 100 ms later
      await new Promise((r) => setImmediate(r)); // stall outside the timers phase, as an I/O callback (reconcile) does
      const until = Date.now() + 600;
      while (Date.now() < until); // a stall past connect_timeout, as on a busy director: the answer waits in the socket
      const result = await pending;
      assert.deepEqual([result.ok, result.detail], [true, '1 url(s) ok']);
    } finally {
      child.kill();
    }
  });

  it('an endless body is cut at the body limit: a digest check fails saying so, without holding the body', async () => {
    const check = { ...web(port, [{ path: '/endless', statusCodes: [[200, 299]], digest: '0'.repeat(32) }]), connectTimeout: 30 } as HealthCheck;
    const heap = process.memoryUsage().heapUsed;
    const result = await within(check, 10_000);
    assert.notEqual(result, 'pending', 'the check was still pending after 10 s');
    if (result === 'pending') return;
    assert.equal(result.ok, false);
    assert.match(result.detail, /\/endless: body over 1048576 bytes/);
    assert.ok(process.memoryUsage().heapUsed - heap < 16 * 1024 * 1024, 'the body was not held in memory');
    // without a digest the status decides and the reading stops at the limit
    const plain = { ...check, urls: [{ path: '/endless', statusCodes: [[200, 299]] }] } as HealthCheck;
    const ok = await within(plain, 10_000);
    assert.notEqual(ok, 'pending');
    if (ok !== 'pending') assert.deepEqual([ok.ok, ok.detail], [true, '1 url(s) ok']);
  });
});
