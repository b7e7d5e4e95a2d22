// The article's bank balance: two threads each run change_it(n) 100,000
// times, under lock.acquire()/release(). Without the lock the two threads'
// read-modify-write steps interleave and the balance drifts; with it the
// balance ends exactly where it started: 0.
// Python's `balance` is a global every thread shares; forkful Threads have
// their own isolates, so the balance is threading's shared RawValue, and it
// and the Lock travel to each thread by handle.
'use strict';
const { Thread, Lock, RawValue } = require('forkful/threading');

const balance = new RawValue('i', 0); // the bank's balance, in shared memory
const lock = new Lock();

function runThread(lock, balance, n) {
  // Self-contained: a thread's target is compiled again inside the thread.
  function changeIt(n) {
    // Deposit first, then withdraw: the result should always be 0.
    balance.value = balance.value + n;
    balance.value = balance.value - n;
  }
  for (let i = 0; i < 100000; i++) {
    // Take the lock first.
    lock.acquire();
    try {
      changeIt(n);
    } finally {
      // Always release it.
      lock.release();
    }
  }
}

async function main() {
  const t1 = new Thread({ target: runThread, args: [lock, balance, 5] });
  const t2 = new Thread({ target: runThread, args: [lock, balance, 8] });
  t1.start();
  t2.start();
  await t1.join();
  await t2.join();
  console.log(balance.value);
}

main();
