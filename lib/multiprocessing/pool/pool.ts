// multiprocessing.Pool: a fixed number of worker processes that run
// functions over chunks of input. This class is the public face: it checks
// each call's arguments, splits the input into chunks, and hands the work to
// its engine (engine.ts), which owns the workers. When a worker dies,
// exactly the chunks it held fail with WorkerLostError and a new worker
// takes its place.
import { EventEmitter } from 'node:events';
import { abortError, checkSignal } from '../../core/abort';
import { BrokenPoolError, ValueError } from '../../core/errors';
import { checkCallback, checkOptions, numberOrOptions } from '../../core/options';
import { cpuCount } from '../../os';
import { getStartMethod } from '../start-method';
import type { StartMethod } from '../start/types';
import { checkNotBootstrapping } from '../start/spawn';
import { AsyncResult, type AsyncCallbacks } from './async-result';
import { notify } from './async-result';
import { PoolEngine, type EngineObserver } from './engine';
import {
  ApplyJob,
  IMapIterator,
  MapJob,
  checkChunksize,
  defaultChunksize,
  type Job,
  type Progress,
} from './jobs';
import type { PoolStats } from './stats';
import { ItemRange, MODE_APPLY, MODE_MAP, MODE_STAR, type Mode } from './protocol';
import type { AnyFunction } from './worker-loop';

// Any function a pool task may run: its arguments are checked by the caller's
// own types, not the pool's.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyArgs<R> = (...args: any[]) => R;

export { AsyncResult } from './async-result';
export type { AsyncCallbacks } from './async-result';
export { IMapIterator } from './jobs';
export type { Progress } from './jobs';
export type { PoolStats, TimeSummary } from './stats';

/** Options every waiting Pool call takes. */
export interface CallOptions {
  /** Aborting it rejects the call with AbortError: its tasks not yet sent
   * to a worker are dropped; those already running finish and their
   * results are discarded (the workers are not replaced). */
  signal?: AbortSignal | null;
}

/** applyAsync's options: the callbacks and a signal. */
export interface ApplyOptions<R> extends AsyncCallbacks<R>, CallOptions {}

/** map/starmap/imap/imapUnordered's options. */
export interface MapOptions extends CallOptions {
  /** Items per task (map: Python's default, about 4 tasks per worker;
   * imap: 1). */
  chunksize?: number | null;
  /** Called in this process as tasks finish: items done, of total. */
  progress?: Progress | null;
}

/** mapAsync/starmapAsync's options: map's, and the callbacks. */
export interface MapAsyncOptions<R> extends MapOptions, AsyncCallbacks<R> {}

/** The events of a Pool (pool.on(name, listener)). */
export interface PoolEvents {
  /** A worker process started (pid). */
  workerCreate: [pid: number];
  /** A worker process ended: its pid and exit code (minus the signal
   * number when killed; null when unknown). */
  workerExit: [pid: number, exitcode: number | null];
  /** The pool broke (its initializer failed, workers cannot start): the
   * pending calls reject with the same error. Emitted only when listened
   * to, so an unhandled 'error' never crashes a script the calls already
   * tell. */
  error: [err: Error];
  /** Every call submitted so far has settled. */
  drain: [];
}

const MAP_OPTIONS = ['chunksize', 'signal', 'progress'] as const;
const MAP_ASYNC_OPTIONS = [...MAP_OPTIONS, 'callback', 'errorCallback'] as const;
const APPLY_OPTIONS = ['signal'] as const;
const APPLY_ASYNC_OPTIONS = ['callback', 'errorCallback', 'signal'] as const;

/** A map's third argument: a chunksize (Python's form) or an options object. */
function mapOptions<O extends MapOptions>(
  arg: number | null | undefined | O,
  known: readonly string[],
  what: string,
): O {
  return numberOrOptions(arg, 'chunksize', known, what);
}

function checkProgress(progress: unknown, what: string): Progress | null {
  return checkCallback<Progress>(progress, 'progress', what);
}

export interface PoolOptions {
  /** Number of workers (default: cpuCount()). */
  processes?: number | null;
  /** Runs once in each worker before its first task. */
  initializer?: AnyFunction | null;
  initargs?: unknown[];
  /** Replace a worker after it ran this many tasks (chunks), as Python. */
  maxtasksperchild?: number | null;
  /** 'fork' (default where the addon loads) or 'spawn'. */
  startMethod?: StartMethod;
}

function toArray<T>(iterable: Iterable<T>, what: string): T[] {
  if (Array.isArray(iterable)) return iterable;
  if (iterable == null || typeof (iterable as Iterable<T>)[Symbol.iterator] !== 'function') {
    throw new TypeError(`${what} must be an iterable (an array, a Set, a generator, ...)`);
  }
  return Array.from(iterable);
}

