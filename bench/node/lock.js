'use strict';
// Figure 4: lock acquire+release.
// params: { contender: 'forkful-lock'|'atomics'|'async-mutex', mode:
//   'uncontended'|'threads'|'processes', n }
// RESULT value = nanoseconds per acquire+release (contended: total time over
// both sides' operations, each side doing n lock/increment/unlock).
const { Worker, isMainThread, workerData, parentPort } = require('node:worker_threads');
const m = require('./measure');

// A plain futex-style lock on a SharedArrayBuffer (0 free, 1 held, 2 held
// with waiters): the Atomics floor for JS.
function atomicsLock(a) {
  let c = Atomics.compareExchange(a, 0, 0, 1);
  if (c !== 0) {
    if (c !== 2) c = Atomics.exchange(a, 0, 2);
    while (c !== 0) {
      Atomics.wait(a, 0, 2);
      c = Atomics.exchange(a, 0, 2);
    }
  }
}
function atomicsUnlock(a) {
  if (Atomics.sub(a, 0, 1) !== 1) {
    Atomics.store(a, 0, 0);
    Atomics.notify(a, 0, 1);
  }
}

// The loop every side runs: n lock / increment / unlock.
function spin(lock, counter, n) {
  for (let i = 0; i < n; i++) {
    lock.acquire();
    counter[1]++;
    lock.release();
  }
}

function atomicsHandle(sab) {
  const a = new Int32Array(sab);
  return { lock: { acquire: () => atomicsLock(a), release: () => atomicsUnlock(a) }, counter: a };
}

if (!isMainThread) {
  // The second thread: gets the same lock (Atomics: the buffer; forkful: by handle).
  const { contender, n, sab, lockBytes } = workerData;
  let lock;
  if (contender === 'atomics') {
    lock = atomicsHandle(sab).lock;
  } else {
    require('forkful/multiprocessing'); // registers Lock's reviver on this thread
    const { deserialize } = require('../../dist/transfer/serialize');
    lock = deserialize(Buffer.from(lockBytes));
  }
  const counter = new Int32Array(sab);
  parentPort.postMessage('ready');
  parentPort.once('message', () => {
    spin(lock, counter, n);
    parentPort.postMessage('done');
  });
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

async function main() {
  const { contender, mode, n = 1000000 } = m.params();
  const sab = new SharedArrayBuffer(8);
  const counter = new Int32Array(sab);
  let lock;
  let lockBytes;
  if (contender === 'async-mutex') {
    if (mode !== 'uncontended') {
      m.skip(
        'n/a: async-mutex orders async tasks inside one thread; no thread or process can share it',
      );
    }
    const { Mutex } = require('async-mutex');
    const mutex = new Mutex();
    for (let i = 0; i < 1000; i++) (await mutex.acquire())();
    const t0 = m.now();
    for (let i = 0; i < n; i++) {
      const release = await mutex.acquire();
      counter[1]++;
      release();
    }
    m.result({ value: ((m.now() - t0) * 1e6) / n });
    return;
  }
  if (contender === 'atomics') {
    if (mode === 'processes') {
      m.skip('n/a: a SharedArrayBuffer cannot be shared by two processes');
    }
    lock = atomicsHandle(sab).lock;
  } else {
    const Lock = m.forkfulExport('forkful/multiprocessing', 'Lock');
    lock = await m.orSkip('forkful Lock', () => {
      const l = new Lock();
      l.acquire();
      l.release();
      return l;
    });
    if (mode === 'threads') {
      const { serialize } = require('../../dist/transfer/serialize');
      lockBytes = await m.orSkip('sending a forkful Lock to a thread', () => serialize(lock));
    }
  }

  if (mode === 'uncontended') {
    spin(lock, counter, Math.min(n, 100000)); // warm-up (JIT)
    const t0 = m.now();
    spin(lock, counter, n);
    m.result({ value: ((m.now() - t0) * 1e6) / n });
    return;
  }
  if (mode === 'threads') {
    const w = new Worker(__filename, { workerData: { contender, n, sab, lockBytes } });
    const next = () =>
      m.within(
        60000,
        new Promise((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
        }),
        'the second thread',
      );
    await next(); // ready
    const done = next();
    const t0 = m.now();
    w.postMessage('go');
    spin(lock, counter, n);
    await done;
    const dt = m.now() - t0;
    await w.terminate();
    if (counter[1] !== 2 * n) {
      throw new Error(`lost updates: counter ${counter[1]}, expected ${2 * n}`);
    }
    m.result({ value: (dt * 1e6) / (2 * n) });
    return;
  }
  // processes: a forked child runs the same loop on the same lock.
  const os = require('forkful/os');
  const t0 = m.now();
  const pid = os.fork();
  if (pid === 0) {
    spin(lock, counter, n);
    os._exit(0);
  }
  spin(lock, counter, n);
  const [, status] = os.waitpid(pid, 0);
  const dt = m.now() - t0;
  if (status !== 0) throw new Error(`child status ${status}`);
  m.result({ value: (dt * 1e6) / (2 * n) });
}
