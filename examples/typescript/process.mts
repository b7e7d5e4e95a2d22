// 02-process in TypeScript: run with `node --import tsx` (any Node) or, on
// Node 23.6+, `node examples/typescript/process.mts` (type stripping).
import { Process } from 'forkful/multiprocessing';

// The code the child runs.
function run_proc(name: string): void {
  console.log(`Run child process ${name} (${process.pid})...`);
}

async function main(): Promise<void> {
  console.log(`Parent process ${process.pid}.`);
  const p = new Process({ target: run_proc, args: ['test'] });
  console.log('Process will start.');
  p.start();
  await p.join();
  console.log(`Process end (exit code ${p.exitcode}).`);
}

void main();
