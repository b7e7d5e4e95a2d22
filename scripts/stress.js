#!/usr/bin/env node
// npm run stress [-- --short] [-- --only name,name]
// forkful's stress and fault suite (issue 14). Every scenario runs in a
// supervised child process of its own (a bound on its time, SIGKILL past
// it, its stray processes counted and killed), prints one figure, and passes
// or fails. --short is the bounded form CI runs (about a minute on 2 cores);
// the full form is for the release note. Exit status 1 on any failure.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const SHORT = process.argv.includes('--short');
const onlyAt = process.argv.indexOf('--only');
const ONLY = onlyAt > 0 ? process.argv[onlyAt + 1].split(',') : null;
const scenarioAt = process.argv.indexOf('--scenario');

// ---- helpers run inside a scenario's child ---------------------------------

function fdCount() {
  return fs.readdirSync('/proc/self/fd').length;
}

function rssMb() {
  return Math.round((process.memoryUsage().rss / 1048576) * 10) / 10;
}

/** Processes whose parent is `pid`, with their state letter. */
function childrenOf(pid) {
  const out = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(f[1]) === pid) out.push({ pid: Number(name), state: f[0] });
  }
  return out;
}

function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const tick = () => new Promise((r) => setImmediate(r));

/** Counts, fds, zombies and RSS around `n` cycles of `cycle`. */
async function cycles(n, cycle) {
  await cycle(0); // warm-up: first-use costs (arena, compiled code) are not leaks
  const fd0 = fdCount();
  const rss0 = rssMb();
  const t0 = Date.now();
  for (let i = 1; i <= n; i++) await cycle(i);
  for (let i = 0; i < 20 && childrenOf(process.pid).length > 0; i++) await tick();
  const children = childrenOf(process.pid);
  const figure = {
    cycles: n,
    seconds: (Date.now() - t0) / 1000,
    fdGrowth: fdCount() - fd0,
    zombies: children.filter((c) => c.state === 'Z').length,
    children: children.length,
    rssMb: [rss0, rssMb()],
  };
  const ok = figure.fdGrowth <= 0 && figure.zombies === 0 && figure.children === 0;
  return { ok, figure };
}

// ---- scenarios --------------------------------------------------------------
// Each returns { ok, figure }. `n` scales with --short.

