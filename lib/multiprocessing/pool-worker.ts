// The loop a pool worker runs, on both backends: read one task message,
// run the function over the chunk, send one result message, until told to
// exit, until the pool's end of the pipe closes, or after maxtasksperchild
// chunks. It blocks on its pipe between tasks (a worker has nothing else to
// do) and awaits a task that returns a Promise.
import type { Connection } from './connection';
import {
  MODE_APPLY,
  MODE_MAP,
  packValues,
  MSG_DEF,
  MSG_EXIT,
  MSG_INIT_ERROR,
  MSG_RESULT,
  MSG_TASK,
  encodeError,
} from './pool-protocol';
import { SerializationError } from '../errors';

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
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function sendResult(results: Connection, chunkId: number, ok: boolean, value: unknown): void {
  try {
    results.send([MSG_RESULT, chunkId, ok, value]);
  } catch (err) {
    if (!(err instanceof SerializationError)) throw err;
    results.send([MSG_RESULT, chunkId, false, encodeError(err)]);
  }
}

/** Runs one chunk; a Promise when some task returned one. */
function runChunk(fn: AnyFunction, mode: number, payload: ArrayLike<unknown>): unknown {
  if (mode === MODE_APPLY) return fn(...(payload as unknown[]));
  // push keeps the array packed, which structured clone encodes fastest.
  const out: unknown[] = [];
  let pending = false;
  for (let i = 0; i < payload.length; i++) {
    const r = mode === MODE_MAP ? fn(payload[i]) : fn(...(payload[i] as unknown[]));
    if (isThenable(r)) pending = true;
    out.push(r);
  }
  if (pending) return Promise.all(out).then(packValues);
  return packValues(out);
}

/** Serves tasks until told to stop. Resolves when the worker should exit;
 * on the fork backend it never awaits, so it finishes synchronously. */
export function workerLoop(opts: WorkerLoopOptions): void | Promise<void> {
  const { tasks, results } = opts;
  if (opts.initializer) {
    try {
      const r = opts.initializer(...(opts.initargs ?? []));
      if (isThenable(r)) {
        return Promise.resolve(r).then(
          () => workerLoop({ ...opts, initializer: null }),
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
  let done = 0;
  const max = opts.maxtasks ?? 0;
  for (;;) {
    if (max > 0 && done >= max) return;
    let msg: unknown[];
    try {
      msg = tasks.recvSync() as unknown[];
    } catch {
      return; // the pool closed its end (EOFError) or went away
    }
    const op = msg[0];
    if (op === MSG_EXIT) return;
    if (op === MSG_DEF) {
      try {
        opts.define?.(msg[1] as number, msg[2]);
      } catch {
        // The task that uses it reports the failure (its function is unknown).
      }
      continue;
    }
    if (op !== MSG_TASK) continue;
    const [, chunkId, fnId, mode, payload] = msg as [number, number, number, number, unknown[]];
    done++;
    const fn = opts.lookup(fnId);
    let value: unknown;
    try {
      if (!fn) throw new Error(`pool worker ${process.pid} does not know function #${fnId}`);
      value = runChunk(fn, mode, payload);
    } catch (err) {
      sendResult(results, chunkId, false, encodeError(err));
      continue;
    }
    if (isThenable(value)) {
      // An async task: finish it on the event loop, then go on.
      const more = () =>
        max > 0 && done >= max
          ? undefined
          : workerLoop({ ...opts, initializer: null, maxtasks: max > 0 ? max - done : null });
      return Promise.resolve(value).then(
        (v) => {
          sendResult(results, chunkId, true, v);
          return more();
        },
        (err) => {
          sendResult(results, chunkId, false, encodeError(err));
          return more();
        },
      );
    }
    sendResult(results, chunkId, true, value);
  }
}
