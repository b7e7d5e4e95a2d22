// The article's third Pool program: five long_time_task calls on Pool()
// (one worker per CPU); the parent waits for all of them with close/join.
const { Pool } = require('forkful/multiprocessing');
const os = require('forkful/os');

function sleep(seconds) {
  // time.sleep(): a worker blocks while it "works".
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
}

function longTimeTask(name) {
  console.log(`Run task ${name} (${os.getpid()})...`);
  const start = Date.now();
  sleep(Math.random() * 3);
  const end = Date.now();
  console.log(`Task ${name} runs ${((end - start) / 1000).toFixed(2)} seconds.`);
}

async function main() {
  console.log(`Parent process ${os.getpid()}.`);
  const p = new Pool();
  for (let i = 0; i < 5; i++) {
    p.applyAsync(longTimeTask, [i]);
  }
  console.log('Waiting for all subprocesses done...');
  p.close();
  await p.join();
  console.log('All subprocesses done.');
}

// Exported so the spawn start method finds longTimeTask in its workers.
module.exports = { longTimeTask };
if (require.main === module) main();
