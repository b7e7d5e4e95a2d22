// cluster.Pool: the multiprocessing Pool API over BullMQ. Each call is split
// into chunks; each chunk is one BullMQ job on the queue `name`, run by any
// `forkful worker` on that queue (in its local fork pool). Results come back
// through BullMQ's events stream; a reconcile pass reads the jobs themselves
// when events may have been missed (a Redis restart), and submits again a
// job that Redis lost. Execution is at-least-once; each chunk's outcome is
// delivered to the call exactly once.
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import type { ConnectionOptions, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  BrokenPoolError,
  BrokerError,
  NotSupportedError,
  ValueError,
  WorkerLostError,
} from '../core/errors';
import { abortError, checkSignal } from '../core/abort';
import { checkCallback, checkOptions, numberOrOptions } from '../core/options';
import {
  AsyncResult,
  type ApplyOptions,
  type AsyncCallbacks,
  type CallOptions,
  type MapAsyncOptions,
  type MapOptions,
} from '../multiprocessing';
import { beat, CALLER_GONE, cleanCaller, removeJobs, sweepDeadCallers } from './callers';
import {
  ApplyJob,
  IMapIterator,
  MapJob,
  type Job,
  type Progress,
} from '../multiprocessing/pool/jobs';
import { createClient, Keys, type Connection } from './connection';
import { within } from './bounded';
import { positiveInt, readQueueOptions, seconds, type QueueOptions } from './options';
import { bullmq } from './deps';
import { specName, targetSpec, type Target, type TargetSpec } from './target';
import {
  DEFAULT_MAX_JOB_BYTES,
  WIRE_VERSION,
  decodeError,
  decodeValue,
  encodeValue,
  type JobData,
  type Mode,
  type Outcome,
  type WireError,
} from './wire';
import { parseWorkerName } from './worker-name';

export interface PoolOptions extends QueueOptions {
  /** Default chunksize of map/starmap (else Python's: ceil(n / (4 × processes))). */
  chunksize?: number | null;
  /** How many worker processes to plan chunks for (default: the processes
   * of the workers connected when the call is made). */
  processes?: number | null;
  /** Seconds the cluster keeps this pool's jobs and results after it stops
   * (its heartbeat lapses): then they are dropped (default 60). */
  ttl?: number;
  /** Largest encoded arguments (or result) of one job, in bytes (default 4 MiB). */
  maxJobBytes?: number;
}

/** Counters of a pool's life so far. */
export interface PoolStats {
  /** Chunks (jobs) submitted, first submissions only. */
  submitted: number;
  /** Chunks whose outcome (value or error) was delivered. */
  delivered: number;
  /** Chunks submitted again: Redis lost the job, or dropped it while this
   * pool's heartbeat had lapsed. */
  resubmitted: number;
  /** Outcomes that arrived for a chunk already delivered (or of an
   * aborted call), and were ignored. */
  duplicates: number;
  /** Chunks of aborted calls: dropped before they ran, removed from Redis
   * while waiting there, or left to finish on their worker unheeded. */
  cancelled: number;
  /** Reconcile passes (reading jobs when events may have been missed). */
  reconciles: number;
  /** Chunks submitted and not delivered yet. */
  outstanding: number;
}

// Any function a pool task may run: its arguments are checked by the caller's
// own types, not the pool's.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyArgs<R> = (...args: any[]) => R;
type AnyTarget<R> = AnyArgs<R> | { module: string; export?: string };

interface Chunk {
  call: Job;
  /** Position of the chunk's first item in the call's input. */
  index: number;
  data: JobData;
  name: string;
  seq: number;
  /** Every job id this chunk was submitted under (a resubmission is a new
   * job); the latest last. */
  ids: string[];
  /** Its latest job is in Redis (addBulk returned). */
  submitted: boolean;
  done: boolean;
}

const MAP_OPTIONS = ['chunksize', 'signal', 'progress'] as const;
const MAP_ASYNC_OPTIONS = [...MAP_OPTIONS, 'callback', 'errorCallback'] as const;

interface Submission {
  call: Job & { init?(sizes: Map<number, number>): void };
  spec: TargetSpec;
  mode: Mode;
  /** apply: [args]; map/star: the items. */
  items: unknown[];
  chunksize: number | null;
}

