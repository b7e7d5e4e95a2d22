// The Windows smoke program: run by scripts/windows-smoke.js under the
// official node.exe (Wine here, Windows for real elsewhere). Each check
// asserts inside the process where its behaviour happens and prints
// `ok <name>`; the first failure prints `FAIL <name>: <why>` and ends the
// program with exit code 1. Every wait is bounded.
'use strict';
const assert = require('node:assert');
const path = require('node:path');
const dist = path.join(__dirname, '..', '..', 'dist');
const mp = require(path.join(dist, 'multiprocessing'));
const threading = require(path.join(dist, 'threading'));
const coroutine = require(path.join(dist, 'coroutine'));
const os = require(path.join(dist, 'os'));
const { NotSupportedError } = require(path.join(dist, 'core', 'errors'));

function bounded(promise, seconds, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what}: not done within ${seconds} s`)),
        seconds * 1000,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

const checks = {
  platform() {
    assert.strictEqual(process.platform, 'win32');
  },

  osForkRaises() {
    assert.throws(
      () => os.fork(),
      (err) => err instanceof NotSupportedError && /multiprocessing/.test(err.message),
    );
  },

  async process() {
    const p = new mp.Process({ target: (n) => process.exit(n), args: [3] });
    p.start();
    await bounded(p.join(), 60, 'Process.join');
    assert.strictEqual(p.exitcode, 3);
  },

  async pipe() {
    const [a, b] = mp.Pipe();
    a.send({ hello: [1, 2, 3] });
    assert.deepStrictEqual(b.recvSync(), { hello: [1, 2, 3] });
    const p = new mp.Process({
      target: (conn) => {
        const n = conn.recvSync();
        conn.send({ doubled: n * 2, platform: process.platform });
        conn.close();
      },
      args: [b],
    });
    p.start();
    b.close();
    a.send(21);
    assert.deepStrictEqual(await bounded(a.recv(), 60, 'recv from the child'), {
      doubled: 42,
      platform: 'win32',
    });
    await assert.rejects(bounded(a.recv(), 60, 'EOF from the child'), { name: 'EOFError' });
    await bounded(p.join(), 60, 'Process.join');
    assert.strictEqual(p.exitcode, 0);
  },

  joinSync() {
    // Without the addon a spawner thread starts and reaps the child, so a
    // blocked joinSync() learns of its exit.
    const p = new mp.Process({
      target: () => {
        process.exitCode = 3;
      },
    });
    p.start();
    p.joinSync(60);
    assert.strictEqual(p.exitcode, 3);
  },

  async conditionAcrossProcesses() {
    const cond = new mp.Condition();
    const ready = new mp.Event();
    const waiter = (cond, ready) => {
      cond.acquire();
      ready.set();
      const woken = cond.wait(60);
      cond.release();
      process.exitCode = woken ? 0 : 5;
    };
    const p = new mp.Process({ target: waiter, args: [cond, ready] });
    p.start();
    assert.strictEqual(await bounded(ready.waitAsync(60), 90, 'the waiter'), true);
    await bounded(cond.acquireAsync(), 60, 'Condition.acquireAsync');
    cond.notify();
    cond.release();
    await bounded(p.join(), 60, 'Process.join');
    assert.strictEqual(p.exitcode, 0);
  },

  async queue() {
    const q = new mp.Queue(4);
    const produce = (q) => {
      for (let k = 1; k <= 20; k++) q.putSync(k);
    };
    const p = new mp.Process({ target: produce, args: [q] });
    p.start();
    let sum = 0;
    for (let k = 0; k < 20; k++) sum += await bounded(q.get({ timeout: 60 }), 90, 'Queue.get');
    await bounded(p.join(), 60, 'Process.join');
    assert.strictEqual(sum, 210);
    assert.strictEqual(p.exitcode, 0);
    await assert.rejects(q.get({ timeout: 0.05 }), { name: 'Empty' });
  },

  async lockAcrossProcesses() {
    const lock = new mp.Lock();
    const log = new mp.Queue();
    const critical = async (lock, log, name) => {
      for (let k = 0; k < 3; k++) {
        await lock.acquireAsync();
        log.putSync(`${name}+`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        log.putSync(`${name}-`);
        lock.release();
      }
    };
    const ps = ['a', 'b'].map((n) => new mp.Process({ target: critical, args: [lock, log, n] }));
    ps.forEach((p) => p.start());
    for (const p of ps) await bounded(p.join(), 90, 'Process.join');
    const entries = [];
    while (!log.empty()) entries.push(log.getSync());
    assert.strictEqual(entries.length, 12);
    for (let k = 0; k < entries.length; k += 2) {
      assert.strictEqual(entries[k][0], entries[k + 1][0], `interleaved: ${entries.join(' ')}`);
    }
    // A holder that exits holding it: the next acquirer gets it.
    const holder = new mp.Process({
      target: (lock) => lock.acquire() && process.exit(0),
      args: [lock],
    });
    holder.start();
    await bounded(holder.join(), 60, 'Process.join');
    assert.strictEqual(lock.acquire({ timeout: 30 }), true);
    lock.release();
  },

  async pool() {
    const pool = new mp.Pool(2);
    try {
      const out = await bounded(
        pool.map((x) => x * x, [1, 2, 3, 4, 5, 6]),
        120,
        'Pool.map',
      );
      assert.deepStrictEqual(out, [1, 4, 9, 16, 25, 36]);
      const pids = new Set(
        await bounded(
          pool.map(() => process.pid, [1, 2, 3, 4]),
          60,
          'map',
        ),
      );
      assert.ok(!pids.has(process.pid), 'tasks ran in the workers');
    } finally {
      pool.terminate();
    }
  },

  async threadLockLocal() {
    const lock = new threading.Lock();
    const total = new mp.RawValue('i', 0);
    const work = (lock, total) => {
      const { local } = require('forkful/threading');
      const mine = new local();
      mine.count = 0;
      for (let k = 0; k < 2000; k++) {
        lock.acquire();
        total.value = total.value + 1;
        lock.release();
        mine.count++;
      }
      if (mine.count !== 2000) throw new Error(`local count ${mine.count}`);
    };
    const threads = [0, 1].map(() => new threading.Thread({ target: work, args: [lock, total] }));
    threads.forEach((t) => t.start());
    for (let k = 0; k < 2000; k++) {
      await lock.acquireAsync();
      total.value = total.value + 1;
      lock.release();
    }
    for (const t of threads) await bounded(t.join(), 60, 'Thread.join');
    assert.strictEqual(total.value, 6000);
    assert.strictEqual(lock.locked(), false);
  },

  async coroutines() {
    const seen = [];
    const g = [1, 2, 3].map((n) =>
      coroutine.spawn(async () => {
        await coroutine.sleep(0.01 * (4 - n));
        seen.push(n);
        return n * n;
      }),
    );
    await bounded(coroutine.joinall(g, { timeout: 30 }), 60, 'joinall');
    assert.deepStrictEqual(seen, [3, 2, 1]);
    assert.deepStrictEqual(
      g.map((x) => x.value),
      [1, 4, 9],
    );
  },
};

(async () => {
  const only = process.argv[2];
  for (const [name, check] of Object.entries(checks)) {
    if (only && only !== name) continue;
    try {
      await check();
      process.stdout.write(`ok ${name}\n`);
    } catch (err) {
      process.stdout.write(`FAIL ${name}: ${err && err.stack ? err.stack : String(err)}\n`);
      process.exit(1);
    }
  }
  process.stdout.write('smoke: all checks passed\n');
})();
