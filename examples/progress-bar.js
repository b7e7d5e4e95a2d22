// A long map with a progress bar, Node-style: the pool's `progress`
// callback draws the bar, its events report the workers, Ctrl-C (or the
// 30 s limit) aborts the map through an AbortSignal, and stats() sums up.
//   node examples/progress-bar.js [items]
const { Pool } = require('forkful/multiprocessing');

/** A task of a few milliseconds: the sum of the first n square roots. */
function work(n) {
  let sum = 0;
  for (let i = 1; i <= n; i++) sum += Math.sqrt(i);
  return sum;
}

function bar(done, total, width = 30) {
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

async function main() {
  const items = Number(process.argv[2] ?? 400);
  const input = Array.from({ length: items }, (_, i) => 200000 + (i % 7) * 50000);
  const pool = new Pool(2);
  pool.on('workerCreate', (pid) => console.log(`worker ${pid} started`));
  pool.on('workerExit', (pid, code) => console.log(`worker ${pid} exited (${code})`));
  const stop = new AbortController();
  const onSigint = () => stop.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  const tty = process.stdout.isTTY;
  let last = -1;
  try {
    const sums = await pool.map(work, input, {
      chunksize: 4,
      signal: AbortSignal.any([stop.signal, AbortSignal.timeout(30000)]),
      progress: (done, total) => {
        const pct = Math.floor((done / total) * 10);
        // On a terminal the bar redraws in place; in a log, a line per 10%.
        if (tty) process.stdout.write(`\r${bar(done, total)}`);
        else if (pct !== last) console.log(bar(done, total));
        last = pct;
      },
    });
    if (tty) process.stdout.write('\n');
    console.log(`done: ${sums.length} sums`);
  } catch (err) {
    if (err.name !== 'AbortError') throw err;
    console.log(`\naborted (${err.cause?.message ?? err.cause}): the queued tasks were dropped`);
  } finally {
    process.off('SIGINT', onSigint);
  }
  const s = pool.stats();
  console.log(
    `tasks: ${s.completed} completed, ${s.failed} failed, ${s.cancelled} cancelled; ` +
      `run time p50 ${s.runTime.p50.toFixed(1)} ms, p99 ${s.runTime.p99.toFixed(1)} ms; ` +
      `utilisation ${(s.utilisation * 100).toFixed(0)}%`,
  );
  pool.close();
  await pool.join();
}

// Exported so the spawn start method finds work in its workers.
module.exports = { work };
if (require.main === module) main();
