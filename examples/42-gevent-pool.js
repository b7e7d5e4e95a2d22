// The article's gevent Pool: p = Pool(number) caps how many greenlets run at
// once; p.spawn(function, parament) queues the rest; p.join() waits for all.
'use strict';
const { Pool, sleep } = require('forkful/coroutine');

let running = 0;

async function download(name, seconds) {
  running += 1;
  console.log(`start ${name} (running: ${running})`);
  await sleep(seconds); // stands for the I/O wait
  running -= 1;
  console.log(`done  ${name}`);
  return `${name}.html`;
}

async function main() {
  const p = new Pool(2);
  for (const [name, seconds] of [
    ['page-1', 0.2],
    ['page-2', 0.1],
    ['page-3', 0.1],
    ['page-4', 0.2],
    ['page-5', 0.1],
  ]) {
    p.spawn(download, name, seconds);
  }
  console.log(`spawned 5, running ${running}, free slots ${p.freeCount()}`);
  await p.join();
  console.log('all done');

  // Pool.map keeps the input order, still at most 2 at a time.
  const pages = await p.map((n) => download(`map-${n}`, 0.05), [1, 2, 3]);
  console.log(pages.join(' '));
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