const scenarios = {
  async processCycles(n) {
    const mp = require('forkful/multiprocessing');
    return cycles(n, async (i) => {
      const p = new mp.Process({ target: (x) => process.exit(x % 2), args: [i] });
      p.start();
      if (i % 2) p.joinSync(10);
      else await p.join(10);
      if (p.exitcode !== i % 2) throw new Error(`cycle ${i}: exitcode ${p.exitcode}`);
      p.close();
    });
  },

  async poolCycles(n) {
    const mp = require('forkful/multiprocessing');
    return cycles(n, async (i) => {
      const pool = new mp.Pool(2);
      const out = await pool.map((x) => x * 2, [1, 2, 3, i]);
      if (out[3] !== i * 2) throw new Error(`cycle ${i}: ${out}`);
      pool.close();
      await pool.join();
    });
  },

  async pipeCycles(n) {
    const mp = require('forkful/multiprocessing');
    return cycles(n, async (i) => {
      const [a, b] = mp.Pipe();
      a.send({ i, list: [i, 'x'] });
      const got = await b.recv();
      if (got.i !== i) throw new Error(`cycle ${i}: ${JSON.stringify(got)}`);
      a.close();
      b.close();
    });
  },

  // Also the arena and the JS heap: close() gives all of a queue's blocks
  // back at once (no other process holds them), so this loop, which never
  // yields to the event loop (no FinalizationRegistry callback runs), leaves
  // neither blocks (they grew by 2 a cycle until issue 14 item 11's fix)
  // nor registry cells behind: the heap after full collections
  // (heapAfterGcMb; --expose-gc) stays where it was.
  async queueCycles(n) {
    const mp = require('forkful/multiprocessing');
    const { arenaInfo } = require('../dist/synchronize/arena');
    new mp.Lock();
    const live0 = arenaInfo().live;
    const heapMb = () => {
      global.gc?.();
      global.gc?.();
      return Math.round(process.memoryUsage().heapUsed / 2 ** 20);
    };
    const heap0 = heapMb();
    const r = await cycles(n, async (i) => {
      const q = new mp.Queue();
      await q.put(i);
      const got = await q.get({ timeout: 10 });
      if (got !== i) throw new Error(`cycle ${i}: ${got}`);
      q.close();
      await q.joinThread();
    });
    r.figure.arenaLiveGrowth = arenaInfo().live - live0;
    if (global.gc) r.figure.heapAfterGcMb = [heap0, heapMb()];
    r.ok = r.ok && r.figure.arenaLiveGrowth <= 4;
    return r;
  },

  // SIGKILL of a Queue reader in the middle of an 8 MiB item, at a varying
  // moment: the next get() (timeout 3 s) reports the item lost
  // (ItemLostError) or returns an item, never garbage and never past its
  // bound; the items after it arrive intact.
  async queueReaderKill(n) {
    const mp = require('forkful/multiprocessing');
    const { ItemLostError, Empty } = require('forkful');
    const { native } = require('../dist/core/native');
    const q = new mp.Queue();
    const big = Buffer.alloc(8 << 20, 7);
    const outcome = { lost: 0, gotBig: 0, empty: 0, wrong: 0, overBound: 0 };
    for (let round = 0; round < n; round++) {
      const ready = new mp.Event();
      const reader = new mp.Process({
        target: () => {
          ready.set();
          q.getSync();
        },
      });
      reader.start();
      if (!ready.wait(30)) throw new Error('the reader did not start');
      q.putSync(big); // the first part goes now; the rest as this loop turns
      await q.put(`after-${round}`);
      // Killed at a varying moment: on even rounds while it streams the
      // item as the feeder writes it (often inside read(2)), on odd rounds
      // once it has drained the pipe and waits for the rest. (FIONREAD, not
      // q.empty(): that writes the rest this thread holds for the queue.)
      const drained = () => native.pipeBytes(q._ch.reader.fileno()) === 0;
      if (round % 2) for (let i = 0; i < 600 && !drained(); i++) sleepMs(10);
      sleepMs((round >> 1) % 10);
      reader.kill();
      await reader.join(10);
      for (;;) {
        const t0 = Date.now();
        let v;
        try {
          v = await q.get({ timeout: 3 });
        } catch (err) {
          if (Date.now() - t0 > 5000) outcome.overBound++;
          if (err instanceof ItemLostError) outcome.lost++;
          else if (err instanceof Empty) outcome.empty++;
          else throw err;
          if (err instanceof Empty) break;
          continue;
        }
        if (Date.now() - t0 > 5000) outcome.overBound++;
        if (Buffer.isBuffer(v) && v.equals(big)) outcome.gotBig++;
        else if (v === `after-${round}`) break;
        else {
          outcome.wrong++;
          break;
        }
      }
    }
    q.close();
    await q.joinThread();
    return {
      ok: outcome.wrong === 0 && outcome.overBound === 0 && outcome.empty === 0,
      figure: { rounds: n, ...outcome },
    };
  },

  // fd exhaustion under `ulimit -n 64`: Pipes, Queues and Processes until
  // the fds run out must fail with OSError EMFILE (no crash); once they are
  // closed, everything works again.
  async fdLimit() {
    const program = `
      const mp = require('forkful/multiprocessing');
      (async () => {
        const held = [];
        let error = null;
        try {
          for (let i = 0; i < 200; i++) {
            held.push(...mp.Pipe());
            held.push(new mp.Queue());
          }
        } catch (err) {
          error = { name: err.name, code: err.code };
        }
        const made = held.length;
        for (const h of held) h.close();
        await new Promise((r) => setImmediate(r));
        const q = new mp.Queue();
        await q.put('again');
        const again = await q.get({ timeout: 10 });
        const p = new mp.Process({ target: () => process.exit(7) });
        p.start();
        await p.join(10);
        q.close();
        console.log(JSON.stringify({ made, error, again, exitcode: p.exitcode }));
      })().catch((err) => console.log(JSON.stringify({ fatal: err.name + ': ' + err.message })));`;
    const r = spawnSync(
      'sh',
      ['-c', 'ulimit -n 64 && exec "$0" -e "$1"', process.execPath, program],
      {
        encoding: 'utf8',
        timeout: 60000,
        killSignal: 'SIGKILL',
        cwd: path.join(__dirname, '..'),
      },
    );
    let figure;
    try {
      figure = JSON.parse(r.stdout.trim().split('\n').pop());
    } catch {
      figure = { ended: r.signal ?? r.status, stderr: (r.stderr || '').slice(-1000) };
    }
    const ok =
      figure.error?.name === 'OSError' &&
      figure.error?.code === 'EMFILE' &&
      figure.again === 'again' &&
      figure.exitcode === 7;
    return { ok, figure };
  },

  // SIGKILL of a pool worker: with tiny tasks queued behind a long one, and
  // while tiny tasks stream. Nothing lost but what ran; nothing twice.
  async poolWorkerKill(n) {
    const mp = require('forkful/multiprocessing');
    const { WorkerLostError } = require('forkful');
    const pool = new mp.Pool(2);
    let lost = 0;
    let done = 0;
    let wrong = 0;
    for (let round = 0; round < n; round++) {
      const running = new mp.RawValue('i', 0);
      const long = pool.apply(() => {
        running.value = process.pid;
        sleepMs(10000);
      });
      const tiny = [];
      for (let i = 0; i < 200; i++) tiny.push(pool.apply((x) => x * 3, [i]));
      for (let w = 0; running.value === 0 && w < 1000; w++)
        await new Promise((r) => setTimeout(r, 10));
      process.kill(running.value, 'SIGKILL');
      const settled = await Promise.allSettled([long, ...tiny]);
      if (!(settled[0].status === 'rejected' && settled[0].reason instanceof WorkerLostError))
        wrong++;
      settled.slice(1).forEach((s, i) => {
        if (s.status === 'fulfilled' && s.value === i * 3) done++;
        else if (s.status === 'rejected' && s.reason instanceof WorkerLostError) lost++;
        else wrong++;
      });
    }
    pool.close();
    await pool.join();
    return {
      ok: wrong === 0 && lost === 0,
      figure: { rounds: n, tinyDone: done, tinyLost: lost, wrong },
    };
  },

  // SIGKILL of a lock holder, for each primitive that has an owner: the
  // next acquire gets it (the owner's death is detected), timed.
  async lockHolderKill(n) {
    const mp = require('forkful/multiprocessing');
    const figure = {};
    let ok = true;
    for (const [name, make] of [
      ['Lock', () => new mp.Lock()],
      ['RLock', () => new mp.RLock()],
      ['Condition', () => new mp.Condition()],
    ]) {
      const ms = [];
      for (let i = 0; i < n; i++) {
        const lock = make();
        const held = new mp.Event();
        const p = new mp.Process({
          target: () => {
            lock.acquire();
            held.set();
            sleepMs(60000);
          },
        });
        p.start();
        if (!held.wait(10)) throw new Error(`${name}: the child never took the lock`);
        p.kill();
        const t0 = process.hrtime.bigint();
        const got = lock.acquire(true, 10);
        ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (!got) ok = false;
        else lock.release();
        await p.join(10);
      }
      ms.sort((a, b) => a - b);
      figure[name] = {
        recoveredMsMedian: Math.round(ms[ms.length >> 1] * 10) / 10,
        maxMs: Math.round(ms[ms.length - 1]),
      };
    }
    return { ok, figure };
  },

  // Cyclic values arrive whole; values that cannot travel are a
  // SerializationError at the sender, and the channel goes on.
  async valuesThroughChannels() {
    const mp = require('forkful/multiprocessing');
    const { Thread } = require('forkful/threading');
    const { SerializationError } = require('forkful');
    const cyclic = () => {
      const v = { list: [1] };
      v.self = v;
      v.list.push(v.list);
      v.lock = lock;
      return v;
    };
    const lock = new mp.Lock();
    const good = (v) => v && v.self === v && v.list[1] === v.list && v.lock instanceof mp.Lock;
    const results = {};
    const [a, b] = mp.Pipe();
    a.send(cyclic());
    results.pipeCyclic = good(await b.recv());
    try {
      a.send({ f: () => 1 });
      results.pipeFunction = 'sent';
    } catch (err) {
      results.pipeFunction = err instanceof SerializationError;
    }
    a.send('after');
    results.pipeAfter = (await b.recv()) === 'after';
    a.close();
    b.close();
    const q = new mp.Queue();
    await q.put(cyclic());
    results.queueCyclic = good(await q.get({ timeout: 10 }));
    try {
      await q.put(Symbol('x'));
      results.queueSymbol = 'sent';
    } catch (err) {
      results.queueSymbol = err instanceof SerializationError;
    }
    await q.put('after');
    results.queueAfter = (await q.get({ timeout: 10 })) === 'after';
    q.close();
    const pool = new mp.Pool(1);
    results.poolCyclic = good(await pool.apply((v) => v, [cyclic()]));
    results.poolArgFunction = await pool
      .apply((v) => v, [{ f() {} }])
      .then(
        () => 'sent',
        (err) => err instanceof SerializationError,
      );
    results.poolResultFunction = await pool
      .apply(() => () => 1)
      .then(
        () => 'sent',
        (err) => err instanceof SerializationError,
      );
    results.poolAfter = (await pool.apply((x) => x + 1, [1])) === 2;
    pool.close();
    await pool.join();
    const cells = new Int32Array(new SharedArrayBuffer(4));
    const t = new Thread({
      target: (c, v) => {
        c[0] = v && v.self === v && v.list[1] === v.list ? 1 : 2;
      },
      args: [
        cells,
        (() => {
          const v = { list: [1] };
          v.self = v;
          v.list.push(v.list);
          return v;
        })(),
      ],
    });
    t.start();
    await t.join(10);
    results.threadCyclic = cells[0] === 1;
    return { ok: Object.values(results).every((v) => v === true), figure: results };
  },

  // Arena churn: shared objects made and dropped; the arena must not fill
  // while the program holds almost nothing.
  async arenaChurn(n) {
    const mp = require('forkful/multiprocessing');
    let failedAt = null;
    let error = null;
    const t0 = Date.now();
    for (let i = 0; i < n && failedAt === null; i++) {
      try {
        const q = new mp.Queue();
        q.close();
        new mp.Lock();
        if (i % 100 === 0) await tick();
      } catch (err) {
        failedAt = i;
        error = `${err.name}: ${err.message.slice(0, 80)}`;
      }
    }
    return {
      ok: failedAt === null,
      figure: { created: n, failedAt, error, seconds: (Date.now() - t0) / 1000 },
    };
  },

  // Parent death: a daemon child dies with its parent; a non-daemon child
  // of a parent killed by SIGKILL is orphaned and must still end on its own.
  async parentDeath() {
    const script = `
      const mp = require('forkful/multiprocessing');
      const d = new mp.Process({ target: () => setInterval(() => {}, 1000), daemon: true });
      d.start();
      const n = new mp.Process({ target: () => setTimeout(() => {}, 1500) });
      n.start();
      console.log(JSON.stringify([d.pid, n.pid]));
      setInterval(() => {}, 1000);`;
    const { spawn } = require('node:child_process');
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise((resolve) =>
      child.stdout.once('data', (d) => resolve(String(d))),
    );
    const [daemon, nonDaemon] = JSON.parse(line);
    child.kill('SIGKILL');
    const alive = (pid) => {
      try {
        process.kill(pid, 0);
        return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
      } catch {
        return false;
      }
    };
    const t0 = Date.now();
    while (alive(daemon) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    const daemonGoneMs = Date.now() - t0;
    while (alive(nonDaemon) && Date.now() - t0 < 10000) await new Promise((r) => setTimeout(r, 50));
    const nonDaemonGoneMs = Date.now() - t0;
    const ok = !alive(daemon) && !alive(nonDaemon);
    for (const pid of [daemon, nonDaemon]) if (alive(pid)) process.kill(pid, 'SIGKILL');
    return { ok, figure: { daemonGoneMs, nonDaemonGoneMs } };
  },

  // Bad input: every entry runs in a child of its own; each must end with a
  // typed error (no crash, no hang, no silent success).
  async badInput() {
    const entries = [
      ['os.waitpid(NaN)', "require('forkful/os').waitpid(NaN, 0)"],
      ['os.waitpid(-1e300)', "require('forkful/os').waitpid(-1e300, 0)"],
      ['os.kill(1e12, 0)', "require('forkful/os').kill(1e12, 0)"],
      ['os.kill(1, "NOPE")', "require('forkful/os').kill(1, 'NOPE')"],
      ["os._exit('abc')", "require('forkful/os')._exit('abc')"],
      ['os.read(-1, 5)', "require('forkful/os').read(-1, 5)"],
      ['os.read(0, -5)', "require('forkful/os').read(0, -5)"],
      ['os.close(NaN)', "require('forkful/os').close(NaN)"],
      ["os.onChildExit(1, 'x')", "require('forkful/os').onChildExit(1, 'x')"],
      ['os.onChildExit(1, fn)', "require('forkful/os').onChildExit(1, () => {})"],
      ['os.waitstatusToExitcode(1.5)', "require('forkful/os').waitstatusToExitcode(1.5)"],
      [
        'Pipe recvBytes(-5)',
        "const [a,b]=require('forkful/multiprocessing').Pipe(); a.sendBytes(Buffer.from('x')); b.recvBytesSync(-5)",
      ],
      [
        'Pipe recvBytes(NaN)',
        "const [a,b]=require('forkful/multiprocessing').Pipe(); a.sendBytes(Buffer.from('x')); b.recvBytesSync(NaN)",
      ],
      [
        'Pipe send on closed',
        "const [a]=require('forkful/multiprocessing').Pipe(); a.close(); a.send(1)",
      ],
      ['Pipe recv timeout NaN', "const [a]=require('forkful/multiprocessing').Pipe(); a.poll(NaN)"],
      [
        'recvBytesInto(buf, -1)',
        "const [a,b]=require('forkful/multiprocessing').Pipe(); a.sendBytes(Buffer.from('x')); b.recvBytesIntoSync(Buffer.alloc(4), -1)",
      ],
      ['Queue(NaN)', "new (require('forkful/multiprocessing').Queue)(NaN)"],
      [
        'Queue.get timeout -1',
        "new (require('forkful/multiprocessing').Queue)().getSync({ timeout: -1 })",
      ],
      [
        'Queue put after close',
        "const q = new (require('forkful/multiprocessing').Queue)(); q.close(); q.putSync(1)",
      ],
      ['Lock.release unheld', "new (require('forkful/multiprocessing').Lock)().release()"],
      [
        'Lock.acquire timeout NaN',
        "new (require('forkful/multiprocessing').Lock)().acquire(true, NaN)",
      ],
      ['Semaphore(-1)', "new (require('forkful/multiprocessing').Semaphore)(-1)"],
      ['Semaphore(1e12)', "new (require('forkful/multiprocessing').Semaphore)(1e12)"],
      ['Barrier(0)', "new (require('forkful/multiprocessing').Barrier)(0)"],
      ["Value('q?', 1)", "require('forkful/multiprocessing').Value('q?', 1)"],
      ["Array('i', -3)", "require('forkful/multiprocessing').Array('i', -3)"],
      ["Array('i', 1e12)", "require('forkful/multiprocessing').Array('i', 1e12)"],
      ['Pool(0)', "new (require('forkful/multiprocessing').Pool)(0)"],
      ['Pool(NaN)', "new (require('forkful/multiprocessing').Pool)(NaN)"],
      [
        'Pool.map chunksize 0',
        "new (require('forkful/multiprocessing').Pool)(1).map((x) => x, [1], 0)",
      ],
      ['Pool.apply not fn', "new (require('forkful/multiprocessing').Pool)(1).apply(5)"],
      [
        'Pool after close',
        "const p = new (require('forkful/multiprocessing').Pool)(1); p.close(); p.apply(() => 1)",
      ],
      [
        'Process target not fn',
        "new (require('forkful/multiprocessing').Process)({ target: 5 }).start()",
      ],
      [
        'Process start twice',
        "const p = new (require('forkful/multiprocessing').Process)({ target: () => {} }); p.start(); p.start()",
      ],
      [
        'Process join before start',
        "new (require('forkful/multiprocessing').Process)({ target: () => {} }).joinSync()",
      ],
      [
        'Process join(NaN)',
        "const p = new (require('forkful/multiprocessing').Process)({ target: () => {} }); p.start(); p.joinSync(NaN)",
      ],
      ['Thread target not fn', "new (require('forkful/threading').Thread)({ target: 5 }).start()"],
      [
        'Thread join before start',
        "new (require('forkful/threading').Thread)({ target: () => {} }).joinSync()",
      ],
      ['Event.wait(NaN)', "new (require('forkful/multiprocessing').Event)().wait(NaN)"],
    ];
    const table = [];
    let ok = true;
    for (const [name, code] of entries) {
      const wrapped = `
        Promise.resolve().then(() => { ${code}; }).then(
          (v) => { console.log(JSON.stringify({ outcome: 'returned' })); process.exit(0); },
          (e) => { console.log(JSON.stringify({ outcome: 'threw', name: e && e.name, code: e && e.code })); process.exit(0); });`;
      const r = spawnSync(process.execPath, ['-e', wrapped], {
        encoding: 'utf8',
        timeout: 15000,
        killSignal: 'SIGKILL',
      });
      let row;
      try {
        row = JSON.parse(r.stdout.trim().split('\n').pop());
      } catch {
        row = { outcome: r.signal ? `killed by ${r.signal}` : `exit ${r.status}` };
      }
      const typed = row.outcome === 'threw' && typeof row.name === 'string' && row.name !== 'Error';
      if (!typed) ok = false;
      table.push({ input: name, ...row, ok: typed });
    }
    return { ok, figure: { entries: table.length, failed: table.filter((t) => !t.ok) } };
  },
};

// ---- the supervisor -----------------------------------------------------------

const PLAN = [
  ['processCycles', SHORT ? 100 : 2000, 600],
  ['poolCycles', SHORT ? 20 : 500, 900],
  ['pipeCycles', SHORT ? 200 : 5000, 300],
  ['queueCycles', SHORT ? 100 : 2000, 600],
  ['queueReaderKill', SHORT ? 5 : 40, 600],
  ['fdLimit', 1, 120],
  ['poolWorkerKill', SHORT ? 2 : 20, 300],
  ['lockHolderKill', SHORT ? 2 : 10, 300],
  ['valuesThroughChannels', 1, 120],
  ['arenaChurn', SHORT ? 2000 : 50000, 300],
  ['parentDeath', 1, 60],
  ['badInput', 1, 600],
];

async function runScenario(name, n) {
  const result = await scenarios[name](n);
  process.stdout.write(`STRESS ${JSON.stringify(result)}\n`);
  process.exit(0);
}

function supervise() {
  const rows = [];
  let failed = 0;
  for (const [name, n, limitS] of PLAN) {
    if (ONLY && !ONLY.includes(name)) continue;
    const t0 = Date.now();
    // --expose-gc: scenarios may report the heap after full collections.
    const r = spawnSync(
      process.execPath,
      ['--expose-gc', __filename, '--scenario', name, String(n)],
      {
        encoding: 'utf8',
        timeout: limitS * 1000,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        cwd: path.join(__dirname, '..'),
      },
    );
    const line = (r.stdout || '').split('\n').find((l) => l.startsWith('STRESS '));
    let result;
    if (line) result = JSON.parse(line.slice(7));
    else {
      const why =
        r.error && r.error.code === 'ETIMEDOUT'
          ? `hung past ${limitS} s`
          : `ended with ${r.signal ?? r.status}`;
      result = { ok: false, figure: { error: why, stderr: (r.stderr || '').slice(-2000) } };
    }
    if (!result.ok) failed++;
    const row = {
      scenario: name,
      n,
      ok: result.ok,
      seconds: (Date.now() - t0) / 1000,
      ...result.figure,
    };
    rows.push(row);
    process.stdout.write(
      `${result.ok ? 'ok  ' : 'FAIL'} ${name} ${JSON.stringify(result.figure)}\n`,
    );
  }
  process.stdout.write(
    `\n${rows.length - failed} of ${rows.length} scenarios passed (${SHORT ? 'short' : 'full'} form)\n`,
  );
  process.exit(failed === 0 ? 0 : 1);
}

if (scenarioAt > 0) {
  runScenario(process.argv[scenarioAt + 1], Number(process.argv[scenarioAt + 2])).catch((err) => {
    process.stdout.write(
      `STRESS ${JSON.stringify({ ok: false, figure: { error: `${err.name}: ${err.message}`, stack: err.stack } })}\n`,
    );
    process.exit(1);
  });
} else {
  supervise();
}
