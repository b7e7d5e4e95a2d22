// A Worker that records its own end in shared memory. A thread blocked in
// Atomics.wait for a Worker's answer (the portable backend's I/O thread,
// the spawner of spawned children) never sees the Worker's 'exit' or
// 'error' events: they come through the event loop it blocks. So the
// Worker's first code records why it ends (a throw while loading, an
// uncaught exception, process.exit) in words the waiter looks at between
// slices of its wait, and wakes it.
import { Worker, type TransferListItem } from 'node:worker_threads';

// The words (`workerData.counter`): [COUNTER] is the Worker's own, bumped
// and notified at each answer, and once more at its end; [STATE] turns
// DEAD when it ends, with why in the bytes after [WHY_LENGTH].
export const COUNTER = 0;
const STATE = 1;
const WHY_LENGTH = 2;
const WHY_OFFSET = 12;
const WHY_BYTES = 1024;
const DEAD = 1;

/** How long a blocked waiter sleeps before it looks whether the Worker
 * still lives (a notify of its end may not find the sleeper yet). */
export const LIVENESS_SLICE_MS = 200;

const BOOTSTRAP = `
'use strict';
const { workerData } = require('node:worker_threads');
const words = workerData.counter;
let why = 'it exited';
process.on('uncaughtException', (err) => {
  why = String(err);
  process.exit(1);
});
process.on('exit', (code) => {
  const bytes = new Uint8Array(words.buffer, ${WHY_OFFSET}, ${WHY_BYTES});
  const { written } = new TextEncoder().encodeInto(why + ' (exit code ' + code + ')', bytes);
  Atomics.store(words, ${WHY_LENGTH}, written);
  Atomics.store(words, ${STATE}, ${DEAD});
  Atomics.add(words, ${COUNTER}, 1);
  Atomics.notify(words, ${COUNTER});
});
require(workerData.script);
`;

export interface RecordedWorker {
  worker: Worker;
  /** The shared words, also `workerData.counter` in the Worker. */
  words: Int32Array;
}

/** Starts `script` (a file) in a Worker that records its end; `data` is
 * its workerData, with `counter` and `script` added. */
export function startRecordedWorker(
  script: string,
  data: object,
  transferList: TransferListItem[] = [],
): RecordedWorker {
  const words = new Int32Array(new SharedArrayBuffer(WHY_OFFSET + WHY_BYTES));
  const worker = new Worker(BOOTSTRAP, {
    eval: true,
    workerData: { ...data, counter: words, script },
    transferList,
    stdin: false,
  });
  return { worker, words };
}

/** Why the Worker ended ("Error: ... (exit code 1)"), or null while it
 * lives. */
export function recordedEnd(words: Int32Array): string | null {
  if (Atomics.load(words, STATE) !== DEAD) return null;
  const n = Atomics.load(words, WHY_LENGTH);
  return Buffer.from(words.buffer, WHY_OFFSET, n).toString('utf8');
}
