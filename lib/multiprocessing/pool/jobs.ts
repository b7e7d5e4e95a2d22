// What a Pool call is waiting for: one job per call, split into chunks that
// workers run. A job gathers its chunks' results in input order. The cluster
// Pool (lib/cluster) settles the same jobs with its chunks' outcomes, so a
// call behaves alike on one machine and on many.
import { ValueError } from '../../core/errors';
import { callSafely, notify, type AsyncResult } from './async-result';
import { unpackValues, type ItemRange, type Mode } from './protocol';
import type { AnyFunction } from './worker-loop';

export interface Chunk {
  id: number;
  job: Job;
  /** Position of the chunk's first item in the call's input. */
  index: number;
  fn: AnyFunction;
  fnId: number;
  mode: Mode;
  /** What the chunk's items travel as is made when it is sent. */
  payload: unknown[] | Float64Array | ItemRange;
  /** The encoded task message, made once, dropped once sent. */
  frame: Buffer | null;
  /** The bytes sent for it (its message, and a spawn worker's definition
   * of its function), counted in WorkerSlot.heldBytes while it is held. */
  bytes: number;
  /** Times it went back to the queue from a worker that died (engine). */
  requeued?: number;
  /** When it was queued and sent to a worker (performance.now() ms; 0:
   * not yet), for pool.stats(). */
  queuedAt: number;
  sentAt: number;
}

/** A call's side: each chunk, known by the input position of its first
 * item, settles once, with its values or an error. */
export interface Job {
  chunkDone(index: number, value: unknown): void;
  chunkFailed(index: number, err: Error): void;
  /** The call was aborted: settle with `err`, ignore what arrives later. */
  abort(err: Error): void;
}

/** A map's progress callback: items done so far, of `total`. */
export type Progress = (done: number, total: number) => void;

/** Python's default: about four chunks per worker. */
export function defaultChunksize(length: number, processes: number): number {
  if (length === 0) return 0;
  return Math.ceil(length / (processes * 4));
}

export function checkChunksize(chunksize: number): number {
  if (!Number.isInteger(chunksize) || chunksize < 1) {
    throw new ValueError(`chunksize must be a positive integer, not ${chunksize}`);
  }
  return chunksize;
}

/** apply / applyAsync: one chunk, one value. */
export class ApplyJob implements Job {
  constructor(readonly result: AsyncResult<unknown>) {}
  chunkDone(_index: number, value: unknown): void {
    this.result._resolve(value);
  }
  chunkFailed(_index: number, err: Error): void {
    this.result._reject(err);
  }
  abort(err: Error): void {
    this.result._reject(err);
  }
}

/** map / starmap: every chunk's values, in input order; the first failure
 * rejects the call (the other chunks still run to completion). Values are
 * copied into the result as soon as every chunk before theirs is in: while
 * the workers run the later chunks, not all at the end (copying 100,000
 * values took a fifth of a cold map of tiny tasks). */
export class MapJob implements Job {
  /** Chunks that came before a chunk ahead of them, by input position. */
  private readonly early = new Map<number, ArrayLike<unknown>>();
  /** The values so far: every input position before `next`. */
  private values: unknown[] = [];
  private next = 0;
  private remaining: number;
  private failed = false;
  private done = 0;
  constructor(
    readonly result: AsyncResult<unknown[]>,
    chunks: number,
    private readonly total = 0,
    private readonly progress: Progress | null = null,
  ) {
    this.remaining = chunks;
    if (chunks === 0) result._resolve([]);
  }
  chunkDone(index: number, value: unknown): void {
    if (this.failed) return;
    const items = value as ArrayLike<unknown>;
    if (this.progress) {
      const done = (this.done += items.length);
      const progress = this.progress;
      callSafely(() => progress(done, this.total));
    }
    if (index !== this.next) this.early.set(index, items);
    else {
      this.append(items);
      for (let more = this.early.get(this.next); more; more = this.early.get(this.next)) {
        this.early.delete(this.next);
        this.append(more);
      }
    }
    if (--this.remaining > 0) return;
    const values = this.values;
    this.drop();
    this.result._resolve(values);
  }
  /** push keeps the array packed (fast to send on, or to use). */
  private append(items: ArrayLike<unknown>): void {
    const values = this.values;
    for (let i = 0; i < items.length; i++) values.push(items[i]);
    this.next += items.length;
  }
  private drop(): void {
    this.early.clear();
    this.values = [];
  }
  chunkFailed(_index: number, err: Error): void {
    this.remaining--;
    if (this.failed) return;
    this.failed = true;
    this.drop();
    this.result._reject(err);
  }
  abort(err: Error): void {
    this.failed = true;
    this.drop();
    this.result._reject(err);
  }
}

