// The CLI's side of the control socket.
import * as net from 'node:net';
import * as path from 'node:path';
import type { Answer, Request } from './protocol';
import { SOCKET_NAME } from './protocol';

export function ask(stateDir: string, req: Request, timeoutMs = 10_000): Promise<Answer> {
  const socketPath = path.join(stateDir, SOCKET_NAME);
  return new Promise((resolve, reject) => {
    const conn = net.connect(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`no answer from ${socketPath} within ${timeoutMs / 1000}s`));
    }, timeoutMs);
    conn.on('connect', () => conn.write(`${JSON.stringify(req)}\n`));
    conn.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      conn.end();
      resolve(JSON.parse(buf.slice(0, nl)) as Answer);
    });
    conn.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new Error(
          err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
            ? `no agent at ${socketPath}: is 'xdpvs run' running (with this --state-dir)?`
            : `${socketPath}: ${err.message}`,
        ),
      );
    });
  });
}
