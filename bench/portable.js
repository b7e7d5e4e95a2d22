#!/usr/bin/env node
// The portable backend (no addon) beside the native one, on this machine:
// Process start+join, Pipe round trips, Lock acquire/release (threading's
// and multiprocessing's), Pool map. Each figure runs in a fresh process per
// backend (FORKFUL_NO_NATIVE=1 forces the portable one), the two backends
// alternating for `rounds` rounds; the table gives the median.
//
//   node bench/portable.js [rounds=3]       # needs dist/ (npm run build:ts)
//   BENCH_ONLY='2 Threads' node bench/portable.js 3   # the figures whose name has it
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');

// Each figure: a self-contained async function run in the child; returns
// { value, unit } or { skipped: why }.
const figures = {
  'Process start+join (10 children, default start method)': async () => {
    const mp = require(path.join(dist, 'multiprocessing'));
    const t0 = performance.now();
    for (let k = 0; k < 10; k++) {
      const p = new mp.Process({ target: () => {} });
      p.start();
      await p.join();
      if (p.exitcode !== 0) throw new Error(`exit ${p.exitcode}`);
    }
    return { value: (performance.now() - t0) / 10, unit: `ms per child (${mp.getStartMethod()})` };
  },
  'Pipe round trips (small messages, to a child and back)': async () => {
    const mp = require(path.join(dist, 'multiprocessing'));
    const [a, b] = mp.Pipe();
    const p = new mp.Process({
      target: (conn) => {
        for (;;) {
          const m = conn.recvSync();
          if (m === null) break;
          conn.send(m);
        }
      },
      args: [b],
    });
    p.start();
    b.close();
    a.send(0);
    a.recvSync(); // the child is up
    const n = 2000;
    const t0 = performance.now();
    for (let k = 0; k < n; k++) {
      a.send({ k });
      a.recvSync();
    }
    const us = ((performance.now() - t0) * 1000) / n;
    a.send(null);
    await p.join();
    return { value: us, unit: 'µs per round trip' };
  },
  'threading.Lock acquire+release (uncontended)': async () => {
    const { Lock } = require(path.join(dist, 'threading'));
    const lock = new Lock();
    return pairs(lock, 1e6);
  },
  'multiprocessing.Lock acquire+release (uncontended)': async () => {
    const { Lock } = require(path.join(dist, 'multiprocessing'));
    const lock = new Lock();
    return pairs(lock, 20000);
  },
  // Once a child has had it, the Lock is hub-kept: without the addon each
  // acquire and release was a round trip to the hub; now the hub leases
  // it to the thread that uses it (lib/multiprocessing/portable/leases.ts).
  'multiprocessing.Lock acquire+release, hub-kept (a child had it), uncontended': async () => {
    const mp = require(path.join(dist, 'multiprocessing'));
    const lock = new mp.Lock();
    const p = new mp.Process({ target: (lock) => lock.acquire() && lock.release(), args: [lock] });
    p.start();
    await p.join();
    return pairs(lock, 20000);
  },
  // Python users take multiprocessing's Lock and Value in threads too.
  'multiprocessing.Lock acquire+release, 2 Threads': async () =>
    twoThreads(
      (lock) => {
        lock.acquire();
        lock.release();
      },
      (mp) => new mp.Lock(),
    ),
  'multiprocessing.Value += 1 under getLock(), 2 Threads': async () =>
    twoThreads(
      (v) => {
        const lock = v.getLock();
        lock.acquire();
        try {
          v.value += 1;
        } finally {
          lock.release();
        }
      },
      (mp) => mp.Value('i', 0),
      (v, total) => {
        if (v.value !== total) throw new Error(`lost updates: ${v.value} of ${total}`);
      },
    ),
  'Pool(2).map of 1000 small tasks': async () => {
    const mp = require(path.join(dist, 'multiprocessing'));
    let pool;
    try {
      pool = new mp.Pool(2);
    } catch (err) {
      return { skipped: `${err.name}: ${err.message.split('.')[0]}` };
    }
    const t0 = performance.now();
    const out = await pool.map(
      (x) => x * 2,
      Array.from({ length: 1000 }, (_, k) => k),
    );
    const ms = performance.now() - t0;
    if (out[999] !== 1998) throw new Error('wrong result');
    await pool.close();
    await pool.join();
    return { value: ms, unit: 'ms' };
  },
};