const ADD_BATCH = 1000;
const SADD_BATCH = 5000;
const RECONCILE_BATCH = 500;
// No news for our jobs this long: read them (events may have been missed).
// The wait doubles while passes find nothing, up to the maximum.
const RECONCILE_IDLE_MS = 3000;
const RECONCILE_MAX_MS = 60000;
const TICK_MS = 1000;
const WORKERS_REFRESH_MS = 10000;
const WARN_EVERY_MS = 10000;
const SHUTDOWN_MS = 5000;

function toArray<T>(iterable: Iterable<T>, what: string): T[] {
  if (Array.isArray(iterable)) return iterable.slice(); // sent later: copy
  if (iterable == null || typeof (iterable as Iterable<T>)[Symbol.iterator] !== 'function') {
    throw new TypeError(`${what} must be an iterable (an array, a Set, a generator, ...)`);
  }
  return Array.from(iterable);
}

/** Chunk start index -> item count, for n items in chunks of `size`. */
function chunkSizes(n: number, size: number): Map<number, number> {
  const sizes = new Map<number, number>();
  for (let i = 0; i < n; i += size) sizes.set(i, Math.min(size, n - i));
  return sizes;
}

const getSyncPump = (): void => {
  throw new NotSupportedError(
    'getSync() cannot wait for a cluster Pool: its results arrive through the event loop ' +
      '(Redis); use await get()',
  );
};

export class Pool {
  /** The BullMQ queue name. */
  readonly name: string;
  /** This pool's caller id (its jobs' ids start with it). */
  readonly id: string;
  readonly ttl: number;
  readonly maxJobBytes: number;

  private readonly conn: Connection;
  private readonly prefix: string;
  private readonly keys: Keys;
  private readonly chunksize: number | null;
  private readonly processesHint: number | null;

  private state: 'running' | 'closed' | 'terminated' = 'running';
  private client: Redis | null = null;
  private queue: Queue | null = null;
  private events: QueueEvents | null = null;
  private readonly ready: Promise<void>;
  private startError: Error | null = null;

  private readonly byJobId = new Map<string, Chunk>();
  private readonly open = new Set<Chunk>();
  private subs: Submission[] = [];
  private resubmits: Chunk[] = [];
  private flushScheduled = false;
  private flushing = 0;
  private submitting: Promise<void> = Promise.resolve();
  private delivered: string[] = [];
  private nextSeq = 1;

  private tick: NodeJS.Timeout | null = null;
  private lastNews = Date.now();
  private reconcileWait = RECONCILE_IDLE_MS;
  private reconciling = false;
  private reconnected = false;
  private workerProcesses = 0;
  private workersAt = 0;
  private readonly warnedAt = new Map<string, number>();

  private shutdownStarted = false;
  private readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  private readonly counters = {
    submitted: 0,
    delivered: 0,
    resubmitted: 0,
    duplicates: 0,
    reconciles: 0,
    cancelled: 0,
  };
  /** Calls aborted through their signal: their chunks are dropped. */
  private readonly aborted = new WeakSet<Job>();

  constructor(options: PoolOptions) {
    const place = readQueueOptions(
      options,
      ['chunksize', 'processes', 'ttl', 'maxJobBytes'],
      'cluster.Pool',
    );
    this.name = place.name;
    this.conn = place.conn;
    this.prefix = place.prefix;
    this.keys = place.keys;
    this.chunksize = options.chunksize == null ? null : positiveInt(options.chunksize, 'chunksize');
    this.processesHint =
      options.processes == null ? null : positiveInt(options.processes, 'processes');
    this.ttl = seconds(options.ttl ?? 60, 'ttl', 1);
    this.maxJobBytes = positiveInt(options.maxJobBytes ?? DEFAULT_MAX_JOB_BYTES, 'maxJobBytes');
    this.id = `fk${randomBytes(6).toString('hex')}`;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.ready = this.start().catch((err: Error) => {
      this.startError = err;
    });
  }

  // ---- public API ---------------------------------------------------------

  /** Runs fn(...args) on a worker; resolves with its value. `{ signal }`
   * cancels it, as in the local pool (see cancel below). */
  apply<R>(fn: AnyTarget<R>, args: unknown[] = [], options?: CallOptions): Promise<Awaited<R>> {
    const o = checkOptions(options, ['signal'], 'cluster Pool.apply');
    return this.applyAsync(fn, args, o).get();
  }

