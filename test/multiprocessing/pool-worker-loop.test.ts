// A pool worker's loop (lib/multiprocessing/pool/worker-loop.ts), run in this
// process over pipes of its own: results of small, quick tasks that arrived
// together wait for each other (one write, one wake-up of the pool), but a
// large chunk's result goes at once, before the next chunk runs: the pool
// sends that worker its next chunk and takes these values in meanwhile.
import { Pipe } from '../../lib/multiprocessing';
import type { Connection } from '../../lib/multiprocessing/connection';
import {
  MODE_APPLY,
  MODE_MAP,
  MSG_EXIT,
  MSG_RESULT,
  MSG_RESULTS,
  MSG_TASK,
  encodeFrame,
  packFrames,
} from '../../lib/multiprocessing/pool/protocol';
import { workerLoop, type AnyFunction } from '../../lib/multiprocessing/pool/worker-loop';
import { decodeMessage } from '../../lib/transfer/wire';

/** Runs the loop over `tasks` (sent as one frame), with function 1 doubling
 * its argument and function 2 answering whether a result was already
 * written to the pool when it ran. Returns the [chunkId, ok, value] results
 * in the order written, and how many messages carried them. */
function run(tasks: unknown[][]): { results: unknown[][]; messages: number } {
  const [tasksR, tasksW] = Pipe(false);
  const [resultsR, resultsW] = Pipe(false);
  try {
    tasksW.sendBytes(packFrames([...tasks, [MSG_EXIT]].map((t) => encodeFrame(t))));
    const fns: Record<number, AnyFunction> = {
      1: (x: number) => x * 2,
      2: () => resultsR.poll(0),
    };
    workerLoop({ tasks: tasksR, results: resultsW, lookup: (id) => fns[id] });
    resultsW.close();
    return collect(resultsR);
  } finally {
    for (const c of [tasksR, tasksW, resultsR, resultsW]) if (!c.closed) c.close();
  }
}

function collect(conn: Connection): { results: unknown[][]; messages: number } {
  const results: unknown[][] = [];
  let messages = 0;
  while (conn.poll(5)) {
    let msg: unknown[];
    try {
      msg = decodeMessage(conn.recvBytesSync()) as unknown[];
    } catch {
      break; // end of file
    }
    messages++;
    if (msg[0] === MSG_RESULT) results.push(msg.slice(1));
    else if (msg[0] === MSG_RESULTS) results.push(...(msg[1] as unknown[][]));
  }
  return { results, messages };
}

test('a large chunk result is written before the next chunk runs', () => {
  const items = Array.from({ length: 1000 }, (_, i) => i);
  const { results } = run([
    [MSG_TASK, 1, 1, MODE_MAP, items],
    [MSG_TASK, 2, 2, MODE_APPLY, []],
  ]);
  expect(results.map(([id, ok]) => [id, ok])).toEqual([
    [1, true],
    [2, true],
  ]);
  expect(Array.from(results[0][2] as ArrayLike<number>)).toEqual(items.map((x) => x * 2));
  expect(results[1][2]).toBe(true); // chunk 1's values were in the pipe already
});

test('results of small quick tasks that arrived together go back together', () => {
  // "Quick" is under 1 ms of run time (worker-loop's BATCH_RUN_MS): on a
  // loaded machine a preemption can make a task that slow, and its result
  // then rightly goes at once. A few tries: batching that never happens
  // fails every one.
  let outcome = run([]);
  for (let attempt = 0; attempt < 5; attempt++) {
    outcome = run([
      [MSG_TASK, 1, 1, MODE_APPLY, [21]],
      [MSG_TASK, 2, 2, MODE_APPLY, []],
    ]);
    if (outcome.messages === 1) break;
  }
  const { results, messages } = outcome;
  expect(results).toEqual([
    [1, true, 42],
    [2, true, false], // chunk 1's result waited for company
  ]);
  expect(messages).toBe(1);
});
