// A forked pool worker runs code its parent never ran: the worker's loop,
// its result batching, the blocking task reader. V8 compiles a function on
// its first call, so each worker compiled ~30 of forkful's functions at its
// start (parse, compile, and the faults of V8's parser and compiler code
// pages, in every worker). Before its first fork worker the parent runs the
// loop once itself, over a pipe of its own holding two tasks and the exit
// message: the workers it forks then inherit that code compiled.
import { kBlockingReads, Pipe } from '../connection';
import { MODE_APPLY, MODE_MAP, MSG_EXIT, MSG_TASK, encodeFrame, packFrames } from './protocol';
import { workerLoop } from './worker-loop';

let warmed = false;

/** Runs the worker's loop once in this process (once per process). */
export function warmWorkerLoop(): void {
  if (warmed) return;
  warmed = true;
  const [tasksR, tasksW] = Pipe(false);
  const [resultsR, resultsW] = Pipe(false);
  try {
    tasksW.sendBytes(
      packFrames([
        encodeFrame([MSG_TASK, 1, 1, MODE_APPLY, [2]]),
        encodeFrame([MSG_TASK, 2, 1, MODE_MAP, [1, 2]]),
        encodeFrame([MSG_EXIT]),
      ]),
    );
    tasksR[kBlockingReads]();
    workerLoop({
      tasks: tasksR,
      results: resultsW,
      lookup: () => (x: number) => x * 2,
      progress: { value: 0 },
    });
  } catch {
    // Only a warm-up: a worker compiles what this did not.
  } finally {
    for (const c of [tasksR, tasksW, resultsR, resultsW]) c.close();
  }
}