  applyAsync<R>(
    fn: AnyTarget<R>,
    args: unknown[] = [],
    options: ApplyOptions<Awaited<R>> = {},
  ): AsyncResult<Awaited<R>> {
    const what = 'cluster Pool.applyAsync';
    checkOptions(options, ['callback', 'errorCallback', 'signal'], what);
    const signal = checkSignal(options.signal, what);
    this.checkRunning();
    const spec = targetSpec(fn);
    if (!Array.isArray(args)) throw new TypeError('args must be an array');
    const result = new AsyncResult<Awaited<R>>(options, getSyncPump);
    const call = new ApplyJob(result as AsyncResult<unknown>);
    this.startCall(call, signal, what, () =>
      this.enqueue({ call, spec, mode: 'apply', items: [args.slice()], chunksize: 1 }),
    );
    if (signal) void result.wait().then(() => this.callDone.get(call)?.());
    return result;
  }

  /** fn over every item, results in input order (Python's map). The third
   * argument is a chunksize or `{ chunksize, signal, progress }`. */
  map<T, R>(
    fn: ((item: T) => R) | Target,
    iterable: Iterable<T>,
    options?: number | MapOptions,
  ): Promise<Awaited<R>[]> {
    const o = numberOrOptions(options, 'chunksize', MAP_OPTIONS, 'cluster Pool.map');
    return this.mapLike(fn, iterable, o, 'map', 'cluster Pool.map').get() as Promise<Awaited<R>[]>;
  }

  mapAsync<T, R>(
    fn: ((item: T) => R) | Target,
    iterable: Iterable<T>,
    options?: number | null | MapAsyncOptions<Awaited<R>[]>,
    callbacks: AsyncCallbacks<Awaited<R>[]> = {},
  ): AsyncResult<Awaited<R>[]> {
    const o = this.asyncOptions(options, callbacks, 'cluster Pool.mapAsync');
    return this.mapLike(fn, iterable, o, 'map', 'cluster Pool.mapAsync') as AsyncResult<
      Awaited<R>[]
    >;
  }

  /** Like map, each item being the argument list: fn(...item). */
  starmap<R>(
    fn: AnyTarget<R>,
    iterable: Iterable<unknown[]>,
    options?: number | MapOptions,
  ): Promise<Awaited<R>[]> {
    const o = numberOrOptions(options, 'chunksize', MAP_OPTIONS, 'cluster Pool.starmap');
    return this.mapLike(fn, iterable, o, 'star', 'cluster Pool.starmap').get() as Promise<
      Awaited<R>[]
    >;
  }

  starmapAsync<R>(
    fn: AnyTarget<R>,
    iterable: Iterable<unknown[]>,
    options?: number | null | MapAsyncOptions<Awaited<R>[]>,
    callbacks: AsyncCallbacks<Awaited<R>[]> = {},
  ): AsyncResult<Awaited<R>[]> {
    const o = this.asyncOptions(options, callbacks, 'cluster Pool.starmapAsync');
    return this.mapLike(fn, iterable, o, 'star', 'cluster Pool.starmapAsync') as AsyncResult<
      Awaited<R>[]
    >;
  }

  /** An async iterator over fn(item), in input order (default chunksize
   * 1); `break` stops the call's remaining chunks. */
  imap<T, R>(
    fn: ((item: T) => R) | Target,
    iterable: Iterable<T>,
    options?: number | MapOptions,
  ): IMapIterator<Awaited<R>> {
    const o = numberOrOptions(options, 'chunksize', MAP_OPTIONS, 'cluster Pool.imap');
    return this.imapLike(fn, iterable, o, true, 'cluster Pool.imap') as IMapIterator<Awaited<R>>;
  }

  /** Like imap, in the order results arrive. */
  imapUnordered<T, R>(
    fn: ((item: T) => R) | Target,
    iterable: Iterable<T>,
    options?: number | MapOptions,
  ): IMapIterator<Awaited<R>> {
    const what = 'cluster Pool.imapUnordered';
    const o = numberOrOptions(options, 'chunksize', MAP_OPTIONS, what);
    return this.imapLike(fn, iterable, o, false, what) as IMapIterator<Awaited<R>>;
  }

  private asyncOptions<R>(
    options: number | null | undefined | MapAsyncOptions<R>,
    callbacks: AsyncCallbacks<R>,
    what: string,
  ): MapAsyncOptions<unknown[]> {
    const o = numberOrOptions(options, 'chunksize', MAP_ASYNC_OPTIONS, what);
    checkOptions(callbacks, ['callback', 'errorCallback'], what);
    return { ...callbacks, ...o } as MapAsyncOptions<unknown[]>;
  }

