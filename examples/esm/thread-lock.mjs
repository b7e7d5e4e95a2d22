// 31-lock-data as an ES module: three threads take turns on one lock around
// a shared Value.
import { Thread, Lock } from 'forkful/threading';
import { Value } from 'forkful/multiprocessing';

const data = Value('i', 0, { lock: false });
const lock = new Lock();

// Runs in each thread (its own isolate): what it needs comes through args.
function add(data, lock) {
  lock.withLock(() => {
    data.value += 1;
  });
}

const threads = [1, 2, 3].map(() => new Thread({ target: add, args: [data, lock] }));
for (const t of threads) t.start();
for (const t of threads) await t.join();
console.log(`data = ${data.value}`);
