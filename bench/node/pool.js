'use strict';
// Figure 3: a pool of cpuCount workers running tiny tasks (x*x).
// params: { contender, mode: 'map-default' | 'map-chunk1' | 'apply', tasks, calls }
//   map-*: RESULT value = tasks per second for `tasks` tasks through map
//   apply: RESULT value = microseconds per apply round trip (sequential)
const path = require('node:path');
const os = require('node:os');
const m = require('./measure');

const { contender, mode, tasks = 100000, calls = 2000 } = m.params();
const workers = os.availableParallelism();
const items = Array.from({ length: tasks }, (_, i) => i);
const square = (x) => x * x;

async function openPool() {
  if (contender === 'forkful-pool') {
    const Pool = m.forkfulExport('forkful/multiprocessing', 'Pool');
    const pool = await m.orSkip('forkful Pool', () => new Pool(workers));
    const check = await m.orSkip('forkful Pool.map', () =>
      m.within(10000, m.settle(pool.map(square, [1, 2, 3])), 'Pool.map'),
    );
    if (String(check) !== '1,4,9') m.skip(`forkful Pool.map returned ${check}`);
    return {
      map: (xs, chunksize) => pool.map(square, xs, chunksize),
      apply: (x) => pool.apply(square, [x]),
      close: async () => {
        pool.close?.();
        await m.within(10000, m.settle(pool.join?.()), 'Pool.join()');
      },
    };
  }
  if (contender === 'piscina') {
    const { Piscina } = require('piscina');
    const pool = new Piscina({
      filename: path.join(__dirname, 'pool-task.js'),
      minThreads: workers,
      maxThreads: workers,
    });
    return {
      // piscina has no map and no chunking: every task is its own message.
      map: (xs) => Promise.all(xs.map((x) => pool.run(x))),
      apply: (x) => pool.run(x),
      close: () => pool.destroy(),
    };
  }
  if (contender === 'workerpool') {
    const workerpool = require('workerpool');
    const pool = workerpool.pool(path.join(__dirname, 'pool-task-wp.js'), {
      minWorkers: workers,
      maxWorkers: workers,
      workerType: 'thread',
    });
    return {
      // workerpool has no map and no chunking either.
      map: (xs) => Promise.all(xs.map((x) => pool.exec('square', [x]))),
      apply: (x) => pool.exec('square', [x]),
      close: () => pool.terminate(),
    };
  }
  throw new Error(`unknown contender ${contender}`);
}

(async () => {
  const pool = await openPool();
  const warm = await pool.map(items.slice(0, 2000), mode === 'map-chunk1' ? 1 : undefined);
  if (warm[1999] !== 1999 * 1999) throw new Error('wrong result');
  let value;
  if (mode === 'apply') {
    for (let i = 0; i < 200; i++) await pool.apply(i);
    const t0 = m.now();
    for (let i = 0; i < calls; i++) await pool.apply(i);
    value = ((m.now() - t0) / calls) * 1000;
  } else {
    const t0 = m.now();
    const out = await pool.map(items, mode === 'map-chunk1' ? 1 : undefined);
    value = tasks / ((m.now() - t0) / 1000);
    if (out.length !== tasks || out[tasks - 1] !== (tasks - 1) ** 2) throw new Error('wrong map');
  }
  await pool.close();
  m.result({ value });
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
