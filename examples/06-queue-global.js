// The article's Queue example 2: the queue is a global that the child's
// function uses directly. This relies on fork semantics (the child is a copy
// of the parent at start()), as in Python; with the spawn start method a
// function that uses the parent's globals cannot travel, and the child says so.
const multiprocessing = require('forkful/multiprocessing');

const q = new multiprocessing.Queue();

async function reader_proc() {
  console.log(await q.get());
}

async function main() {
  const reader = new multiprocessing.Process({ target: reader_proc });
  reader.start();
  await q.put(100);
  await reader.join();
}

main();
