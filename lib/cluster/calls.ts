// What a cluster Pool call waits for: one call per apply/map/imap, split
// into chunks (one BullMQ job each). A call takes each chunk's outcome once;
// the pool never hands it a chunk twice (deduplicated delivery).
import type { AsyncResult } from '../multiprocessing';

export interface Call {
  chunkDone(index: number, values: unknown): void;
  chunkFailed(index: number, err: Error): void;
  /** The call was aborted: settle with `err`, ignore what arrives later. */
  abort(err: Error): void;
}

/** A map's progress callback (the local pool's): items done, of total. */
export type Progress = (done: number, total: number) => void;

function report(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.emitWarning(`a Pool callback threw: ${text}`, { type: 'PoolCallbackWarning' });
  }
}

// The AsyncResult's settle methods are marked internal in the local pool; a
// cluster call settles the same class, so `instanceof AsyncResult` holds.
interface Settle<T> {
  _resolve(value: T): void;
  _reject(err: Error): void;
}

function settle<T>(result: AsyncResult<T>): Settle<T> {
  return result as unknown as Settle<T>;
}

/** apply / applyAsync: one chunk, one value. */
export class ApplyCall implements Call {
  constructor(private readonly result: AsyncResult<unknown>) {}
  chunkDone(_index: number, value: unknown): void {
    settle(this.result)._resolve(value);
  }
  chunkFailed(_index: number, err: Error): void {
    settle(this.result)._reject(err);
  }
  abort(err: Error): void {
    settle(this.result)._reject(err);
  }
}

/** map / starmap: every chunk's values in input order; the first failure
 * rejects the call (its other chunks still run, as in the local pool). */
export class MapCall implements Call {
  private readonly parts = new Map<number, unknown[]>();
  private remaining: number;
  private failed = false;
  private done = 0;
  constructor(
    private readonly result: AsyncResult<unknown[]>,
    chunks: number,
    private readonly total = 0,
    private readonly progress: Progress | null = null,
  ) {
    this.remaining = chunks;
    if (chunks === 0) settle(result)._resolve([]);
  }
  chunkDone(index: number, values: unknown): void {
    if (this.failed) return;
    this.parts.set(index, values as unknown[]);
    const progress = this.progress;
    if (progress) {
      const done = (this.done += (values as unknown[]).length);
      report(() => progress(done, this.total));
    }
    if (--this.remaining > 0) return;
    const starts = [...this.parts.keys()].sort((a, b) => a - b);
    const out: unknown[] = [];
    for (const start of starts) for (const v of this.parts.get(start) as unknown[]) out.push(v);
    this.parts.clear();
    settle(this.result)._resolve(out);
  }
  chunkFailed(_index: number, err: Error): void {
    this.remaining--;
    if (this.failed) return;
    this.failed = true;
    this.parts.clear();
    settle(this.result)._reject(err);
  }
  abort(err: Error): void {
    this.failed = true;
    this.parts.clear();
    settle(this.result)._reject(err);
  }
}

type Settled = { ok: true; values: unknown[] } | { ok: false; error: Error };

/** imap / imapUnordered: an async iterator over the values, in input order
 * or as chunks finish. A failed chunk throws at its place once; later
 * values can still be taken. */
export class ClusterIMapIterator<T = unknown> implements Call, AsyncIterableIterator<T> {
  private readonly settled = new Map<number, Settled>();
  private readonly arrived: Settled[] = [];
  private nextIndex = 0;
  private pending: unknown[] = [];
  private chunksLeft: number;
  private waiter: (() => void) | null = null;
  private aborted: Error | null = null;
  private finished = false;
  private done = 0;
  private readonly total: number;
  /** @internal Stops the call's remaining chunks (set by the Pool). */
  _cancel: () => void = () => {};

  constructor(
    private readonly ordered: boolean,
    private readonly sizes: Map<number, number>,
    private readonly progress: Progress | null = null,
  ) {
    this.chunksLeft = sizes.size;
    let total = 0;
    for (const n of sizes.values()) total += n;
    this.total = total;
  }

  chunkDone(index: number, values: unknown): void {
    const progress = this.progress;
    if (progress && !this.finished) {
      const done = (this.done += (values as unknown[]).length);
      report(() => progress(done, this.total));
    }
    this.store(index, { ok: true, values: values as unknown[] });
  }
  chunkFailed(index: number, error: Error): void {
    this.store(index, { ok: false, error });
  }
  abort(err: Error): void {
    if (this.finished) return;
    this.aborted = err;
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** `break` out of a `for await`: the call's remaining chunks stop. */
  async return(): Promise<IteratorResult<T>> {
    this.finish();
    return { done: true, value: undefined };
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.aborted = null;
    this.pending = [];
    this.settled.clear();
    this.arrived.length = 0;
    this._cancel();
  }

  private store(index: number, s: Settled): void {
    if (this.finished) return;
    if (this.ordered) this.settled.set(index, s);
    else this.arrived.push(s);
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  async next(): Promise<IteratorResult<T>> {
    for (;;) {
      if (this.aborted) {
        const err = this.aborted;
        this.finish();
        throw err;
      }
      if (this.finished) return { done: true, value: undefined };
      if (this.pending.length > 0) return { done: false, value: this.pending.shift() as T };
      if (this.chunksLeft === 0) {
        this.finish(); // lets go of the call's signal
        return { done: true, value: undefined };
      }
      const s = this.take();
      if (s) {
        this.chunksLeft--;
        if (!s.ok) throw s.error;
        this.pending = s.values;
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
    this.nextIndex += this.sizes.get(this.nextIndex) ?? 1;
    return s;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
