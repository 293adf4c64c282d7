// A real server for labs: answers every path with its name, /health with OK,
// /big?mb=N with N MiB sent slowly (a long download that outlives a
// failover or an agent restart), and a POST with its name and the bytes it
// received (an upload: full-sized packets toward the VIP). Exits by itself
// after --ttl seconds. --bind :: serves IPv6 (and IPv4, dual stack).
import * as http from 'node:http';

const args = new Map<string, string>();
for (let i = 2; i + 1 < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const name = args.get('name') ?? 'real';
const port = Number(args.get('port') ?? 80);
const ttl = Number(args.get('ttl') ?? 600);

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (req.method === 'POST') {
    let n = 0;
    req.on('data', (d: Buffer) => (n += d.length));
    req.on('end', () => res.end(`${name} ${n}\n`));
  } else if (url.pathname === '/health') {
    res.end('OK\n');
  } else if (url.pathname === '/big') {
    const chunks = Math.max(1, Number(url.searchParams.get('mb') ?? 1)) * 16;
    const chunk = Buffer.alloc(64 * 1024, name.charCodeAt(0));
    const perChunkMs = Number(url.searchParams.get('ms') ?? 20);
    res.writeHead(200, { 'Content-Length': chunks * chunk.length, 'X-Real': name });
    let sent = 0;
    const timer = setInterval(() => {
      res.write(chunk);
      if (++sent >= chunks) {
        clearInterval(timer);
        res.end();
      }
    }, perChunkMs);
    res.on('close', () => clearInterval(timer));
  } else {
    res.end(`${name}\n`);
  }
});
server.listen(port, args.get('bind') ?? '0.0.0.0', () => console.log('ready'));
setTimeout(() => process.exit(0), ttl * 1000).unref();
process.on('SIGTERM', () => process.exit(0));