/** ops/s of `op(obj)` run `n` times by each of two Threads at once (from
 * the first start to the last end); `check(obj, total)` afterwards. */
/** Times n uncontended acquire + release pairs of `lock`. */
function pairs(lock, n) {
  const t0 = performance.now();
  for (let k = 0; k < n; k++) {
    lock.acquire();
    lock.release();
  }
  return { value: ((performance.now() - t0) * 1e6) / n, unit: 'ns per pair' };
}

async function twoThreads(op, make, check = () => {}) {
  const mp = require(path.join(dist, 'multiprocessing'));
  const { Thread } = require(path.join(dist, 'threading'));
  const obj = make(mp);
  const n = Number(process.env.BENCH_THREAD_OPS || 20000);
  const times = new Float64Array(new SharedArrayBuffer(32));
  const body = `(obj, n, times, slot) => {
    const op = ${op.toString()};
    times[slot] = performance.timeOrigin + performance.now();
    for (let k = 0; k < n; k++) op(obj);
    times[slot + 1] = performance.timeOrigin + performance.now();
  }`;
  const threads = [0, 2].map(
    (slot) => new Thread({ target: new Function(`return ${body}`)(), args: [obj, n, times, slot] }),
  );
  for (const t of threads) t.start();
  for (const t of threads) await t.join();
  check(obj, 2 * n);
  const ms = Math.max(times[1], times[3]) - Math.min(times[0], times[2]);
  return { value: (2 * n) / (ms / 1000), unit: 'ops/s' };
}

function runFigure(name, portable) {
  const r = spawnSync(process.execPath, [__filename, '--figure', name], {
    encoding: 'utf8',
    timeout: 300000,
    env: { ...process.env, FORKFUL_NO_NATIVE: portable ? '1' : '' },
  });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('FIGURE '));
  if (!line)
    return {
      skipped: `failed: ${(r.stderr || r.error || '').toString().trim().split('\n').pop()}`,
    };
  return JSON.parse(line.slice(7));
}

function median(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  const i = process.argv.indexOf('--figure');
  if (i >= 0) {
    const out = await figures[process.argv[i + 1]]();
    process.stdout.write(`FIGURE ${JSON.stringify(out)}\n`);
    process.exit(0);
  }
  const rounds = Number(process.argv[2] || 3);
  console.log(`forkful, native vs portable backend, Node ${process.version}, median of ${rounds}`);
  console.log('| figure | native | portable (FORKFUL_NO_NATIVE=1) |');
  console.log('| --- | --- | --- |');
  const only = process.env.BENCH_ONLY;
  for (const name of Object.keys(figures).filter((f) => !only || f.includes(only))) {
    const seen = { native: [], portable: [] };
    let unit = '';
    const skipped = {};
    for (let k = 0; k < rounds; k++) {
      for (const backend of ['native', 'portable']) {
        const r = runFigure(name, backend === 'portable');
        if (r.skipped) skipped[backend] = r.skipped;
        else {
          seen[backend].push(r.value);
          if (backend === 'native' || !unit) unit = r.unit;
          if (backend === 'portable') seen.portableUnit = r.unit;
        }
      }
    }
    const cell = (b) =>
      skipped[b]
        ? `— (${skipped[b]})`
        : `${median(seen[b]).toPrecision(3)} ${b === 'portable' ? seen.portableUnit : unit}`;
    console.log(`| ${name} | ${cell('native')} | ${cell('portable')} |`);
  }
}

main();
