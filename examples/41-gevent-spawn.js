// The article's gevent example: spawn one greenlet per URL and joinall.
// gevent needs monkey.patch_all() to make urllib's sockets cooperative;
// Node's I/O is already non-blocking, so the greenlets simply await fetch().
// The URLs are served by a local HTTP server this example starts on
// 127.0.0.1 (each page answers after a delay); nothing leaves the machine.
'use strict';
const http = require('node:http');
const { spawn, joinall, getcurrent } = require('forkful/coroutine');

const PAGES = {
  '/www.python.org/': { delayMs: 300, bytes: 48_000 },
  '/www.yahoo.com/': { delayMs: 100, bytes: 512_000 },
  '/github.com/': { delayMs: 200, bytes: 96_000 },
};

function startServer() {
  const server = http.createServer((req, res) => {
    const page = PAGES[req.url];
    if (!page) {
      res.writeHead(404).end();
      return;
    }
    setTimeout(() => res.end('x'.repeat(page.bytes)), page.delayMs);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function f(url) {
  console.log(`GET: ${url}`);
  // The greenlet's signal aborts the request if the greenlet is killed.
  const resp = await fetch(url, { signal: getcurrent().signal });
  const data = await resp.text();
  console.log(`${data.length} bytes received from ${url}.`);
  return data.length;
}

async function main() {
  const server = await startServer();
  const base = `http://127.0.0.1:${server.address().port}`;
  const started = Date.now();
  try {
    const greenlets = Object.keys(PAGES).map((path) => spawn(f, base + path));
    await joinall(greenlets, { raiseError: true, timeout: 30 });
    const total = greenlets.reduce((sum, g) => sum + g.value, 0);
    const serial = Object.values(PAGES).reduce((sum, page) => sum + page.delayMs, 0);
    console.log(
      `${greenlets.length} pages, ${total} bytes in ${Date.now() - started} ms ` +
        `(one after another: at least ${serial} ms)`,
    );
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
