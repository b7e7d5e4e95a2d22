// The article's first Pool program: apply_async(Pri, [i]) for i in range(10)
// on a pool of 5. Each task prints its square and the worker's pid.
const { Pool } = require('forkful/multiprocessing');
const os = require('forkful/os');

function Pri(x) {
  console.log(x * x);
  console.log(os.getpid());
}

async function main() {
  const p = new Pool(5);
  for (let i = 0; i < 10; i++) {
    p.applyAsync(Pri, [i]);
  }
  p.close();
  // The article stops at close(); join() waits for the tasks to print, so
  // the program does not end before its workers have run.
  await p.join();
}

// Exported so the spawn start method finds Pri in its workers.
module.exports = { Pri };
if (require.main === module) main();
