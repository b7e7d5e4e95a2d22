// multiprocessing.Pool: a fixed number of worker processes that run
// functions over chunks of input. Each worker has its own pair of pipes, so
// the pool always knows which tasks a worker holds: when one dies, exactly
// those fail with WorkerLostError and a new worker takes its place.
import { afterFork, Order } from '../../runtime/lifecycle';
import type { TargetRef } from '../../transfer/spawn-target';
import type { StartMethod } from '../start/types';
import {
  BrokenPoolError,
  SerializationError,
  ValueError,
  WorkerLostError,
} from '../../core/errors';
import { native } from '../../core/native';
import { cpuCount } from '../../os';
import { serialize } from '../../transfer/serialize';
import { AsyncResult, holdNotifications, type AsyncCallbacks } from './async-result';
import { functionRef, startPoolWorker, type PoolWorkerProcess } from './worker-process';
import { getStartMethod } from '../start-method';
import {
  ApplyJob,
  IMapIterator,
  MapJob,
  checkChunksize,
  defaultChunksize,
  type Chunk,
  type Job,
} from './jobs';
import {
  MODE_APPLY,
  MODE_MAP,
  MODE_STAR,
  MSG_DEF,
  MSG_EXIT,
  MSG_INIT_ERROR,
  MSG_RESULT,
  MSG_RESULTS,
  MSG_TASK,
  decodeError,
  packFrames,
  packValues,
  type EncodedError,
  type Mode,
} from './protocol';

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

// A task message this small may wait in a busy worker's pipe: it can never
// fill the pipe, so the (blocking) send never stalls the pool.
const PREFETCH_MAX_BYTES = 16 * 1024;
// Tiny tasks (imap with chunksize 1, many applyAsync calls) may queue deeper:
// the worker then runs several per wake-up, and the pool reads several
// results per wake-up. 16 x 2 KB still fits any pipe.
const TINY_FRAME_BYTES = 2 * 1024;
const TINY_DEPTH = 16;
// Functions kept for workers forked later; beyond this, unused ones go.
const REGISTRY_SOFT_LIMIT = 1000;
// After SIGTERM, how long terminate() waits before SIGKILL.
const KILL_GRACE_MS = 1000;

interface WorkerSlot {
  proc: PoolWorkerProcess;
  /** Chunks sent and not yet answered, in the order sent. */
  held: Chunk[];
  sent: number;
  /** Fork: the highest function id registered when it was forked. */
  knownMax: number;
  /** Spawn: function ids defined in it. */
  defined: Set<number>;
  /** Task frames to write at the end of the dispatch pass. */
  outbox: Buffer[];
  retiring: boolean;
  exitcode: number | null;
  /** Its result pipe reached end of file. */
  eof: boolean;
  /** A write to its task pipe failed: it is going away. */
  writeFailed: boolean;
  finished: boolean;
}

const pauseCell = new Int32Array(new SharedArrayBuffer(4));

// Workers are forked from a callback of their own: a uv_poll watch on a
// self-pipe, which runs straight from the event loop. There no reaction to a
// settled call is pending (a fork would copy it into the worker, which would
// then run the caller's continuation), and no JS loop over immediates or
// timers is under way (a forked child clears those).
interface Watch {
  start(): void;
  close(): void;
  ref(): void;
  unref(): void;
}
let cleanTick: { r: number; w: number; watch: Watch; pools: Set<Pool> } | null = null;

function requestCleanTick(pool: Pool): void {
  const addon = native;
  if (!addon) {
    setImmediate(() => pool._onCleanTick()); // spawn backend without the addon
    return;
  }
  if (!cleanTick) {
    const [r, w] = addon.nbPipe() as [number, number];
    const tick = {
      r,
      w,
      pools: new Set<Pool>(),
      watch: new addon.FdWatch(r, () => {
        const scratch = Buffer.allocUnsafe(64);
        while (addon.readInto(r, scratch, 0, scratch.length) > 0);
        const pools = [...tick.pools];
        tick.pools.clear();
        tick.watch.unref();
        for (const p of pools) p._onCleanTick();
      }) as Watch,
    };
    tick.watch.start();
    tick.watch.unref();
    cleanTick = tick;
  }
  if (cleanTick.pools.size === 0) {
    addon.write(cleanTick.w, Buffer.of(1));
    cleanTick.watch.ref();
  }
  cleanTick.pools.add(pool);
}

