// The local control socket the CLI talks to: a Unix socket in the state
// directory (root only), newline-delimited JSON.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Logger } from 'pino';
import type { Answer, Request } from './protocol';
import { SOCKET_NAME } from './protocol';
import { RunCode } from '../errors';

export type Handler = (req: Request) => Answer;

/** sun_path is 108 bytes with its NUL; libuv would silently bind a truncated path */
export const MAX_SOCKET_PATH = 107;

function validate(raw: unknown): Request | string {
  if (typeof raw !== 'object' || raw === null) return 'request: wants a JSON object';
  const r = raw as Record<string, unknown>;
  if (r['cmd'] === 'list' || r['cmd'] === 'stats') return { cmd: r['cmd'] };
  if (r['cmd'] === 'real') {
    if (typeof r['service'] !== 'string') return 'service: wants "PROTO VIP:PORT", e.g. "tcp 192.0.2.10:80"';
    if (typeof r['real'] !== 'string') return 'real: wants "ADDR:PORT"';
    const w = r['weight'];
    if (w !== null && (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > 65535)) return 'weight: wants an integer from 0 to 65535, or null to restore the configured weight';
    return { cmd: 'real', service: r['service'], real: r['real'], weight: w as number | null };
  }
  return `cmd: wants list, stats or real, got ${JSON.stringify(r['cmd'])}`;
}

/**
 * What one client may cost the agent. The socket is root's alone, but a
 * stuck or broken client (a script that never reads, a wrong file piped in)
 * must not grow the agent's memory or file descriptors, nor keep others
 * waiting.
 */
export interface ControlLimits {
  /** bytes in one request line; a longer one is answered with an error and the connection closed */
  maxLine: number;
  /** a connection idle this long is closed */
  idleMs: number;
  /** connections at once; more are closed as they arrive */
  maxConnections: number;
  /** answers written but not yet read by the client; more and the connection is closed */
  maxPending: number;
}

export const CONTROL_LIMITS: ControlLimits = { maxLine: 64 * 1024, idleMs: 30_000, maxConnections: 64, maxPending: 4 * 1024 * 1024 };

export class ControlServer {
  private readonly server: net.Server;
  readonly socketPath: string;
  /** settles once the socket accepts connections, or is known unavailable (logged) */
  readonly listening: Promise<void>;

  constructor(stateDir: string, handler: Handler, log: Logger, limits: ControlLimits = CONTROL_LIMITS) {
    this.socketPath = path.join(stateDir, SOCKET_NAME);
    fs.rmSync(this.socketPath, { force: true });
    this.server = net.createServer((conn) => {
      let buf = '';
      conn.setEncoding('utf8');
      conn.setTimeout(limits.idleMs, () => conn.destroy());
      const answer = (a: Answer): void => {
        conn.write(`${JSON.stringify(a)}\n`);
        if (conn.writableLength > limits.maxPending) {
          log.debug({ pending: conn.writableLength }, 'control client does not read its answers: closed');
          conn.destroy();
        }
      };
      conn.on('data', (d: string) => {
        buf += d;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0 && !conn.destroyed) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          try {
            const req = validate(JSON.parse(line));
            answer(typeof req === 'string' ? { ok: false, error: req } : handler(req));
          } catch (err) {
            answer({ ok: false, error: err instanceof SyntaxError ? `request: not JSON: ${err.message}` : (err as Error).message });
          }
        }
        if (buf.length > limits.maxLine) {
          buf = '';
          conn.end(`${JSON.stringify({ ok: false, error: `request: a line longer than ${limits.maxLine} bytes` })}\n`);
          conn.destroySoon();
        }
      });
      conn.on('error', (err) => log.debug({ err: err.message }, 'control connection error'));
    });
    this.server.maxConnections = limits.maxConnections;
    // the control socket is for the CLI: without it the director still
    // serves, so a failure is logged, never thrown from an event
    let settle: () => void = () => undefined;
    this.listening = new Promise((resolve) => (settle = resolve));
    const unavailable = (why: string): void => {
      log.error({ code: RunCode.CONTROL, socket: this.socketPath }, `control socket unavailable: ${why}; xdpvs list/stats/real cannot reach this agent`);
      settle();
    };
    this.server.on('error', (err: NodeJS.ErrnoException) => unavailable(err.code ?? err.message));
    const bytes = Buffer.byteLength(this.socketPath);
    if (bytes > MAX_SOCKET_PATH) {
      unavailable(`its path is ${bytes} bytes, the limit is ${MAX_SOCKET_PATH} (use a shorter --state-dir)`);
      return;
    }
    this.server.listen(this.socketPath, () => {
      try {
        fs.chmodSync(this.socketPath, 0o600);
      } catch (err) {
        unavailable((err as Error).message);
        this.server.close();
      }
      settle();
    });
  }

  close(): void {
    if (this.server.listening) this.server.close();
    fs.rmSync(this.socketPath, { force: true });
  }
}
