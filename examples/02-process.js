// The article's first multiprocessing program: start one child process that
// runs run_proc('test'), wait for it.
const { Process } = require('forkful/multiprocessing');

// The code the child runs.
function run_proc(name) {
  console.log(`Run child process ${name} (${process.pid})...`);
}

async function main() {
  console.log(`Parent process ${process.pid}.`);
  const p = new Process({ target: run_proc, args: ['test'] });
  console.log('Process will start.');
  p.start();
  await p.join();
  console.log('Process end.');
}

main();