function checkFunction(fn: unknown, what: string): asserts fn is AnyFunction {
  if (typeof fn !== 'function') throw new TypeError(`${what} must be a function, not ${typeof fn}`);
}

/** The input in chunks of `size`: [index of the first item, items]. Copies:
 * the call sends them later, and the caller may change its array. `ranges`:
 * items that are one argument each, as ranges of one copy (ItemRange). */
function split(
  items: unknown[],
  size: number,
  ranges: boolean,
): Array<[number, unknown[] | ItemRange]> {
  const parts: Array<[number, unknown[] | ItemRange]> = [];
  const copy = ranges && items.length > size ? items.slice() : null;
  for (let i = 0; i < items.length; i += size) {
    const end = Math.min(i + size, items.length);
    parts.push([i, copy ? new ItemRange(copy, i, end) : items.slice(i, end)]);
  }
  return parts;
}

/** Python's multiprocessing.Pool, and an EventEmitter of PoolEvents. */
export class Pool extends EventEmitter<PoolEvents> {
  readonly processes: number;
  readonly startMethod: StartMethod;
  readonly #engine: PoolEngine;

  constructor(options?: PoolOptions);
  constructor(
    processes?: number | null,
    initializer?: AnyFunction | null,
    initargs?: unknown[],
    maxtasksperchild?: number | null,
  );
  constructor(
    first?: number | null | PoolOptions,
    initializer?: AnyFunction | null,
    initargs?: unknown[],
    maxtasksperchild?: number | null,
  ) {
    super();
    const opts: PoolOptions =
      typeof first === 'object' && first !== null
        ? checkOptions(
            first,
            ['processes', 'initializer', 'initargs', 'maxtasksperchild', 'startMethod'],
            'Pool',
          )
        : { processes: first, initializer, initargs, maxtasksperchild };
    const processes = opts.processes ?? cpuCount();
    if (!Number.isInteger(processes) || processes < 1) {
      throw new ValueError(`processes must be a positive integer, not ${processes}`);
    }
    if (opts.initializer != null) checkFunction(opts.initializer, 'initializer');
    const max = opts.maxtasksperchild ?? null;
    if (max !== null && (!Number.isInteger(max) || max < 1)) {
      throw new ValueError(`maxtasksperchild must be a positive integer or null, not ${max}`);
    }
    const method = opts.startMethod ?? (getStartMethod() as StartMethod);
    if (method !== 'fork' && method !== 'spawn') {
      throw new ValueError(`startMethod must be 'fork' or 'spawn', not ${String(method)}`);
    }
    // Python's Pool starts its workers here; forkful's start on a later
    // tick, so the check that start() makes is made now.
    if (method === 'spawn') checkNotBootstrapping();
    this.processes = processes;
    this.startMethod = method;
    this.#engine = new PoolEngine({
      processes,
      startMethod: method,
      initializer: opts.initializer ?? null,
      initargs: opts.initargs ?? [],
      maxtasks: max,
      observer: this.#observer(),
    });
  }

  /** The engine's news, as this pool's events: emitted after the engine's
   * step (and after a getSync() pump), so a listener cannot disturb it. */
  #observer(): EngineObserver {
    const emit = <K extends keyof PoolEvents>(name: K, ...args: PoolEvents[K]) => {
      notify(() => {
        try {
          (this.emit as (n: K, ...a: PoolEvents[K]) => boolean)(name, ...args);
        } catch (err) {
          // A listener threw: as for any listener, that is the program's
          // uncaught exception, not the pool's.
          process.nextTick(() => {
            throw err;
          });
        }
      });
    };
    return {
      workerCreated: (pid) => emit('workerCreate', pid),
      workerExited: (pid, code) => emit('workerExit', pid, code),
      drained: () => emit('drain'),
      broken: (err) => {
        if (this.listenerCount('error') > 0) emit('error', err);
      },
    };
  }

  /** Workers, tasks queued/running/completed/failed, utilisation and the
   * run and wait time of recent tasks (a task is a chunk). */
  stats(): PoolStats {
    return this.#engine.liveStats();
  }

  /** Runs fn(...args) in a worker; resolves with its value. */
  apply<R>(fn: AnyArgs<R>, args: unknown[] = [], options?: CallOptions): Promise<Awaited<R>> {
    const { signal } = checkOptions(options, APPLY_OPTIONS, 'Pool.apply');
    return this.#apply(fn, args, { signal }, 'Pool.apply').get() as Promise<Awaited<R>>;
  }

  applyAsync<R>(
    fn: AnyArgs<R>,
    args: unknown[] = [],
    options: ApplyOptions<Awaited<R>> = {},
  ): AsyncResult<Awaited<R>> {
    checkOptions(options, APPLY_ASYNC_OPTIONS, 'Pool.applyAsync');
    return this.#apply(fn, args, options, 'Pool.applyAsync');
  }

  #apply<R>(
    fn: AnyArgs<unknown>,
    args: unknown[],
    options: ApplyOptions<R>,
    what: string,
  ): AsyncResult<R> {
    this.#checkRunning();
    checkFunction(fn, 'fn');
    if (!Array.isArray(args)) throw new TypeError('args must be an array');
    const signal = checkSignal(options.signal, what);
    const result = new AsyncResult<R>(options, this.#engine.pump);
    const job = new ApplyJob(result as AsyncResult<unknown>);
    this.#start(job, signal, what, () => {
      this.#engine.submit(job, fn, MODE_APPLY, [[0, args.slice()]]); // sent later: copy
    });
    if (signal) void result.wait().then(() => this.#release(job));
    return result;
  }

  // Abort listeners of the calls in flight, removed when a call settles.
  readonly #aborts = new Map<Job, () => void>();

  /** Submits a call's job, unless its signal already aborted; an abort
   * drops its queued tasks and rejects it with AbortError. */
  #start(job: Job, signal: AbortSignal | null, what: string, submit: () => void): void {
    if (signal?.aborted) {
      job.abort(abortError(signal, what));
      return;
    }
    submit();
    if (!signal) return;
    const onAbort = () => {
      this.#aborts.delete(job);
      this.#engine.cancel(job);
      job.abort(abortError(signal, what));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    this.#aborts.set(job, () => signal.removeEventListener('abort', onAbort));
  }

  #release(job: Job): void {
    const remove = this.#aborts.get(job);
    if (!remove) return;
    this.#aborts.delete(job);
    remove();
  }

  /** fn over every item, results in input order (Python's map). The third
   * argument is a chunksize or `{ chunksize, signal, progress }`. */
  map<T, R>(
    fn: (item: T) => R,
    iterable: Iterable<T>,
    options?: number | MapOptions,
  ): Promise<Awaited<R>[]> {
    const o = mapOptions(options, MAP_OPTIONS, 'Pool.map');
    return this.#mapLike(fn as AnyFunction, iterable, o, MODE_MAP, 'Pool.map').get() as Promise<
      Awaited<R>[]
    >;
  }

  /** map() returning an AsyncResult; the third argument is a chunksize (then
   * the callbacks come fourth, as in Python) or all the options at once. */
  mapAsync<T, R>(
    fn: (item: T) => R,
    iterable: Iterable<T>,
    options?: number | null | MapAsyncOptions<Awaited<R>[]>,
    callbacks: AsyncCallbacks<Awaited<R>[]> = {},
  ): AsyncResult<Awaited<R>[]> {
    const o = this.#asyncOptions(options, callbacks, 'Pool.mapAsync') as MapAsyncOptions<unknown[]>;
    return this.#mapLike(fn as AnyFunction, iterable, o, MODE_MAP, 'Pool.mapAsync') as AsyncResult<
      Awaited<R>[]
    >;
  }

  /** Like map, each item being the argument list: fn(...item). */
  starmap<R>(
    fn: AnyArgs<R>,
    iterable: Iterable<unknown[]>,
    options?: number | MapOptions,
  ): Promise<Awaited<R>[]> {
    const o = mapOptions(options, MAP_OPTIONS, 'Pool.starmap');
    return this.#mapLike(fn, iterable, o, MODE_STAR, 'Pool.starmap').get() as Promise<Awaited<R>[]>;
  }

  starmapAsync<R>(
    fn: AnyArgs<R>,
    iterable: Iterable<unknown[]>,
    options?: number | null | MapAsyncOptions<Awaited<R>[]>,
    callbacks: AsyncCallbacks<Awaited<R>[]> = {},
  ): AsyncResult<Awaited<R>[]> {
    const o = this.#asyncOptions(options, callbacks, 'Pool.starmapAsync') as MapAsyncOptions<
      unknown[]
    >;
    return this.#mapLike(fn, iterable, o, MODE_STAR, 'Pool.starmapAsync') as AsyncResult<
      Awaited<R>[]
    >;
  }

  /** An async iterator over fn(item), in input order (default chunksize
   * 1); the third argument is a chunksize or `{ chunksize, signal,
   * progress }`. `break` drops the tasks not yet sent. */
  imap<T, R>(
    fn: (item: T) => R,
    iterable: Iterable<T>,
    options?: number | MapOptions,
  ): IMapIterator<Awaited<R>> {
    const o = mapOptions(options, MAP_OPTIONS, 'Pool.imap');
    return this.#imapLike(fn as AnyFunction, iterable, o, true, 'Pool.imap') as IMapIterator<
      Awaited<R>
    >;
  }

  /** Like imap, in the order results arrive. */
  imapUnordered<T, R>(
    fn: (item: T) => R,
    iterable: Iterable<T>,
    options?: number | MapOptions,
  ): IMapIterator<Awaited<R>> {
    const o = mapOptions(options, MAP_OPTIONS, 'Pool.imapUnordered');
    return this.#imapLike(
      fn as AnyFunction,
      iterable,
      o,
      false,
      'Pool.imapUnordered',
    ) as IMapIterator<Awaited<R>>;
  }

  #asyncOptions<R>(
    options: number | null | undefined | MapAsyncOptions<R>,
    callbacks: AsyncCallbacks<R>,
    what: string,
  ): MapAsyncOptions<R> {
    const o = mapOptions(options, MAP_ASYNC_OPTIONS, what);
    checkOptions(callbacks, ['callback', 'errorCallback'], what);
    return { ...callbacks, ...o };
  }

  /** No more work will be submitted; workers exit once the work is done. */
  close(): void {
    this.#engine.close();
  }

  /** Stops the workers now (SIGTERM, then SIGKILL); pending calls reject
   * with BrokenPoolError. */
  terminate(): void {
    this.#engine.terminate();
  }

  /** Waits for every worker to exit; call close() or terminate() first. */
  join(): Promise<void> {
    if (this.#engine.state === 'running') {
      throw new ValueError('the pool is still running: call close() or terminate() before join()');
    }
    return this.#engine.joined();
  }

  /** `await using pool = new Pool()`: terminates and joins, as Python's
   * `with`. For a graceful end, `pool.close(); await pool.join()` first. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.terminate();
    await this.join();
  }

  /** `using pool = new Pool()`: terminates (the workers get SIGTERM, then
   * SIGKILL); it cannot wait for them: `await using` does. */
  [Symbol.dispose](): void {
    this.terminate();
  }

  #checkRunning(): void {
    const engine = this.#engine;
    if (engine.state === 'running') return;
    if (engine.forgotten) {
      throw new BrokenPoolError(
        `this pool belongs to process ${engine.ownerPid}, not to this forked child: ` +
          `create a new Pool in the child`,
      );
    }
    if (engine.state === 'broken') {
      throw new BrokenPoolError(
        `the pool is broken (${engine.brokenBy?.message}): create a new Pool`,
        { cause: engine.brokenBy },
      );
    }
    throw new BrokenPoolError(
      `the pool is ${engine.state}: it takes no more work (create a new Pool)`,
    );
  }

  #mapLike(
    fn: AnyFunction,
    iterable: Iterable<unknown>,
    options: MapAsyncOptions<unknown[]>,
    mode: Mode,
    what: string,
  ): AsyncResult<unknown[]> {
    this.#checkRunning();
    checkFunction(fn, 'fn');
    const signal = checkSignal(options.signal, what);
    const progress = checkProgress(options.progress, what);
    const items = toArray(iterable, 'iterable');
    const chunksize = options.chunksize;
    const size =
      chunksize == null
        ? defaultChunksize(items.length, this.processes)
        : checkChunksize(chunksize);
    const result = new AsyncResult<unknown[]>(options, this.#engine.pump);
    const parts = split(items, size, mode === MODE_MAP);
    const job: Job = new MapJob(result, parts.length, items.length, progress);
    this.#start(job, signal, what, () => {
      if (parts.length > 0) this.#engine.submit(job, fn, mode, parts);
    });
    if (signal) void result.wait().then(() => this.#release(job));
    return result;
  }

  #imapLike(
    fn: AnyFunction,
    iterable: Iterable<unknown>,
    options: MapOptions,
    ordered: boolean,
    what: string,
  ): IMapIterator {
    this.#checkRunning();
    checkFunction(fn, 'fn');
    const signal = checkSignal(options.signal, what);
    const progress = checkProgress(options.progress, what);
    const items = toArray(iterable, 'iterable');
    const parts = split(items, checkChunksize(options.chunksize ?? 1), true);
    const sizes = new Map<number, number>();
    for (const [index, part] of parts) sizes.set(index, part.length);
    const it = new IMapIterator(ordered, parts.length, sizes, progress);
    it._cancel = () => {
      this.#engine.cancel(it);
      this.#release(it);
    };
    this.#start(it, signal, what, () => {
      if (parts.length > 0) this.#engine.submit(it, fn, MODE_MAP, parts);
    });
    return it;
  }
}

/** Python's `with Pool(...) as pool:` — runs body with a new pool and
 * terminates it afterwards, whatever happens. */
export async function withPool<T>(
  options: PoolOptions | number | undefined,
  body: (pool: Pool) => T | Promise<T>,
): Promise<T> {
  const pool = typeof options === 'number' ? new Pool(options) : new Pool(options);
  try {
    return await body(pool);
  } finally {
    await pool[Symbol.asyncDispose]();
  }
}
