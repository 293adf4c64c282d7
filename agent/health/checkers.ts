// One attempt of each check kind, as keepalived performs it. Each resolves
// (never rejects) within the check's connect_timeout (misc: misc_timeout,
// else delay_loop) with ok and a short detail for logs.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { HealthCheck } from '../config/model';

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
      host: check.connect.addr,
      port: check.connect.port,
      ...(check.bindTo ? { localAddress: check.bindTo } : {}),
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

function httpCheck(check: HealthCheck & { type: 'http' | 'https' }): Promise<CheckResult> {
  const start = Date.now();
  const deadline = start + check.connectTimeout * 1000;
  const one = (path: string): Promise<{ status: number; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const mod = check.type === 'https' ? https : http;
      const req = mod.request(
        {
          host: check.connect.addr,
          port: check.connect.port,
          path,
          method: 'GET',
          ...(check.bindTo ? { localAddress: check.bindTo } : {}),
          headers: { Host: check.virtualhost ?? check.connect.addr, 'User-Agent': 'xdpvs-check', Connection: 'close' },
          // keepalived's SSL_GET does not verify the certificate either
          ...(check.type === 'https' ? { rejectUnauthorized: false } : {}),
          timeout: Math.max(1, deadline - Date.now()),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${check.connectTimeout}s`)));
      req.on('error', reject);
      req.end();
    });
  return (async () => {
    for (const url of check.urls) {
      try {
        const { status, body } = await one(url.path);
        if (!url.statusCodes.some(([lo, hi]) => status >= lo && status <= hi)) return timed(start, false, `${url.path}: status ${status}`);
        if (url.digest) {
          const md5 = createHash('md5').update(body).digest('hex');
          if (md5 !== url.digest) return timed(start, false, `${url.path}: digest ${md5}, want ${url.digest}`);
        }
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        return timed(start, false, `${url.path}: ${e.code ?? e.message}`);
      }
    }
    return timed(start, true, `${check.urls.length} url(s) ok`);
  })();
}

function udpCheck(check: HealthCheck & { type: 'udp' }): Promise<CheckResult> {
  const start = Date.now();
  return new Promise((resolve) => {
    const sock = dgram.createSocket(check.connect.addr.includes(':') ? 'udp6' : 'udp4');
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
    sock.bind({ ...(check.bindTo ? { address: check.bindTo } : {}), port: 0 }, () => {
      sock.connect(check.connect.port, check.connect.addr, () => sock.send(Buffer.from(check.payload ?? '')));
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
