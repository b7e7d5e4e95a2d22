// The loop a pool worker runs, on both backends: read one task message,
// run the function over the chunk, send one result message, until told to
// exit, until the pool's end of the pipe closes, or after maxtasksperchild
// chunks. It blocks on its pipe between tasks (a worker has nothing else to
// do) and awaits a task that returns a Promise.
import type { Connection } from '../connection';
import {
  MODE_APPLY,
  MODE_MAP,
  PACK_MIN,
  packValues,
  MSG_DEF,
  MSG_EXIT,
  MSG_INIT_ERROR,
  MSG_RESULT,
  MSG_RESULTS,
  MSG_TASK,
  encodeError,
  unpackFrames,
} from './protocol';
import { reviveShareables } from '../../transfer/serialize';
import { decodeMessage } from '../../transfer/wire';
import { SerializationError } from '../../core/errors';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFunction = (...args: any[]) => unknown;

export interface WorkerLoopOptions {
  tasks: Connection;
  results: Connection;
  /** The function with this id (fork: the registry as of the fork). */
  lookup(fnId: number): AnyFunction | undefined;
  /** Spawn backend: turns a MSG_DEF spec into a function. */
  define?(fnId: number, spec: unknown): void;
  initializer?: AnyFunction | null;
  initargs?: unknown[];
  maxtasks?: number | null;
  /** Gets the id of each chunk just before it starts. */
  progress?: { value: number } | null;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

// Results of tasks that arrived together go back together: one write and
// one wake-up of the pool for many tiny tasks. A result waits at most this
// long for company.
const BATCH_RESULTS_MAX = 64;
const BATCH_RESULTS_MS = 5;
// Only a small chunk that ran briefly waits for company: the pool wants a
// large chunk's result at once (it sends that worker its next chunk, and
// takes these values in while the worker runs on), and a task that ran
// long says the next one may too.
const BATCH_ITEMS_MAX = PACK_MIN;
const BATCH_RUN_MS = 1;

class ResultSender {
  private batch: unknown[][] = [];
  private since = 0;
  constructor(private readonly results: Connection) {}

  /** Queues a result; sends it now unless more tasks wait (`more`). */
  add(chunkId: number, ok: boolean, value: unknown, more: boolean): void {
    if (this.batch.length === 0) this.since = performance.now();
    this.batch.push([chunkId, ok, value]);
    if (
      !more ||
      this.batch.length >= BATCH_RESULTS_MAX ||
      performance.now() - this.since >= BATCH_RESULTS_MS
    ) {
      this.flush();
    }
  }