  /** Enqueues a call unless its signal already aborted. On abort its work
   * stops (cancel) and it rejects with AbortError. */
  private startCall(
    call: Job,
    signal: AbortSignal | null,
    what: string,
    enqueue: () => void,
  ): void {
    if (signal?.aborted) {
      call.abort(abortError(signal, what));
      return;
    }
    enqueue();
    if (!signal) return;
    const onAbort = () => {
      this.cancel(call);
      call.abort(abortError(signal, what));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    this.callDone.set(call, () => signal.removeEventListener('abort', onAbort));
  }

  private readonly callDone = new WeakMap<Job, () => void>();

  /** Stops an aborted call's chunks: those not yet submitted are dropped;
   * the open ones are delivered as nothing, so their jobs leave Redis with
   * the next cleanup while still waiting (a job a worker already runs
   * finishes there, and its outcome is ignored). */
  private cancel(call: Job): void {
    if (this.aborted.has(call)) return;
    this.aborted.add(call);
    this.callDone.get(call)?.();
    const before = this.subs.length;
    this.subs = this.subs.filter((sub) => sub.call !== call);
    let dropped = before - this.subs.length;
    for (const chunk of [...this.open]) {
      if (chunk.call !== call) continue;
      this.finish(chunk);
      dropped++;
    }
    this.counters.cancelled += dropped;
    this.afterProgress();
  }

  /** No more calls; the connections close once the submitted work is done. */
  close(): void {
    if (this.state !== 'running') return;
    this.state = 'closed';
    this.maybeShutdown();
  }

  /** Stops now: pending calls reject with BrokenPoolError, this pool's jobs
   * still waiting in Redis are removed (running ones finish on their worker;
   * their results are dropped by the TTL). */
  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    const err = new BrokenPoolError('the pool was terminated before this call finished');
    for (const sub of this.subs.splice(0)) this.failSubmission(sub, err);
    for (const chunk of [...this.open]) {
      this.finish(chunk);
      chunk.call.chunkFailed(chunk.index, err);
    }
    this.resubmits = [];
    this.delivered = [];
    void this.shutdown();
  }

  /** Resolves once the pool is closed or terminated and its connections are
   * closed; call close() or terminate() first. */
  join(): Promise<void> {
    if (this.state === 'running') {
      throw new ValueError('the pool is still running: call close() or terminate() before join()');
    }
    return this.closed;
  }

