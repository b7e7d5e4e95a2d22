// 02-process as an ES module: top-level await, named imports.
import { Process } from 'forkful/multiprocessing';

// The code the child runs.
function run_proc(name) {
  console.log(`Run child process ${name} (${process.pid})...`);
}

console.log(`Parent process ${process.pid}.`);
const p = new Process({ target: run_proc, args: ['test'] });
console.log('Process will start.');
p.start();
await p.join();
console.log('Process end.');
