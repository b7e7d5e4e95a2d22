'use strict';
// The cluster figure: tiny tasks (x*x) through forkful/cluster (two `forkful
// worker` processes of one process each), against the local Pool of two
// processes, and against raw BullMQ (two plain BullMQ workers, one job per
// task). Each sample starts its own redis-server on a free loopback port and
// its own workers, and kills them by pid at the end.
// params: { contender: 'forkful-cluster' | 'forkful-pool' | 'bullmq', mode: 'map' | 'apply', tasks, calls }
//   map:   RESULT value = tasks per second through one map of `tasks` tasks
//   apply: RESULT value = milliseconds per apply round trip (sequential)
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const m = require('./measure');

const { contender, mode, tasks = 10000, calls = 300 } = m.params();
const WORKERS = 2;
const square = (x) => x * x;
const items = Array.from({ length: tasks }, (_, i) => i);
const children = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `cmd`, resolves once its output matches `ready`. */
function start(cmd, args, ready, what) {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  return m.within(
    20000,
    new Promise((resolve, reject) => {
      const take = (d) => {
        out += d;
        if (ready.test(out)) resolve(proc);
      };
      proc.stdout.on('data', take);
      proc.stderr.on('data', take);
      proc.on('exit', (code) => reject(new Error(`${what} exited (${code}): ${out}`)));
    }),
    what,
  );
}

async function startRedis() {
  if (spawnSync('redis-server', ['--version']).status !== 0)
    m.skip('redis-server is not installed');
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forkful-bench-redis-'));
  await start(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--logfile', ''],
    /Ready to accept connections/,
    'redis-server',
  );
  return { port, dir };
}

function stopAll() {
  for (const proc of children) {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  }
}

async function open() {
  if (contender === 'forkful-pool') {
    const Pool = m.forkfulExport('forkful/multiprocessing', 'Pool');
    const pool = new Pool(WORKERS);
    return {
      map: (xs) => pool.map(square, xs),
      apply: (x) => pool.apply(square, [x]),
      close: async () => {
        pool.close();
        await pool.join();
      },
    };
  }
  const redis = await startRedis();
  const url = `redis://127.0.0.1:${redis.port}`;
  if (contender === 'forkful-cluster') {
    const cluster = m.tryRequire('forkful/cluster');
    if (cluster.__error) m.skip(`forkful/cluster does not load: ${cluster.__error.message}`);
    const cli = require
      .resolve('forkful/package.json')
      .replace('package.json', 'dist/cluster/cli.js');
    for (let i = 0; i < WORKERS; i++) {
      await start(
        process.execPath,
        [cli, 'worker', '--connection', url, '--name', 'bench', '--processes', '1'],
        / ready: queue /,
        'forkful worker',
      );
    }
    const pool = new cluster.Pool({ connection: url, name: 'bench' });
    return {
      map: (xs) => pool.map(square, xs),
      apply: (x) => pool.apply(square, [x]),
      close: async () => {
        pool.close();
        await pool.join();
      },
    };
  }
  if (contender === 'bullmq') {
    const bull = m.tryRequire('bullmq');
    if (bull.__error) m.skip('bullmq is not installed');
    for (let i = 0; i < WORKERS; i++) {
      await start(
        process.execPath,
        [path.join(__dirname, 'cluster-bullmq-worker.js'), String(redis.port), 'bench', '4'],
        /READY/,
        'BullMQ worker',
      );
    }
    const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
    // One job per task makes four events per task: the events stream must
    // hold a whole map's (BullMQ's default keeps 10,000 events, and a
    // completion trimmed before it is read would never be seen).
    const queue = new bull.Queue('bench', {
      connection,
      streams: { events: { maxLen: 8 * tasks + 10000 } },
    });
    const events = new bull.QueueEvents('bench', { connection });
    await events.waitUntilReady();
    const waiting = new Map();
    events.on('completed', ({ jobId, returnvalue }) => {
      const done = waiting.get(jobId);
      if (done) {
        waiting.delete(jobId);
        done(returnvalue);
      }
    });
    let n = 0;
    const submit = (xs) => {
      const jobs = xs.map((x) => ({ name: 'sq', data: { x }, opts: { jobId: `j${++n}` } }));
      const results = jobs.map((j) => new Promise((resolve) => waiting.set(j.opts.jobId, resolve)));
      const adds = [];
      for (let i = 0; i < jobs.length; i += 1000) adds.push(queue.addBulk(jobs.slice(i, i + 1000)));
      return Promise.all(adds).then(() => Promise.all(results));
    };
    return {
      map: (xs) => submit(xs),
      apply: (x) => submit([x]).then((r) => r[0]),
      close: async () => {
        await events.close();
        await queue.close();
      },
    };
  }
  throw new Error(`unknown contender ${contender}`);
}

(async () => {
  const pool = await open();
  const warm = await m.within(60000, pool.map(items.slice(0, 1000)), 'warm-up map');
  if (warm[999] !== 999 * 999) throw new Error('wrong warm-up result');
  let value;
  if (mode === 'apply') {
    for (let i = 0; i < 20; i++) await pool.apply(i);
    const t0 = m.now();
    for (let i = 0; i < calls; i++) {
      if ((await pool.apply(i)) !== i * i) throw new Error('wrong apply');
    }
    value = (m.now() - t0) / calls;
  } else {
    const t0 = m.now();
    const out = await m.within(120000, pool.map(items), 'map');
    value = tasks / ((m.now() - t0) / 1000);
    if (out.length !== tasks || out[tasks - 1] !== (tasks - 1) ** 2) throw new Error('wrong map');
  }
  await m.within(20000, pool.close(), 'close');
  stopAll();
  m.result({ value });
})().catch((err) => {
  stopAll();
  console.error(err);
  process.exit(1);
});
