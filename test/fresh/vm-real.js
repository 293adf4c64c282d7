// The real server of the fresh VM test, run by Debian's own node in the
// real's namespace: "/" answers its name; "/stream" sends 1 KiB every 50 ms
// until STOPFILE exists (bounded: 120 s), then ends, so the client can check
// that one connection lived through the whole upgrade.
//   node vm-real.js NAME STOPFILE
'use strict';
const http = require('http');
const fs = require('fs');

const [, , name, stopFile] = process.argv;
http
  .createServer((req, res) => {
    if (req.url !== '/stream') {
      res.end(`${name}\n`);
      return;
    }
    const deadline = Date.now() + 120000;
    const chunk = Buffer.alloc(1024, 0x78);
    const timer = setInterval(() => {
      if (fs.existsSync(stopFile) || Date.now() > deadline) {
        clearInterval(timer);
        res.end();
      } else res.write(chunk);
    }, 50);
    res.on('close', () => clearInterval(timer));
  })
  .listen(80);
