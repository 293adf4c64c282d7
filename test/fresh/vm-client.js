// Traffic for the fresh VM test, run by Debian's own node in the client
// namespace (plain JavaScript: nothing to build in the VM).
//   node vm-client.js count VIP N          N GETs, one connection each; prints JSON
//   node vm-client.js during VIP STOPFILE  GETs every 100 ms and one slow
//       download, until STOPFILE exists (bounded: 120 s); prints JSON
'use strict';
const http = require('http');
const fs = require('fs');

const [, , mode, vip, arg] = process.argv;

function get(path, timeoutMs) {
  return new Promise((resolve) => {
    const req = http.get({ host: vip, port: 80, path, agent: false, timeout: timeoutMs }, (res) => {
      let bytes = 0;
      let body = '';
      res.on('data', (d) => {
        bytes += d.length;
        if (body.length < 64) body += d.toString();
      });
      res.on('end', () => resolve({ ok: res.statusCode === 200, status: res.statusCode, bytes, body: body.trim() }));
      res.on('error', (e) => resolve({ ok: false, error: e.message, bytes }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ ok: false, error: e.message, bytes: 0 }));
  });
}

async function count(n) {
  const by = {};
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const r = await get('/', 2000);
    if (r.ok) by[r.body] = (by[r.body] || 0) + 1;
    else failed++;
  }
  return { requests: n, failed, by };
}

async function during(stopFile) {
  const deadline = Date.now() + 120000;
  // one long flow across the whole window: the real streams until told to stop
  const download = get('/stream', 130000);
  let requests = 0;
  const errors = [];
  while (!fs.existsSync(stopFile) && Date.now() < deadline) {
    const r = await get('/', 2000);
    requests++;
    if (!r.ok) errors.push(r.error || `status ${r.status}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  const d = await download;
  return { requests, failed: errors.length, errors: errors.slice(0, 5), download: d };
}

(async () => {
  const out = mode === 'count' ? await count(Number(arg)) : await during(arg);
  console.log(JSON.stringify(out));
})();