type Settled = { ok: true; values: unknown[] } | { ok: false; error: Error; n: number };

/** imap / imapUnordered: an async iterator over the values, in input order
 * or in the order chunks finish. A failed chunk throws at each of its positions;
 * later values can still be taken with next(). */
export class IMapIterator<T = unknown> implements Job, AsyncIterableIterator<T> {
  private readonly settled = new Map<number, Settled>(); // by chunk index (ordered)
  private readonly arrived: Settled[] = []; // in arrival order (unordered)
  private nextIndex = 0; // ordered: the next input position to yield
  private pendingValues: unknown[] = [];
  // A failed chunk of n items throws at each of its n positions, so the
  // values after it stay at their input positions.
  private pendingError: { error: Error; left: number } | null = null;
  private chunksLeft: number;
  private waiter: (() => void) | null = null;
  /** Set by abort(): thrown by the next next(), then the iterator is done. */
  private aborted: Error | null = null;
  private finished = false;
  private done = 0;
  private readonly total: number;
  /** @internal Drops the chunks not yet sent (set by the Pool). */
  _cancel: () => void = () => {};

  constructor(
    private readonly ordered: boolean,
    chunks: number,
    private readonly chunkSizes: Map<number, number>,
    private readonly progress: Progress | null = null,
  ) {
    this.chunksLeft = chunks;
    let total = 0;
    for (const size of chunkSizes.values()) total += size;
    this.total = total;
  }

  chunkDone(index: number, value: unknown): void {
    const values = unpackValues(value as unknown[] | Float64Array);
    if (this.progress && !this.finished) {
      const done = (this.done += values.length);
      const progress = this.progress;
      callSafely(() => progress(done, this.total));
    }
    this.store(index, { ok: true, values });
  }
  chunkFailed(index: number, err: Error): void {
    this.store(index, { ok: false, error: err, n: this.chunkSizes.get(index) ?? 1 });
  }
  abort(err: Error): void {
    if (this.finished) return;
    this.aborted = err;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    if (w) notify(w);
  }

  private store(index: number, s: Settled): void {
    if (this.finished) return;
    if (this.ordered) this.settled.set(index, s);
    else this.arrived.push(s);
    this.wake();
  }

  /** The next value; resolves `{ done: true }` after the last one. After
   * an abort, rejects once with the AbortError, then is done. */
  async next(): Promise<IteratorResult<T>> {
    for (;;) {
      if (this.aborted) {
        const err = this.aborted;
        this.finish();
        throw err;
      }
      if (this.finished) return { done: true, value: undefined };
      if (this.pendingValues.length > 0) {
        return { done: false, value: this.pendingValues.shift() as T };
      }
      if (this.pendingError) {
        const p = this.pendingError;
        if (--p.left === 0) this.pendingError = null;
        throw p.error;
      }
      if (this.chunksLeft === 0) {
        this.finish(); // lets go of the call's signal
        return { done: true, value: undefined };
      }
      const s = this.take();
      if (s) {
        this.chunksLeft--;
        if (!s.ok) {
          if (s.n > 1) this.pendingError = { error: s.error, left: s.n - 1 };
          throw s.error;
        }
        this.pendingValues = s.values;
        continue;
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  private take(): Settled | undefined {
    if (!this.ordered) return this.arrived.shift();
    const s = this.settled.get(this.nextIndex);
    if (!s) return undefined;
    this.settled.delete(this.nextIndex);
    this.nextIndex += this.chunkSizes.get(this.nextIndex) ?? 1;
    return s;
  }

  /** `break` out of a `for await`: the chunks not yet sent are dropped
   * (those running finish, their values are discarded). */
  async return(): Promise<IteratorResult<T>> {
    this.finish();
    return { done: true, value: undefined };
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.aborted = null;
    this.pendingValues = [];
    this.settled.clear();
    this.arrived.length = 0;
    this._cancel();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