  flush(): void {
    const batch = this.batch;
    if (batch.length === 0) return;
    this.batch = [];
    try {
      if (batch.length === 1) this.results.send([MSG_RESULT, ...batch[0]]);
      else this.results.send([MSG_RESULTS, batch]);
    } catch (err) {
      if (!(err instanceof SerializationError)) throw err;
      // Some value cannot travel: send one by one, that one as its error.
      for (const [chunkId, ok, value] of batch) {
        try {
          this.results.send([MSG_RESULT, chunkId, ok, value]);
        } catch (e) {
          if (!(e instanceof SerializationError)) throw e;
          const err = new SerializationError(
            `a task's result cannot be sent back to the pool: ${e.message}`,
            { cause: e },
          );
          this.results.send([MSG_RESULT, chunkId, false, encodeError(err)]);
        }
      }
    }
    // Out now: send() would hold them while a next task, already read, runs.
    this.results.flush();
  }
}

/** Runs one chunk; a Promise when some task returned one. */
function runChunk(fn: AnyFunction, mode: number, payload: ArrayLike<unknown>): unknown {
  if (mode === MODE_APPLY) return fn(...(payload as unknown[]));
  const n = payload.length;
  // Numbers (tiny tasks' results) go straight into the Float64Array they
  // travel as (packValues): no growing array of doubles and no copy, so a
  // worker writes fewer fresh (copy-on-write) heap pages per chunk. The
  // first other value switches to a plain array.
  let numbers: Float64Array | null = n >= PACK_MIN ? new Float64Array(n) : null;
  // push keeps the array packed, which structured clone encodes fastest.
  let out: unknown[] = [];
  let pending = false;
  for (let i = 0; i < n; i++) {
    const r = mode === MODE_MAP ? fn(payload[i]) : fn(...(payload[i] as unknown[]));
    if (numbers) {
      if (typeof r === 'number') {
        numbers[i] = r;
        continue;
      }
      out = Array.from(numbers.subarray(0, i));
      numbers = null;
    }
    if (isThenable(r)) pending = true;
    out.push(r);
  }
  if (numbers) return numbers;
  if (pending) return Promise.all(out).then(packValues);
  return packValues(out);
}

/** Serves tasks until told to stop. Resolves when the worker should exit;
 * a worker whose tasks are synchronous finishes synchronously. */
export function workerLoop(opts: WorkerLoopOptions): void | Promise<void> {
  const { results } = opts;
  if (opts.initializer) {
    try {
      const r = opts.initializer(...(opts.initargs ?? []));
      if (isThenable(r)) {
        return Promise.resolve(r).then(
          () => serve(opts, new ResultSender(results), []),
          (err) => {
            results.send([MSG_INIT_ERROR, encodeError(err)]);
          },
        );
      }
    } catch (err) {
      results.send([MSG_INIT_ERROR, encodeError(err)]);
      return;
    }
  }
  return serve(opts, new ResultSender(results), []);
}

function serve(
  opts: WorkerLoopOptions,
  sender: ResultSender,
  inbox: Buffer[],
): void | Promise<void> {
  const { tasks } = opts;
  const max = opts.maxtasks ?? 0;
  let done = 0;
  for (;;) {
    if (max > 0 && done >= max) break;
    if (inbox.length === 0) {
      let frame: Buffer;
      try {
        // About to wait: send what is done (the results of the last frame
        // went already; the frames queued by send() are written before the
        // read blocks). The wait is the read itself where the worker put its
        // task pipe in blocking mode (worker-process.ts).
        sender.flush();
        frame = tasks.recvBytesSync();
      } catch {
        break; // the pool closed its end (EOFError) or went away
      }
      inbox.push(...unpackFrames(frame));
    }
    // Shared objects in a task's arguments are revived with the task, so
    // one that cannot live here fails that task, not the worker.
    const msg = decodeMessage(inbox.shift() as Buffer, false) as unknown[];
    const op = msg[0];
    if (op === MSG_EXIT) break;
    if (op === MSG_DEF) {
      try {
        opts.define?.(msg[1] as number, reviveShareables(msg[2]));
      } catch {
        // The task that uses it reports the failure (its function is unknown).
      }
      continue;
    }
    if (op !== MSG_TASK) continue;
    const [, chunkId, fnId, mode, packed] = msg as [number, number, number, number, unknown[]];
    done++;
    if (opts.progress) opts.progress.value = chunkId;
    const fn = opts.lookup(fnId);
    let value: unknown;
    const started = performance.now();
    let more = false;
    try {
      if (!fn) throw new Error(`pool worker ${process.pid} does not know function #${fnId}`);
      const payload = reviveShareables(packed) as unknown[];
      more = inbox.length > 0 && (mode === MODE_APPLY || payload.length < BATCH_ITEMS_MAX);
      value = runChunk(fn, mode, payload);
    } catch (err) {
      sender.add(chunkId, false, encodeError(err), more);
      continue;
    }
    if (more && performance.now() - started >= BATCH_RUN_MS) more = false;
    if (isThenable(value)) {
      // An async task: finish it on the event loop, then go on.
      sender.flush();
      const left = max > 0 ? max - done : null;
      const more = () =>
        left === 0 ? sender.flush() : serve({ ...opts, maxtasks: left }, sender, inbox);
      return Promise.resolve(value).then(
        (v) => {
          sender.add(chunkId, true, v, false);
          return more();
        },
        (err) => {
          sender.add(chunkId, false, encodeError(err), false);
          return more();
        },
      );
    }
    sender.add(chunkId, true, value, more);
  }
  sender.flush();
}
