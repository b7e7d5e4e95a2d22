// The article's bank balance with two processes instead of two threads:
// each runs change_it(n) 100,000 times under lock.acquire()/release(), on a
// balance in shared memory (a forked child's ordinary variables are its own
// copies). The Lock and the RawValue are the same objects in both children,
// passed to them by handle; the total is exactly 0.
'use strict';
const { Process, Lock, RawValue } = require('forkful/multiprocessing');

const balance = new RawValue('i', 0);
const lock = new Lock();

function runProc(lock, balance, n) {
  function changeIt(n) {
    balance.value = balance.value + n;
    balance.value = balance.value - n;
  }
  for (let i = 0; i < 100000; i++) {
    lock.acquire();
    try {
      changeIt(n);
    } finally {
      lock.release();
    }
  }
  console.log(`Process ${process.pid} done.`);
}

async function main() {
  console.log(`Parent process ${process.pid}.`);
  const p1 = new Process({ target: runProc, args: [lock, balance, 5] });
  const p2 = new Process({ target: runProc, args: [lock, balance, 8] });
  p1.start();
  p2.start();
  await p1.join();
  await p2.join();
  console.log(balance.value);
}

main();