afterFork('pool: close the clean-tick self-pipe', Order.multiprocessing, () => {
  if (!cleanTick || !native) return;
  cleanTick.watch.close();
  native.close(cleanTick.r);
  native.close(cleanTick.w);
  cleanTick = null;
});
const livePools = new Set<Pool>();
afterFork("pool: forget the parent's pools", Order.multiprocessing, () => {
  // A forked child (a worker, a Process, os.fork) must not use or keep the
  // parent's pools: drop their handles without touching their processes.
  for (const pool of livePools) pool._forgetInChild();
  livePools.clear();
});

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

export class Pool {
  readonly processes: number;
  readonly startMethod: StartMethod;
  private readonly initializer: AnyFunction | null;
  private readonly initargs: unknown[];
  private readonly maxtasks: number | null;

  private state: 'running' | 'closed' | 'terminated' | 'broken' = 'running';
  private brokenBy: Error | null = null;
  private readonly workers: WorkerSlot[] = [];
  private queue: Chunk[] = [];
  private queueHead = 0;
  private nextChunkId = 1;
  private outstanding = 0; // chunks queued or held
  private dispatchScheduled = false;
  private dispatching = false;
  private pumping = false;
  private startRequested = false;
  private outboxes: WorkerSlot[] = [];
  private refed = false;
  private joinWaiters: Array<() => void> = [];
  private killTimer: NodeJS.Timeout | null = null;
  private forgotten = false;
  private readonly ownerPid = process.pid;