  /** `await using pool = new cluster.Pool(...)`: terminates and joins. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.terminate();
    await this.join();
  }

  stats(): PoolStats {
    return { ...this.counters, outstanding: this.open.size };
  }

  // ---- calls --------------------------------------------------------------

  private checkRunning(): void {
    if (this.state !== 'running') {
      throw new BrokenPoolError(
        `the pool is ${this.state}: it takes no more work (create a new Pool)`,
      );
    }
  }

  private mapLike(
    fn: unknown,
    iterable: Iterable<unknown>,
    options: MapAsyncOptions<unknown[]>,
    mode: Mode,
    what: string,
  ): AsyncResult<unknown[]> {
    const signal = checkSignal(options.signal, what);
    const progress = checkCallback<Progress>(options.progress, 'progress', what);
    this.checkRunning();
    const spec = targetSpec(fn);
    const items = toArray(iterable, 'iterable');
    const chunksize = options.chunksize;
    const size = chunksize == null ? this.chunksize : positiveInt(chunksize, 'chunksize');
    const result = new AsyncResult<unknown[]>(options, getSyncPump);
    if (items.length === 0) {
      new MapJob(result, 0);
      return result;
    }
    let call: MapJob | null = null;
    let abortedWith: Error | null = null;
    const holder: Job & { init(sizes: Map<number, number>): void } = {
      init: (sizes) => {
        call = new MapJob(result, sizes.size, items.length, progress);
        if (abortedWith) call.abort(abortedWith);
      },
      chunkDone: (index, values) => call?.chunkDone(index, values),
      chunkFailed: (index, err) => call?.chunkFailed(index, err),
      abort: (err) => {
        abortedWith = err;
        if (call) call.abort(err);
        else (result as unknown as { _reject(e: Error): void })._reject(err);
      },
    };
    this.startCall(holder, signal, what, () =>
      this.enqueue({ call: holder, spec, mode, items, chunksize: size }),
    );
    if (signal) void result.wait().then(() => this.callDone.get(holder)?.());
    return result;
  }

  private imapLike(
    fn: unknown,
    iterable: Iterable<unknown>,
    options: MapOptions,
    ordered: boolean,
    what: string,
  ): IMapIterator {
    const signal = checkSignal(options.signal, what);
    const progress = checkCallback<Progress>(options.progress, 'progress', what);
    this.checkRunning();
    const spec = targetSpec(fn);
    const items = toArray(iterable, 'iterable');
    const size = positiveInt(options.chunksize ?? 1, 'chunksize');
    const sizes = chunkSizes(items.length, size);
    const it = new IMapIterator(ordered, sizes.size, sizes, progress);
    it._cancel = () => this.cancel(it);
    this.startCall(it, signal, what, () => {
      if (items.length > 0) this.enqueue({ call: it, spec, mode: 'map', items, chunksize: size });
    });
    return it;
  }

  private enqueue(sub: Submission): void {
    this.subs.push(sub);
    this.scheduleFlush();
  }

  // Calls made in one tick go to Redis together (one addBulk per 1000 jobs).
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.flushing++;
    setImmediate(() => {
      this.flushScheduled = false;
      this.submitting = this.submitting
        .then(() => this.flush())
        // A bug here must not stop every later submission.
        .catch((err: unknown) => this.warn('submit', err))
        .finally(() => {
          this.flushing--;
          this.maybeShutdown();
        });
    });
  }

  private async flush(): Promise<void> {
    await this.ready;
    const subs = this.subs.splice(0);
    const resubmits = this.resubmits.splice(0);
    if (this.startError) {
      const err = new BrokerError(
        `the pool could not start on Redis at ${this.conn.where}: ${this.startError.message}`,
        { cause: this.startError },
      );
      for (const sub of subs) this.failSubmission(sub, err);
      for (const chunk of resubmits) this.failChunk(chunk, err);
      return;
    }
    if (this.state === 'terminated') return;
    const chunks: Chunk[] = [...resubmits];
    const fresh: Chunk[] = [];
    for (const sub of subs) fresh.push(...(await this.split(sub)));
    // A call aborted while its submission was being split: drop its chunks.
    for (let i = fresh.length - 1; i >= 0; i--) {
      if (!this.aborted.has(fresh[i].call)) continue;
      this.finish(fresh[i]);
      this.counters.cancelled++;
      fresh.splice(i, 1);
    }
    chunks.push(...fresh);
    if (chunks.length === 0) return;
    // terminate() may have run while the chunks were being made.
    if ((this.state as string) === 'terminated') {
      const err = new BrokenPoolError('the pool was terminated before this call finished');
      for (const chunk of chunks) this.failChunk(chunk, err);
      return;
    }
    const client = this.client as Redis;
    const queue = this.queue as Queue;
    // The ids go in the caller's set before the jobs: a sweep after this
    // caller's death then finds every job it may have added. The Queue
    // shares this connection, so Redis runs the SADDs first without our
    // waiting for them (one round trip less per call).
    const ids = chunks.map((c) => c.ids[c.ids.length - 1]);
    const recorded: Promise<unknown>[] = [];
    for (let i = 0; i < ids.length; i += SADD_BATCH) {
      recorded.push(client.sadd(this.keys.jobs(this.id), ...ids.slice(i, i + SADD_BATCH)));
    }
    const recordError = Promise.all(recorded).then(
      () => null,
      (err: unknown) => err,
    );
    for (let i = 0; i < chunks.length; i += ADD_BATCH) {
      const batch = chunks.slice(i, i + ADD_BATCH).filter((c) => !c.done);
      if (batch.length === 0) continue;
      try {
        await queue.addBulk(
          batch.map((c) => ({
            name: c.name,
            data: c.data,
            opts: {
              jobId: c.ids[c.ids.length - 1],
              attempts: 1,
              removeOnComplete: { age: this.ttl },
              removeOnFail: { age: this.ttl },
            },
          })),
        );
        for (const c of batch) {
          c.submitted = true;
          if (c.ids.length === 1) this.counters.submitted++;
        }
      } catch (err) {
        for (const c of batch) this.failChunk(c, this.brokerError('submit', err));
      }
    }
    const err = await recordError;
    if (err) this.warn('record', err); // only a later sweep is affected
  }

  private brokerError(what: string, err: unknown): BrokerError {
    const reason = err instanceof Error ? err.message : String(err);
    return new BrokerError(`could not ${what} this job on Redis at ${this.conn.where}: ${reason}`, {
      cause: err,
    });
  }

  /** The chunks of a submission, encoded; a chunk that cannot be encoded
   * fails alone (as a local pool fails the chunk it cannot send). */
  private async split(sub: Submission): Promise<Chunk[]> {
    const n = sub.items.length;
    let size: number;
    if (sub.mode === 'apply') size = 1;
    else size = sub.chunksize ?? Math.ceil(n / (4 * (await this.plannedProcesses())));
    const sizes = chunkSizes(n, size);
    sub.call.init?.(sizes);
    const chunks: Chunk[] = [];
    for (const [index, count] of sizes) {
      const payload = sub.mode === 'apply' ? sub.items[0] : sub.items.slice(index, index + count);
      let p: string;
      try {
        p = encodeValue(
          payload,
          this.maxJobBytes,
          sub.mode === 'apply' ? 'the arguments' : `the ${count} items of a chunk`,
        );
      } catch (err) {
        sub.call.chunkFailed(index, err as Error);
        continue;
      }
      const seq = this.nextSeq++;
      const chunk: Chunk = {
        call: sub.call,
        index,
        data: { v: WIRE_VERSION, c: this.id, t: sub.spec, m: sub.mode, p, l: this.maxJobBytes },
        name: specName(sub.spec),
        seq,
        ids: [`${this.id}-${seq}-1`],
        submitted: false,
        done: false,
      };
      this.byJobId.set(chunk.ids[0], chunk);
      this.open.add(chunk);
      chunks.push(chunk);
    }
    return chunks;
  }

