// multiprocessing.Pool: a fixed number of worker processes that run
// functions over chunks of input. This class is the public face: it checks
// each call's arguments, splits the input into chunks, and hands the work to
// its engine (engine.ts), which owns the workers. When a worker dies,
// exactly the chunks it held fail with WorkerLostError and a new worker
// takes its place.
import { BrokenPoolError, ValueError } from '../../core/errors';
import { cpuCount } from '../../os';
import { getStartMethod } from '../start-method';
import type { StartMethod } from '../start/types';
import { AsyncResult, type AsyncCallbacks } from './async-result';
import { PoolEngine } from './engine';
import { ApplyJob, IMapIterator, MapJob, checkChunksize, defaultChunksize, type Job } from './jobs';
import { MODE_APPLY, MODE_MAP, MODE_STAR, type Mode } from './protocol';
import type { AnyFunction } from './worker-loop';

// Any function a pool task may run: its arguments are checked by the caller's
// own types, not the pool's.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyArgs<R> = (...args: any[]) => R;

export { AsyncResult } from './async-result';
export type { AsyncCallbacks } from './async-result';
export { IMapIterator } from './jobs';

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
 * the call sends them later, and the caller may change its array. */
function split(items: unknown[], size: number): Array<[number, unknown[]]> {
  const parts: Array<[number, unknown[]]> = [];
  if (items.length === 0) return parts;
  if (size >= items.length) return [[0, items.slice()]];
  for (let i = 0; i < items.length; i += size) parts.push([i, items.slice(i, i + size)]);
  return parts;
}

export class Pool {
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
    const opts: PoolOptions =
      typeof first === 'object' && first !== null
        ? first
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
    this.processes = processes;
    this.startMethod = method;
    this.#engine = new PoolEngine({
      processes,
      startMethod: method,
      initializer: opts.initializer ?? null,
      initargs: opts.initargs ?? [],
      maxtasks: max,
    });
  }

  /** Runs fn(...args) in a worker; resolves with its value. */
  apply<R>(fn: AnyArgs<R>, args: unknown[] = []): Promise<Awaited<R>> {
    return this.applyAsync(fn, args).get() as Promise<Awaited<R>>;
  }

  applyAsync<R>(
    fn: AnyArgs<R>,
    args: unknown[] = [],
    callbacks: AsyncCallbacks<Awaited<R>> = {},
  ): AsyncResult<Awaited<R>> {
    this.#checkRunning();
    checkFunction(fn, 'fn');
    if (!Array.isArray(args)) throw new TypeError('args must be an array');
    const result = new AsyncResult<Awaited<R>>(callbacks, this.#engine.pump);
    const job = new ApplyJob(result as AsyncResult<unknown>);
    this.#engine.submit(job, fn, MODE_APPLY, [[0, args.slice()]]); // sent later: copy
    return result;
  }

  /** fn over every item, results in input order (Python's map). */
  map<T, R>(fn: (item: T) => R, iterable: Iterable<T>, chunksize?: number): Promise<Awaited<R>[]> {
    return this.mapAsync(fn, iterable, chunksize).get();
  }

  mapAsync<T, R>(
    fn: (item: T) => R,
    iterable: Iterable<T>,
    chunksize?: number | null,
    callbacks: AsyncCallbacks<Awaited<R>[]> = {},
  ): AsyncResult<Awaited<R>[]> {
    return this.#mapLike(
      fn as AnyFunction,
      iterable,
      chunksize,
      callbacks as AsyncCallbacks<unknown[]>,
      MODE_MAP,
    ) as AsyncResult<Awaited<R>[]>;
  }

  /** Like map, each item being the argument list: fn(...item). */
  starmap<R>(
    fn: AnyArgs<R>,
    iterable: Iterable<unknown[]>,
    chunksize?: number,
  ): Promise<Awaited<R>[]> {
    return this.starmapAsync(fn, iterable, chunksize).get();
  }

  starmapAsync<R>(
    fn: AnyArgs<R>,
    iterable: Iterable<unknown[]>,
    chunksize?: number | null,
    callbacks: AsyncCallbacks<Awaited<R>[]> = {},
  ): AsyncResult<Awaited<R>[]> {
    return this.#mapLike(
      fn,
      iterable,
      chunksize,
      callbacks as AsyncCallbacks<unknown[]>,
      MODE_STAR,
    ) as AsyncResult<Awaited<R>[]>;
  }

  /** An async iterator over fn(item), in input order (default chunksize 1). */
  imap<T, R>(fn: (item: T) => R, iterable: Iterable<T>, chunksize = 1): IMapIterator<Awaited<R>> {
    return this.#imapLike(fn as AnyFunction, iterable, chunksize, true) as IMapIterator<Awaited<R>>;
  }

  /** Like imap, in the order results arrive. */
  imapUnordered<T, R>(
    fn: (item: T) => R,
    iterable: Iterable<T>,
    chunksize = 1,
  ): IMapIterator<Awaited<R>> {
    return this.#imapLike(fn as AnyFunction, iterable, chunksize, false) as IMapIterator<
      Awaited<R>
    >;
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

  /** `await using pool = new Pool()`: terminates and joins, as Python's with. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.terminate();
    await this.join();
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
    chunksize: number | null | undefined,
    callbacks: AsyncCallbacks<unknown[]>,
    mode: Mode,
  ): AsyncResult<unknown[]> {
    this.#checkRunning();
    checkFunction(fn, 'fn');
    const items = toArray(iterable, 'iterable');
    const size =
      chunksize == null
        ? defaultChunksize(items.length, this.processes)
        : checkChunksize(chunksize);
    const result = new AsyncResult<unknown[]>(callbacks, this.#engine.pump);
    const parts = split(items, size);
    const job: Job = new MapJob(result, parts.length);
    if (parts.length > 0) this.#engine.submit(job, fn, mode, parts);
    return result;
  }

  #imapLike(
    fn: AnyFunction,
    iterable: Iterable<unknown>,
    chunksize: number,
    ordered: boolean,
  ): IMapIterator {
    this.#checkRunning();
    checkFunction(fn, 'fn');
    const items = toArray(iterable, 'iterable');
    const parts = split(items, checkChunksize(chunksize));
    const sizes = new Map<number, number>();
    for (const [index, part] of parts) sizes.set(index, part.length);
    const it = new IMapIterator(ordered, parts.length, sizes);
    if (parts.length > 0) this.#engine.submit(it, fn, MODE_MAP, parts);
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