  // Function registry: ids only grow; a pruned function gets a new id.
  private readonly fnIds = new WeakMap<AnyFunction, number>();
  private readonly functions = new Map<number, AnyFunction>();
  private readonly fnUse = new Map<number, number>();
  private readonly fnSpecs = new Map<number, TargetRef>();
  private nextFnId = 1;

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
    this.initializer = opts.initializer ?? null;
    this.initargs = opts.initargs ?? [];
    this.maxtasks = max;
    if (method === 'spawn' && this.initializer) {
      // Fail now, not in every worker: the initializer must travel.
      this.fnSpecs.set(0, functionRef(this.initializer));
    }
    livePools.add(this);
    // Workers start when the first work arrives (just after the call's
    // tick), so they already know the functions of the calls made so far.
  }

  // ---- public API ---------------------------------------------------------

  /** Runs fn(...args) in a worker; resolves with its value. */
  apply<R>(fn: AnyArgs<R>, args: unknown[] = []): Promise<Awaited<R>> {
    return this.applyAsync(fn, args).get() as Promise<Awaited<R>>;
  }

  applyAsync<R>(
    fn: AnyArgs<R>,
    args: unknown[] = [],
    callbacks: AsyncCallbacks<Awaited<R>> = {},
  ): AsyncResult<Awaited<R>> {
    this.checkRunning();
    checkFunction(fn, 'fn');
    if (!Array.isArray(args)) throw new TypeError('args must be an array');
    const result = new AsyncResult<Awaited<R>>(callbacks, this.pump);
    const job = new ApplyJob(result as AsyncResult<unknown>);
    this.submit(job, fn, MODE_APPLY, [[0, args.slice()]]); // sent later: copy
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
    return this.mapLike(
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
    return this.mapLike(
      fn,
      iterable,
      chunksize,
      callbacks as AsyncCallbacks<unknown[]>,
      MODE_STAR,
    ) as AsyncResult<Awaited<R>[]>;
  }

  /** An async iterator over fn(item), in input order (default chunksize 1). */
  imap<T, R>(fn: (item: T) => R, iterable: Iterable<T>, chunksize = 1): IMapIterator<Awaited<R>> {
    return this.imapLike(fn as AnyFunction, iterable, chunksize, true) as IMapIterator<Awaited<R>>;
  }

  /** Like imap, in the order results arrive. */
  imapUnordered<T, R>(
    fn: (item: T) => R,
    iterable: Iterable<T>,
    chunksize = 1,
  ): IMapIterator<Awaited<R>> {
    return this.imapLike(fn as AnyFunction, iterable, chunksize, false) as IMapIterator<Awaited<R>>;
  }

  /** No more work will be submitted; workers exit once the work is done. */
  close(): void {
    if (this.state === 'running') {
      this.state = 'closed';
      this.updateRef();
      this.maybeRetireAll();
    }
  }

  /** Stops the workers now (SIGTERM, then SIGKILL); pending calls reject
   * with BrokenPoolError. */
  terminate(): void {
    if (this.state === 'terminated' || this.forgotten) return;
    this.state = 'terminated';
    this.failAll(new BrokenPoolError('the pool was terminated before this call finished'));
    for (const w of this.workers) w.proc.kill('SIGTERM');
    if (this.workers.length > 0) {
      this.killTimer = setTimeout(() => {
        this.killTimer = null;
        for (const w of this.workers) if (w.exitcode === null) w.proc.kill('SIGKILL');
      }, KILL_GRACE_MS);
    }
    this.updateRef();
    this.checkJoined();
  }

  /** Waits for every worker to exit; call close() or terminate() first. */
  join(): Promise<void> {
    if (this.state === 'running') {
      throw new ValueError('the pool is still running: call close() or terminate() before join()');
    }
    if (this.workers.length === 0 && this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.joinWaiters.push(resolve));
  }

  /** `await using pool = new Pool()`: terminates and joins, as Python's with. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.terminate();
    await this.join();
  }

  // ---- submission ---------------------------------------------------------

  private checkRunning(): void {
    if (this.state === 'running') return;
    if (this.forgotten) {
      throw new BrokenPoolError(
        `this pool belongs to process ${this.ownerPid}, not to this forked child: ` +
          `create a new Pool in the child`,
      );
    }
    if (this.state === 'broken') {
      throw new BrokenPoolError(
        `the pool is broken (${this.brokenBy?.message}): create a new Pool`,
        { cause: this.brokenBy },
      );
    }
    throw new BrokenPoolError(
      `the pool is ${this.state}: it takes no more work (create a new Pool)`,
    );
  }

  private mapLike(
    fn: AnyFunction,
    iterable: Iterable<unknown>,
    chunksize: number | null | undefined,
    callbacks: AsyncCallbacks<unknown[]>,
    mode: Mode,
  ): AsyncResult<unknown[]> {
    this.checkRunning();
    checkFunction(fn, 'fn');
    const items = toArray(iterable, 'iterable');
    const size =
      chunksize == null
        ? defaultChunksize(items.length, this.processes)
        : checkChunksize(chunksize);
    const result = new AsyncResult<unknown[]>(callbacks, this.pump);
    const parts = this.split(items, size);
    const job = new MapJob(result, parts.length);
    if (parts.length > 0) this.submit(job, fn, mode, parts);
    return result;
  }

  private imapLike(
    fn: AnyFunction,
    iterable: Iterable<unknown>,
    chunksize: number,
    ordered: boolean,
  ): IMapIterator {
    this.checkRunning();
    checkFunction(fn, 'fn');
    const items = toArray(iterable, 'iterable');
    const parts = this.split(items, checkChunksize(chunksize));
    const sizes = new Map<number, number>();
    for (const [index, part] of parts) sizes.set(index, part.length);
    const it = new IMapIterator(ordered, parts.length, sizes);
    if (parts.length > 0) this.submit(it, fn, MODE_MAP, parts);
    return it;
  }

  private split(items: unknown[], size: number): Array<[number, unknown[]]> {
    const parts: Array<[number, unknown[]]> = [];
    if (items.length === 0) return parts;
    // Copies: the call sends them later, and the caller may change its array.
    if (size >= items.length) return [[0, items.slice()]];
    for (let i = 0; i < items.length; i += size) parts.push([i, items.slice(i, i + size)]);
    return parts;
  }

  private submit(job: Job, fn: AnyFunction, mode: Mode, parts: Array<[number, unknown[]]>): void {
    const fnId = this.register(fn);
    for (const [index, payload] of parts) {
      this.queue.push({ id: this.nextChunkId++, job, index, fn, fnId, mode, payload, frame: null });
    }
    this.fnUse.set(fnId, (this.fnUse.get(fnId) ?? 0) + parts.length);
    this.outstanding += parts.length;
    this.updateRef();
    this.scheduleDispatch();
  }

  private register(fn: AnyFunction): number {
    let id = this.fnIds.get(fn);
    if (id !== undefined) return id;
    // Spawn: the function must travel; fail in the caller, not in a worker.
    const spec = this.startMethod === 'spawn' ? functionRef(fn) : null;
    if (this.functions.size >= REGISTRY_SOFT_LIMIT) this.pruneRegistry();
    id = this.nextFnId++;
    this.fnIds.set(fn, id);
    this.functions.set(id, fn);
    if (spec) this.fnSpecs.set(id, spec);
    return id;
  }

  private pruneRegistry(): void {
    for (const [id, fn] of this.functions) {
      if (this.fnUse.get(id)) continue;
      this.functions.delete(id);
      this.fnSpecs.delete(id);
      this.fnIds.delete(fn);
    }
  }

  private releaseChunk(chunk: Chunk): void {
    this.outstanding--;
    const left = (this.fnUse.get(chunk.fnId) ?? 1) - 1;
    if (left > 0) this.fnUse.set(chunk.fnId, left);
    else this.fnUse.delete(chunk.fnId);
    chunk.frame = null;
    chunk.payload = [];
  }

  // ---- scheduling ---------------------------------------------------------

  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    // A microtask: calls made in the same tick are registered before any
    // worker is forked, so one generation of workers knows all of them.
    queueMicrotask(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    if (this.dispatching || this.forgotten) return;
    this.dispatching = true;
    try {
      while (
        this.queueHead < this.queue.length &&
        this.state !== 'terminated' &&
        this.state !== 'broken'
      ) {
        const chunk = this.queue[this.queueHead];
        if (!chunk.frame) {
          try {
            const payload =
              chunk.mode === MODE_MAP ? packValues(chunk.payload as unknown[]) : chunk.payload;
            chunk.frame = serialize([MSG_TASK, chunk.id, chunk.fnId, chunk.mode, payload]);
          } catch (err) {
            this.queueHead++;
            this.releaseChunk(chunk);
            const reason = err instanceof Error ? err.message : String(err);
            chunk.job.chunkFailed(
              chunk,
              new SerializationError(`a task's arguments cannot be sent to a worker: ${reason}`, {
                cause: err,
              }),
            );
            continue;
          }
        }
        const worker = this.pickWorker(chunk);
        if (!worker) {
          if (this.makeRoom(chunk)) continue;
          break;
        }
        this.queueHead++;
        this.sendChunk(worker, chunk);
      }
      if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.queueHead);
        this.queueHead = 0;
      }
    } finally {
      this.dispatching = false;
      this.flushAll();
    }
  }

  private knows(w: WorkerSlot, fnId: number): boolean {
    return this.startMethod === 'spawn' || w.knownMax >= fnId;
  }

  private usable(w: WorkerSlot): boolean {
    return !w.retiring && w.exitcode === null && !w.eof && !w.writeFailed;
  }

  private pickWorker(chunk: Chunk): WorkerSlot | null {
    const waiting = this.queue.length - this.queueHead;
    const frameSize = (chunk.frame as Buffer).length;
    const mayPrefetch = frameSize <= PREFETCH_MAX_BYTES && waiting > 2 * this.processes;
    let best: WorkerSlot | null = null;
    let usable = 0;
    for (const w of this.workers) {
      if (!this.usable(w)) continue;
      usable++;
      if (!this.knows(w, chunk.fnId)) continue;
      const tiny = mayPrefetch && frameSize <= TINY_FRAME_BYTES;
      const limit = mayPrefetch ? (tiny ? TINY_DEPTH : 2) : 1;
      if (w.held.length >= limit) continue;
      // Tiny tasks go in batches: a worker already half full waits until it
      // is (nearly) done, unless it is being filled in this pass.
      if (tiny && w.held.length > 0 && w.outbox.length === 0 && w.held.length > TINY_DEPTH / 4) {
        continue;
      }
      if (!best || w.held.length < best.held.length) best = w;
    }
    // Queue behind a busy worker only when the pool is at full strength.
    if (best && best.held.length > 0 && usable < this.processes) return null;
    return best;
  }

  /** No worker can take `chunk` now: start one, or replace an idle worker
   * that does not know the chunk's function. True when worth retrying. */
  private makeRoom(chunk: Chunk): boolean {
    const usable = this.workers.filter((w) => this.usable(w));
    if (usable.length < this.processes) {
      this.requestWorkers();
      return false;
    }
    const stale = usable.find((w) => w.held.length === 0 && !this.knows(w, chunk.fnId));
    if (stale) {
      this.retire(stale);
      this.requestWorkers();
    }
    return false;
  }

  /** Starts the workers the queue needs, from a fresh macrotask: a fork
   * must not happen while reactions to settled calls are pending, or the
   * worker would run the caller's continuations. getSync() cannot wait for
   * the event loop: it starts them at once. */
  private requestWorkers(): void {
    if (this.forgotten) return;
    if (this.pumping) {
      this.startNeededWorkers();
      return;
    }
    if (this.startRequested) return;
    this.startRequested = true;
    requestCleanTick(this);
  }

  /** @internal Called by the clean-tick watch (see requestCleanTick). */
  _onCleanTick(): void {
    if (!this.startRequested) return;
    this.startRequested = false;
    this.startNeededWorkers();
    this.dispatch();
  }

  private startNeededWorkers(): void {
    if (this.forgotten || this.state === 'terminated' || this.state === 'broken') return;
    const usable = this.workers.filter((w) => this.usable(w)).length;
    let need = Math.min(this.processes - usable, this.queue.length - this.queueHead);
    while (need-- > 0) if (!this.startWorker()) break;
  }

  private startWorker(): boolean {
    let proc: PoolWorkerProcess;
    const knownMax = this.nextFnId - 1;
    try {
      proc = startPoolWorker(this.startMethod, {
        initializer: this.startMethod === 'fork' ? this.initializer : null,
        initializerRef: this.startMethod === 'spawn' ? (this.fnSpecs.get(0) ?? null) : null,
        initargs: this.initargs,
        maxtasks: this.maxtasks,
        functions: this.startMethod === 'fork' ? this.functions : null,
      });
    } catch (err) {
      this.breakPool(err as Error);
      return false;
    }
    const w: WorkerSlot = {
      proc,
      held: [],
      sent: 0,
      knownMax,
      defined: new Set(),
      outbox: [],
      retiring: false,
      exitcode: null,
      eof: false,
      writeFailed: false,
      finished: false,
    };
    this.workers.push(w);
    proc.onExit((code) => this.onWorkerExit(w, code));
    if (!this.refed) proc.unref();
    proc.onReadable(() => this.drain(w));
    return true;
  }

  private sendChunk(w: WorkerSlot, chunk: Chunk): void {
    w.held.push(chunk);
    w.sent++;
    if (this.maxtasks !== null && w.sent >= this.maxtasks) w.retiring = true; // it exits by itself
    if (this.startMethod === 'spawn' && !w.defined.has(chunk.fnId)) {
      this.flushTo(w);
      try {
        // Task messages are raw frames of lib/serialize (the worker decodes them
        // itself, batches included), never Connection.send.
        w.proc.tasks.sendBytes(serialize([MSG_DEF, chunk.fnId, this.fnSpecs.get(chunk.fnId)]));
      } catch {
        w.writeFailed = true; // gone (EPIPE): its exit fails what it holds
      }
      w.defined.add(chunk.fnId);
    }
    // Written when this dispatch pass ends: one write for all of them.
    w.outbox.push(chunk.frame as Buffer);
    if (!this.outboxes.includes(w)) this.outboxes.push(w);
    chunk.frame = null;
  }

  private flushTo(w: WorkerSlot): void {
    const frames = w.outbox;
    if (frames.length === 0) return;
    w.outbox = [];
    try {
      w.proc.tasks.sendBytes(frames.length === 1 ? frames[0] : packFrames(frames));
    } catch {
      w.writeFailed = true; // gone (EPIPE): its exit fails what it holds
    }
  }

  private flushAll(): void {
    const ws = this.outboxes;
    this.outboxes = [];
    for (const w of ws) this.flushTo(w);
  }

  private retire(w: WorkerSlot): void {
    if (w.retiring) return;
    w.retiring = true;
    this.flushTo(w);
    try {
      w.proc.tasks.sendBytes(serialize([MSG_EXIT]));
    } catch {
      // already gone
    }
  }

  private maybeRetireAll(): void {
    if (this.state !== 'closed' || this.outstanding > 0) return;
    for (const w of this.workers) this.retire(w);
    this.checkJoined();
  }

  // ---- results and worker exits -------------------------------------------

  /** Takes every whole message that is readable now. False at end of file
   * (the worker closed its end: it exited or is about to). */
  private drain(w: WorkerSlot): boolean {
    const conn = w.proc.results;
    try {
      while (!w.eof && !this.forgotten && conn.poll(0)) {
        this.onMessage(w, conn.recvSync() as unknown[]);
      }
    } catch {
      if (this.forgotten || w.eof) return false;
      w.eof = true;
      w.proc.stopReading();
      if (w.exitcode === null && w.held.length > 0) {
        // It closed its pipe without exiting: it cannot serve us any more.
        w.proc.kill('SIGKILL');
      }
      this.finishWorker(w);
      return false;
    }
    return !w.eof;
  }

  private onMessage(w: WorkerSlot, msg: unknown[]): void {
    if (msg[0] === MSG_RESULT) {
      if (this.takeResult(w, msg[1] as number, msg[2] as boolean, msg[3])) this.afterProgress();
    } else if (msg[0] === MSG_RESULTS) {
      for (const [id, ok, value] of msg[1] as Array<[number, boolean, unknown]>) {
        if (!this.takeResult(w, id, ok, value)) return;
      }
      this.afterProgress();
    } else if (msg[0] === MSG_INIT_ERROR) {
      const cause = decodeError(msg[1] as EncodedError);
      this.breakPool(
        new BrokenPoolError(
          `the pool's initializer failed in worker ${w.proc.pid}: ${cause.message}`,
          {
            cause,
          },
        ),
      );
    }
  }

  private takeResult(w: WorkerSlot, id: number, ok: boolean, value: unknown): boolean {
    const chunk = w.held.shift();
    if (!chunk || chunk.id !== id) {
      this.breakPool(new BrokenPoolError(`pool worker ${w.proc.pid} answered out of order`));
      return false;
    }
    this.releaseChunk(chunk);
    if (ok) chunk.job.chunkDone(chunk, value);
    else chunk.job.chunkFailed(chunk, decodeError(value as EncodedError));
    return true;
  }

  private afterProgress(): void {
    this.updateRef();
    if (this.state === 'closed' && this.outstanding === 0) this.maybeRetireAll();
    else this.dispatch();
  }

  private onWorkerExit(w: WorkerSlot, exitcode: number): void {
    if (this.forgotten) return;
    w.exitcode = exitcode;
    // Its last results may still sit in the pipe: take them before what it
    // still holds is declared lost.
    if (!w.eof) this.drain(w);
    this.finishWorker(w);
  }

  private finishWorker(w: WorkerSlot): void {
    if (w.finished || w.exitcode === null) return; // the exit notice completes it
    w.finished = true;
    const i = this.workers.indexOf(w);
    if (i >= 0) this.workers.splice(i, 1);
    w.proc.forget();
    const lost = w.held.splice(0);
    if (lost.length > 0) {
      const how = Number.isNaN(w.exitcode)
        ? 'exited'
        : w.exitcode < 0
          ? `was killed by signal ${-w.exitcode}`
          : `exited with code ${w.exitcode}`;
      for (const chunk of lost) {
        const err = new WorkerLostError(
          `pool worker ${w.proc.pid} ${how} while running this task ` +
            `(a crash, a kill, or process.exit() in the task); the pool replaced it and ` +
            `the other tasks go on`,
        );
        err.exitcode = Number.isNaN(w.exitcode) ? null : w.exitcode;
        this.releaseChunk(chunk);
        chunk.job.chunkFailed(chunk, err);
      }
    }
    // A replacement starts when there is work for it (dispatch asks).
    if (this.state === 'running' || (this.state === 'closed' && this.outstanding > 0)) {
      this.dispatch();
    }
    this.afterProgress();
    this.checkJoined();
  }

  private failAll(err: Error): void {
    const queued = this.queue.slice(this.queueHead);
    this.queue = [];
    this.queueHead = 0;
    const held = this.workers.flatMap((w) => w.held.splice(0));
    for (const chunk of [...queued, ...held]) {
      this.releaseChunk(chunk);
      chunk.job.chunkFailed(chunk, err);
    }
  }

  private breakPool(err: Error): void {
    if (this.state === 'broken' || this.state === 'terminated') return;
    this.brokenBy = err;
    const wrapped =
      err instanceof BrokenPoolError
        ? err
        : new BrokenPoolError(`the pool cannot start workers: ${err.message}`, { cause: err });
    this.state = 'broken';
    this.brokenBy = wrapped;
    this.failAll(wrapped);
    for (const w of this.workers) w.proc.kill('SIGKILL');
    this.updateRef();
    this.checkJoined();
  }

  private checkJoined(): void {
    if (this.workers.length > 0 || this.state === 'running') return;
    if (this.killTimer) {
      clearTimeout(this.killTimer);
      this.killTimer = null;
    }
    livePools.delete(this);
    const waiters = this.joinWaiters.splice(0);
    for (const resolve of waiters) resolve();
  }

  /** Keep the event loop alive only while the pool has something to do. */
  private updateRef(): void {
    const want = this.outstanding > 0 || (this.state !== 'running' && this.workers.length > 0);
    if (want === this.refed) return;
    this.refed = want;
    for (const w of this.workers) {
      if (want) w.proc.ref();
      else w.proc.unref();
    }
  }

  // ---- blocking waits (AsyncResult.getSync) -------------------------------

  private readonly pump = (isReady: () => boolean, deadline: number): void => {
    this.pumping = true;
    try {
      holdNotifications(() => this.pumpUntil(isReady, deadline));
    } finally {
      this.pumping = false;
    }
  };

  private pumpUntil(isReady: () => boolean, deadline: number): void {
    if (this.startRequested) {
      this.startRequested = false;
      this.startNeededWorkers();
    }
    this.dispatch();
    while (!isReady()) {
      const left = deadline - performance.now();
      if (left <= 0) return;
      for (const w of [...this.workers]) {
        if (!w.eof && !w.finished) this.drain(w);
        if (w.eof && w.exitcode === null) this.reapSync(w);
      }
      if (isReady()) return;
      this.dispatch();
      // Nothing yet: sleep on one busy worker's pipe a little, then look again.
      const busy = this.workers.find((w) => w.held.length > 0 && !w.eof);
      if (!busy) {
        if (this.outstanding === 0 || this.state === 'terminated' || this.state === 'broken')
          return;
        Atomics.wait(pauseCell, 0, 0, 1); // a worker is starting: do not spin
        continue;
      }
      try {
        busy.proc.results.poll(Math.min(left, 20) / 1000);
      } catch {
        // closed meanwhile: the next round sees it
      }
    }
  }

  private reapSync(w: WorkerSlot): void {
    let code: number | null = null;
    try {
      code = w.proc.waitExitSync(2000);
    } catch {
      code = NaN; // cannot wait for it here: its exit notice completes it
    }
    if (code === null) {
      w.proc.kill('SIGKILL');
      return;
    }
    w.exitcode = code;
    this.finishWorker(w);
  }

  /** @internal In a forked child: let go of this pool without touching its
   * workers (they belong to the parent). */
  _forgetInChild(): void {
    this.forgotten = true;
    this.state = 'terminated';
    this.startRequested = false;
    if (this.killTimer) clearTimeout(this.killTimer);
    this.killTimer = null;
    for (const w of this.workers) w.proc.forget();
    this.workers.length = 0;
    this.queue = [];
    this.queueHead = 0;
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