  /** Fails every chunk of a submission that was never split. */
  private failSubmission(sub: Submission, err: Error): void {
    const sizes = chunkSizes(
      sub.items.length,
      sub.mode === 'apply' ? 1 : (sub.chunksize ?? sub.items.length),
    );
    sub.call.init?.(sizes);
    for (const index of sizes.keys()) sub.call.chunkFailed(index, err);
  }

  /** Worker processes to plan map chunks for: the option, else what the
   * connected forkful workers report (their BullMQ worker names), else this
   * machine's CPU count. */
  private async plannedProcesses(): Promise<number> {
    if (this.processesHint) return this.processesHint;
    if (Date.now() - this.workersAt > WORKERS_REFRESH_MS) {
      this.workersAt = Date.now();
      try {
        const workers = await (this.queue as Queue).getWorkers();
        const seen = new Set<string>();
        let total = 0;
        for (const w of workers) {
          const raw = w.rawname ?? w.name ?? '';
          if (seen.has(raw)) continue;
          seen.add(raw);
          total += parseWorkerName(raw)?.processes ?? 0;
        }
        this.workerProcesses = total;
      } catch {
        this.workerProcesses = 0; // CLIENT LIST not allowed: fall back
      }
    }
    return this.workerProcesses || os.availableParallelism();
  }

  // ---- outcomes -----------------------------------------------------------

  private chunkOf(jobId: string): Chunk | undefined {
    const chunk = this.byJobId.get(jobId);
    if (!chunk && jobId.startsWith(`${this.id}-`)) this.counters.duplicates++;
    return chunk;
  }

  private finish(chunk: Chunk): void {
    chunk.done = true;
    for (const id of chunk.ids) this.byJobId.delete(id);
    this.open.delete(chunk);
    this.delivered.push(...chunk.ids);
  }

  private failChunk(chunk: Chunk, err: Error): void {
    if (chunk.done) return;
    this.finish(chunk);
    this.counters.delivered++;
    chunk.call.chunkFailed(chunk.index, err);
    this.afterProgress();
  }

  private onCompleted(jobId: string, returnvalue: unknown): void {
    const chunk = this.chunkOf(jobId);
    if (!chunk) return;
    this.lastNews = Date.now();
    const outcome = returnvalue as Outcome;
    if (!Array.isArray(outcome) || typeof outcome[0] !== 'boolean') {
      this.failChunk(
        chunk,
        new BrokerError(
          `job ${jobId} completed without a forkful outcome: is a non-forkful worker on queue '${this.name}'?`,
        ),
      );
      return;
    }
    if (!outcome[0]) {
      this.failChunk(chunk, decodeError(outcome[1] as WireError));
      return;
    }
    let values: unknown;
    try {
      values = decodeValue(outcome[1] as string);
    } catch (err) {
      this.failChunk(chunk, err as Error);
      return;
    }
    this.finish(chunk);
    this.counters.delivered++;
    chunk.call.chunkDone(chunk.index, values);
    this.afterProgress();
  }

