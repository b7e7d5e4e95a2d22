// threading.Lock: three threads take turns on one lock around shared data.
// Python's `data` is a global every thread shares; forkful Threads have their
// own isolates, so `data` is a shared Value and the Lock travels by handle:
// both are the same objects in every thread. The article sleeps 2 s while
// holding the lock; this tour sleeps 0.2 s (pass --slow for the article's 2 s).
'use strict';
const { Thread, Lock } = require('forkful/threading');
const { Value } = require('forkful/multiprocessing');

const SLEEP_SECONDS = process.argv.includes('--slow') ? 2 : 0.2;

const data = Value('i', 0, { lock: false });
const lock = new Lock();

function func(data, lock, sleepSeconds) {
  const { currentThread } = require('forkful/threading');
  const name = currentThread().getName();
  console.log(`${name} acquire lock...`);
  // acquire() blocks this thread until it holds the lock (or until the
  // optional timeout); it returns whether it got the lock.
  if (lock.acquire()) {
    console.log(`${name} get the lock.`);
    data.value += 1;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, sleepSeconds * 1000); // time.sleep
    console.log(`${name} release lock...`);
    // release() frees the lock for the next thread.
    lock.release();
  }
}

async function main() {
  const threads = [1, 2, 3].map(
    () => new Thread({ target: func, args: [data, lock, SLEEP_SECONDS] }),
  );
  for (const t of threads) t.start();
  for (const t of threads) await t.join();
  console.log(`data = ${data.value}`);
}

main();
