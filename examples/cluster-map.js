#!/usr/bin/env node
// The quick start of docs/cluster.md: a map over every `forkful worker` on
// the queue. Usage: node examples/cluster-map.js [redis://127.0.0.1:6379] [jobs]
// (Not part of `npm start`'s tour: it needs Redis and workers running.)
const { Pool } = require('forkful/cluster');

const [connection = 'redis://127.0.0.1:6379', name = 'jobs'] = process.argv.slice(2);

async function main() {
  const pool = new Pool({ connection, name });
  try {
    const xs = Array.from({ length: 10000 }, (_, i) => i);
    const t0 = Date.now();
    const squares = await pool.map((x) => x * x, xs);
    console.log(
      `${squares.length} squares, the last ${squares[squares.length - 1]}, ` +
        `in ${Date.now() - t0} ms`,
    );

    // Who ran them: a task runs in a worker's local pool, whose parent is
    // the `forkful worker` process.
    const hosts = await pool.map(() => `${require('node:os').hostname()}:${process.ppid}`, xs);
    const counts = {};
    for (const h of hosts) counts[h] = (counts[h] ?? 0) + 1;
    console.log('tasks per worker:', counts);

    console.log('apply: 2 + 3 =', await pool.apply((a, b) => a + b, [2, 3]));
  } finally {
    pool.close();
    await pool.join();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