  private onFailed(jobId: string, reason: string): void {
    const chunk = this.chunkOf(jobId);
    if (!chunk) return;
    this.lastNews = Date.now();
    if (reason === CALLER_GONE) {
      // Our heartbeat lapsed (Redis was away longer than the TTL) and a worker
      // dropped the job: we are alive, so it runs again.
      this.resubmit(chunk);
      return;
    }
    if (/stalled/i.test(reason)) {
      const err = new WorkerLostError(
        `the workers running this job were lost too many times (${reason}): a task that ` +
          `kills its worker machine, or workers killed over and over`,
      );
      this.failChunk(chunk, err);
      return;
    }
    this.failChunk(chunk, new BrokerError(`BullMQ failed job ${jobId}: ${reason}`));
  }

  private resubmit(chunk: Chunk): void {
    if (chunk.done || this.state === 'terminated') return;
    const id = `${this.id}-${chunk.seq}-${chunk.ids.length + 1}`;
    chunk.ids.push(id);
    chunk.submitted = false;
    this.byJobId.set(id, chunk);
    this.counters.resubmitted++;
    this.resubmits.push(chunk);
    this.scheduleFlush();
  }

  private afterProgress(): void {
    this.reconcileWait = RECONCILE_IDLE_MS;
    this.maybeShutdown();
  }

  /** Reads the latest job of every open chunk: a finished one is taken, one
   * that Redis no longer has (lost in a restart, or removed) runs again. */
  private async reconcile(): Promise<void> {
    if (this.reconciling || !this.client || !this.queue) return;
    this.reconciling = true;
    this.counters.reconciles++;
    let anomalies = 0;
    try {
      const chunks = [...this.open].filter((c) => c.submitted && !c.done);
      for (let i = 0; i < chunks.length; i += RECONCILE_BATCH) {
        const batch = chunks.slice(i, i + RECONCILE_BATCH);
        const pipe = this.client.pipeline();
        for (const c of batch) {
          pipe.hmget(
            this.queue.toKey(c.ids[c.ids.length - 1]),
            'timestamp',
            'finishedOn',
            'returnvalue',
            'failedReason',
          );
        }
        const replies = (await pipe.exec()) ?? [];
        batch.forEach((c, k) => {
          const [err, fields] = replies[k] ?? [null, null];
          if (err || !fields || c.done || !c.submitted) return;
          const [timestamp, finishedOn, returnvalue, failedReason] = fields as (string | null)[];
          const jobId = c.ids[c.ids.length - 1];
          if (timestamp === null) {
            anomalies++;
            this.resubmit(c);
          } else if (finishedOn !== null && returnvalue !== null) {
            anomalies++;
            this.onCompleted(jobId, JSON.parse(returnvalue));
          } else if (finishedOn !== null && failedReason !== null) {
            anomalies++;
            this.onFailed(jobId, failedReason);
          }
        });
      }
    } catch (err) {
      this.warn('reconcile', err);
    } finally {
      this.reconciling = false;
    }
    this.reconcileWait =
      anomalies > 0 ? RECONCILE_IDLE_MS : Math.min(this.reconcileWait * 2, RECONCILE_MAX_MS);
  }

  private onTick(): void {
    void this.flushDelivered();
    if (this.open.size === 0) return;
    const now = Date.now();
    if (this.reconnected || now - this.lastNews > this.reconcileWait) {
      this.reconnected = false;
      this.lastNews = now;
      void this.reconcile();
    }
  }

  // A delivered job is no longer needed: it leaves Redis and the caller's set
  // in batches, each tick (a batch lost with the caller is swept later).
  private async flushDelivered(): Promise<void> {
    if (this.delivered.length === 0 || !this.client || !this.queue) return;
    const ids = this.delivered.splice(0);
    try {
      const left = new Set(await removeJobs(this.client, this.queue, ids));
      const gone = ids.filter((id) => !left.has(id));
      for (let i = 0; i < gone.length; i += SADD_BATCH) {
        await this.client.srem(this.keys.jobs(this.id), ...gone.slice(i, i + SADD_BATCH));
      }
    } catch (err) {
      this.warn('cleanup', err);
    }
  }

  // ---- connections ----------------------------------------------------------

