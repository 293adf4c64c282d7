// One attempt of each check kind, as keepalived performs it. Each resolves
// (never rejects) within the check's connect_timeout (misc: misc_timeout,
// else delay_loop) with ok and a short detail for logs.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { HealthCheck, HttpUrl } from '../config/model';

export interface CheckResult {
  ok: boolean;
  detail: string;
  /** milliseconds the attempt took */
  latency: number;
}

export type CheckRunner = (check: HealthCheck) => Promise<CheckResult>;

function timed(start: number, ok: boolean, detail: string): CheckResult {
  return { ok, detail, latency: Date.now() - start };
}

function tcpCheck(check: HealthCheck): Promise<CheckResult> {
  const start = Date.now();
  return new Promise((resolve) => {
    const sock = net.connect({
      host: String(check.connect.addr),
      port: check.connect.port,
      ...(check.bindTo ? { localAddress: String(check.bindTo) } : {}),
    });
    const done = (ok: boolean, detail: string): void => {
      sock.destroy();
      resolve(timed(start, ok, detail));
    };
    sock.setTimeout(check.connectTimeout * 1000, () => done(false, `no connection within ${check.connectTimeout}s`));
    sock.once('connect', () => done(true, 'connected'));
    sock.once('error', (err: NodeJS.ErrnoException) => done(false, err.code ?? err.message));
  });
}

/** the most of a body an HTTP check reads: a digest of a health page needs no more */
export const MAX_CHECK_BODY = 1024 * 1024;

/**
 * HTTP_GET / SSL_GET. connect_timeout bounds the whole attempt (every url:
 * connect, headers and body), as keepalived's does, not only each idle
 * moment: a server that trickles its answer fails instead of keeping the
 * check pending. The body is read to its end (an answer is complete only then) and
 * hashed as it streams, never held; past MAX_CHECK_BODY a digest check fails
 * and a check without a digest stops reading (the status has decided).
 */
function httpCheck(check: HealthCheck & { type: 'http' | 'https' }): Promise<CheckResult> {
  const start = Date.now();
  const deadline = start + check.connectTimeout * 1000;
  const one = (url: HttpUrl): Promise<{ status: number; md5?: string }> =>
    new Promise((resolve, reject) => {
      const mod = check.type === 'https' ? https : http;
      const req = mod.request(
        {
          host: String(check.connect.addr),
          port: check.connect.port,
          path: url.path,
          method: 'GET',
          ...(check.bindTo ? { localAddress: String(check.bindTo) } : {}),
          headers: { Host: check.virtualhost ?? String(check.connect.addr), 'User-Agent': 'xdpvs-check', Connection: 'close' },
          // keepalived's SSL_GET does not verify the certificate either
          ...(check.type === 'https' ? { rejectUnauthorized: false } : {}),
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const md5 = url.digest ? createHash('md5') : undefined;
          let bytes = 0;
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            if (bytes <= MAX_CHECK_BODY) {
              md5?.update(c);
              return;
            }
            // past the limit: a digest cannot be checked; without one the status has decided
            if (md5) req.destroy(new Error(`body over ${MAX_CHECK_BODY} bytes`));
            else {
              clearTimeout(timer);
              resolve({ status });
              req.destroy();
            }
          });
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status, ...(md5 ? { md5: md5.digest('hex') } : {}) });
          });
          res.on('error', reject);
        },
      );
      // setImmediate: after a stalled event loop the timer runs before the
      // I/O that arrived meanwhile; an answer already there still counts
      const timer = setTimeout(() => setImmediate(() => req.destroy(new Error(`no answer within ${check.connectTimeout}s`))), Math.max(1, deadline - Date.now()));
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.on('close', () => clearTimeout(timer));
      req.end();
    });
  return (async () => {
    for (const url of check.urls) {
      try {
        const { status, md5 } = await one(url);
        if (!url.statusCodes.some(([lo, hi]) => status >= lo && status <= hi)) return timed(start, false, `${url.path}: status ${status}`);
        if (url.digest && md5 !== url.digest) return timed(start, false, `${url.path}: digest ${md5}, want ${url.digest}`);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        return timed(start, false, `${url.path}: ${e.code && !e.message.startsWith('no answer') && !e.message.startsWith('body over') ? e.code : e.message}`);
      }
    }
    return timed(start, true, `${check.urls.length} url(s) ok`);
  })();
}

function udpCheck(check: HealthCheck & { type: 'udp' }): Promise<CheckResult> {
  const start = Date.now();
  return new Promise((resolve) => {
    const sock = dgram.createSocket(check.connect.addr.v6 ? 'udp6' : 'udp4');
    let finished = false;
    const done = (ok: boolean, detail: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.close();
      resolve(timed(start, ok, detail));
    };
    // without require_reply, silence means up; an ICMP port unreachable means down
    const timer = setTimeout(
      () => done(check.require === undefined, check.require === undefined ? 'no error' : `no reply within ${check.connectTimeout}s`),
      check.connectTimeout * 1000,
    );
    sock.on('error', (err: NodeJS.ErrnoException) => done(false, err.code ?? err.message));
    sock.on('message', (msg) => {
      if (check.require === undefined || msg.toString().includes(check.require)) done(true, 'replied');
      else done(false, 'reply without the required text');
    });
    sock.bind({ ...(check.bindTo ? { address: String(check.bindTo) } : {}), port: 0 }, () => {
      sock.connect(check.connect.port, String(check.connect.addr), () => sock.send(Buffer.from(check.payload ?? '')));
    });
  });
}

function miscCheck(check: HealthCheck & { type: 'misc' }): Promise<CheckResult> {
  const start = Date.now();
  const limit = (check.timeout ?? check.delayLoop) * 1000;
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', check.path], { stdio: 'ignore', detached: true });
    const timer = setTimeout(() => {
      // the whole process group: a script's own children go too
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, limit);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve(timed(start, false, err.message));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal) resolve(timed(start, false, `killed by ${signal} (over ${limit / 1000}s?)`));
      else resolve(timed(start, code === 0, `exit ${code}`));
    });
  });
}

export const runCheck: CheckRunner = (check) => {
  switch (check.type) {
    case 'tcp':
      return tcpCheck(check);
    case 'http':
    case 'https':
      return httpCheck(check);
    case 'udp':
      return udpCheck(check);
    case 'misc':
      return miscCheck(check);
  }
};