  private async start(): Promise<void> {
    const { Queue, QueueEvents } = bullmq();
    const client = createClient(this.conn);
    this.client = client;
    client.on('error', (err) => this.warn('client', err));
    // After a reconnect, events may have been lost while Redis was away.
    let wasReady = false;
    client.on('ready', () => {
      if (wasReady) this.reconnected = true;
      wasReady = true;
    });
    const queue = new Queue(this.name, { connection: client, prefix: this.prefix });
    queue.on('error', (err) => this.warn('queue', err));
    this.queue = queue;
    await queue.waitUntilReady();
    // Events are read from the stream's last entry as of now (not '$', which
    // would miss what finishes before the first read is issued).
    const last = await client.xrevrange(queue.keys.events, '+', '-', 'COUNT', 1);
    const lastEventId = last.length > 0 ? last[0][0] : '0-0';
    const events = new QueueEvents(this.name, {
      connection: { ...this.conn.options } as ConnectionOptions,
      prefix: this.prefix,
      lastEventId,
    });
    events.on('error', (err) => this.warn('events', err));
    events.on('completed', ({ jobId, returnvalue }) => this.onCompleted(jobId, returnvalue));
    events.on('failed', ({ jobId, failedReason }) => this.onFailed(jobId, failedReason));
    this.events = events;
    await events.waitUntilReady();
    await beat(client, this.keys, this.id, this.ttl * 1000);
    const beatEvery = Math.max(250, (this.ttl * 1000) / 4);
    let sinceBeat = 0;
    this.tick = setInterval(
      () => {
        sinceBeat += TICK_MS;
        if (sinceBeat >= beatEvery) {
          sinceBeat = 0;
          beat(client, this.keys, this.id, this.ttl * 1000).catch((err) =>
            this.warn('heartbeat', err),
          );
        }
        this.onTick();
      },
      Math.min(TICK_MS, beatEvery),
    );
    this.tick.unref();
    sweepDeadCallers(client, queue, this.keys, this.id).catch((err) => this.warn('sweep', err));
  }

  private maybeShutdown(): void {
    if (
      this.state === 'closed' &&
      this.open.size === 0 &&
      this.subs.length === 0 &&
      this.flushing === 0
    ) {
      void this.shutdown();
    }
  }

  /** Removes this pool's jobs and keys from Redis, then closes the
   * connections. After close(), only delivered jobs are left to remove;
   * after terminate(), whatever was submitted. Bounded: with Redis gone, the
   * connections close after SHUTDOWN_MS and the TTL does the cleanup. */
  private async shutdown(): Promise<void> {
    if (this.shutdownStarted) return;
    this.shutdownStarted = true;
    if (this.tick) clearInterval(this.tick);
    this.tick = null;
    const cleanup = async (): Promise<void> => {
      await this.ready;
      await this.submitting;
      await this.events?.close();
      const client = this.client;
      const queue = this.queue;
      if (client && queue && !this.startError) {
        await this.flushDelivered();
        // Gone first: a worker that picks one of our jobs from now on drops it.
        await client.del(this.keys.alive(this.id));
        // A job still running stays listed; a later sweep removes it.
        await cleanCaller(client, queue, this.keys, this.id);
      }
      await queue?.close();
    };
    const work = cleanup().catch((err) => this.warn('shutdown', err));
    if (!(await within(work, SHUTDOWN_MS))) {
      this.warn(
        'shutdown',
        `Redis did not answer within ${SHUTDOWN_MS / 1000} s: closing without cleaning up ` +
          `(this pool's jobs go when its heartbeat lapses, ${this.ttl} s)`,
      );
      // Only now: disconnecting a closed connection again holds Node for 2 s.
      await Promise.all([this.events?.disconnect(), this.queue?.disconnect()]).catch(() => {});
    }
    this.client?.disconnect();
    this.resolveClosed();
  }

  /** Connection trouble is reported as a warning, once per source and ten
   * seconds: calls wait for Redis to come back rather than fail. */
  private warn(source: string, err: unknown): void {
    const now = Date.now();
    if (now - (this.warnedAt.get(source) ?? 0) < WARN_EVERY_MS) return;
    this.warnedAt.set(source, now);
    const reason = err instanceof Error ? err.message : String(err);
    process.emitWarning(`cluster Pool '${this.name}' (${this.conn.where}), ${source}: ${reason}`, {
      type: 'ForkfulClusterWarning',
    });
  }
}

/** Python's `with Pool(...) as pool:`: runs body with a new cluster pool
 * and terminates it afterwards, whatever happens. */
export async function withPool<T>(
  options: PoolOptions,
  body: (pool: Pool) => T | Promise<T>,
): Promise<T> {
  const pool = new Pool(options);
  try {
    return await body(pool);
  } finally {
    await pool[Symbol.asyncDispose]();
  }
}
