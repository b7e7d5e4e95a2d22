// multiprocessing.Queue, JoinableQueue and SimpleQueue, as Python builds
// them (channel.ts): one pipe, a reader lock, a writer lock, and for Queue a
// bounded semaphore counting free slots (maxsize; qsize() derives from it).
// Producers and consumers may be any mix of processes (fork or spawn) and
// threads.
//
// Python's Queue.put hands the object to a feeder thread and returns; here
// put() takes a slot, hands the encoded item to the queue's Feeder
// (feeder.ts) and returns.
import { throwIfAborted } from '../../core/abort';
import { EOFError, Full, ItemLostError, ValueError } from '../../core/errors';
import { checkOptions } from '../../core/options';
import { parseTimeout } from '../../core/timeout';
import { BoundedSemaphore, Condition, Lock, Semaphore } from '../../synchronize';
import { serialize } from '../../transfer/serialize';
import { kShare, type Revivers, type ShareState } from '../../transfer/shareable';
import { encodeFast, scratch } from '../../transfer/wire';
import {
  channelState,
  checkGetOptions,
  getAsync,
  getSync,
  isEmpty,
  newChannel,
  releaseChannel,
  type Channel,
  type GetOptions,
} from './channel';
import { Feeder, flushFeedersSync } from './feeder';

export type { GetOptions } from './channel';

const SEM_VALUE_MAX = 0x7fffffff;

export type PutOptions = GetOptions;

function options(opts: PutOptions | boolean | undefined, timeout?: number | null): PutOptions {
  if (typeof opts === 'boolean') return { block: opts, timeout };
  return opts ?? {};
}

interface QueueState extends Channel {
  maxsize: number;
  sem: BoundedSemaphore;
}

/** Python's multiprocessing.Queue(maxsize=0); `Queue<T>` carries items of
 * type T (unknown by default). */
export class Queue<T = unknown> {
  protected readonly _ch: Channel;
  readonly #maxsize: number;
  readonly #sem: BoundedSemaphore;
  #feeder: Feeder | null = null;
  #closed = false;
  /** Aborted by close(): ends the async iterations of this process. */
  readonly #closing = new AbortController();
  /** get() calls under way in this process, and close()'s feeder drain:
   * the channel's blocks are given back once none is left. */
  #busy = 0;
  /** A handle to this queue left this process (see releaseChannel). */
  #sent = false;
  /** close() found that this process never put on the queue. */
  #unusedClosed = false;

  constructor(maxsize = 0, revive?: QueueState) {
    if (revive) {
      this._ch = channelState(revive);
      this.#maxsize = revive.maxsize;
      this.#sem = revive.sem;
      return;
    }
    if (typeof maxsize !== 'number' || !Number.isInteger(maxsize)) {
      throw new TypeError('Queue: maxsize must be an integer');
    }
    this.#maxsize = maxsize <= 0 ? SEM_VALUE_MAX : maxsize;
    this._ch = newChannel();
    this.#sem = new BoundedSemaphore(this.#maxsize);
  }

  /** Puts obj, waiting (without blocking the event loop) for a free slot
   * when the queue is full; Full if none within timeout seconds (or at once
   * with block: false). put(obj, false) and put(obj, true, 2) also work.
   * `{ signal }` cancels the wait for a slot (AbortError; nothing is put). */
  async put(obj: T, opts?: PutOptions | boolean, timeout?: number | null): Promise<void> {
    const o = checkGetOptions(options(opts, timeout), 'Queue.put', true);
    this.#checkOpen();
    throwIfAborted(o.signal, 'Queue.put');
    const block = o.block ?? true;
    const t = parseTimeout(o.timeout, 'Queue.put');
    // Encoded first: an item that cannot travel fails before a slot is taken.
    const n = encodeFast(obj);
    let body = n < 0 ? serialize(obj) : null;
    if (!this.#sem.acquire(false)) {
      if (!block || t === 0) throw new Full();
      body ??= Buffer.from(scratch.subarray(0, n)); // scratch is reused meanwhile
      const signal = o.signal ?? null;
      if (!(await this.#sem.acquireAsync({ blocking: true, timeout: t, signal }))) throw new Full();
      if (this.#closed) {
        this.#sem.release(); // closed while it waited: nothing is put
        this.#checkOpen();
      }
    }
    this._beforeWrite();
    this.#feed(body, n);
  }

  /** put() that blocks. */
  putSync(obj: T, opts?: PutOptions | boolean, timeout?: number | null): void {
    const o = checkGetOptions(options(opts, timeout), 'Queue.putSync', false);
    this.#checkOpen();
    const block = o.block ?? true;
    const t = parseTimeout(o.timeout, 'Queue.putSync');
    const n = encodeFast(obj);
    const body = n < 0 ? serialize(obj) : null;
    if (!this.#sem.acquire(false)) {
      if (!block || t === 0) throw new Full();
      flushFeedersSync(); // readers may need what this process still holds
      if (!this.#sem.acquire(true, t)) throw new Full();
    }
    this._beforeWrite();
    this.#feed(body, n);
  }

  #feed(body: Buffer | null, n: number): void {
    this.#feeder ??= new Feeder(this._ch);
    this.#feeder.push(body, n);
  }

  /** put(obj, { block: false }), synchronous: Full at once when full. */
  putNowait(obj: T): void {
    this.putSync(obj, { block: false });
  }

  /** Takes the next item, waiting without blocking the event loop; Empty if
   * none within timeout seconds (or at once with block: false). `{ signal }`
   * cancels the wait (AbortError; no item is taken). */
  async get(opts?: GetOptions | boolean, timeout?: number | null): Promise<T> {
    this.#checkOpen();
    let value: unknown;
    this.#busy++;
    try {
      value = await getAsync(this._ch, options(opts, timeout), 'Queue.get');
    } catch (err) {
      if (err instanceof ItemLostError) this._itemLost();
      throw err;
    } finally {
      this.#busy--;
      this.#releaseIfIdle();
    }
    this.#sem.release();
    return value as T;
  }

  /** get() that blocks. */
  getSync(opts?: GetOptions | boolean, timeout?: number | null): T {
    this.#checkOpen();
    let value: unknown;
    try {
      value = getSync(this._ch, options(opts, timeout), 'Queue.getSync', flushFeedersSync);
    } catch (err) {
      if (err instanceof ItemLostError) this._itemLost();
      throw err;
    }
    this.#sem.release();
    return value as T;
  }

  /** get(false), synchronous: Empty at once when nothing is there. */
  getNowait(): T {
    return this.getSync({ block: false });
  }

  /** `for await (const item of queue)`: takes items as get() does, until
   * this process closes the queue (close() ends a loop waiting in get()) or
   * every writer has closed it (EOF). `break` takes nothing more. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    const signal = this.#closing.signal;
    for (;;) {
      if (this.#closed) return;
      let item: T;
      try {
        item = await this.get({ signal });
      } catch (err) {
        if (this.#closed || err instanceof EOFError) return;
        throw err;
      }
      yield item;
    }
  }

  /** Approximate number of items (Python's qsize()). */
  qsize(): number {
    return this.#maxsize - this.#sem.getValue();
  }

  /** True when nothing is ready to read now (approximate, as in Python).
   * After close(), OSError when this process had put on the queue; true
   * when it never had (nothing is there for it to take). */
  empty(): boolean {
    if (this.#unusedClosed) return true;
    return isEmpty(this._ch);
  }

  /** True when maxsize items are in the queue (approximate). */
  full(): boolean {
    return this.#sem.getValue() === 0;
  }

  /** This process will put or get no more: closes its ends of the pipe
   * (the writing end once the feeder has written what it holds; both once
   * no get() of this process is under way). Python leaves the ends of a
   * queue it never put on open until the queue is dropped, which its
   * reference counting sees at once; a collector may never run while
   * such queues pile up (their fds ran out first), so here they close
   * too, and empty() then answers true without looking. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort(); // ends this process's waits and iterations
    const writer = this._ch.writer;
    if (this.#feeder) {
      this._ch.reader.close();
      this.#busy++;
      void this.#feeder.drain().finally(() => {
        writer.close();
        this.#busy--;
        this.#releaseIfIdle();
      });
    } else {
      this.#unusedClosed = true;
    }
    this.#releaseIfIdle();
  }

  /** Closed and nothing under way: a never-used queue's pipe ends close,
   * and the channel's blocks go back to the arena now (not when this
   * object is collected), unless a handle to the queue was sent from here.
   * The semaphore (and a JoinableQueue's condition) stay until then:
   * qsize(), full(), taskDone() and join() still answer after close(), as
   * in Python. */
  #releaseIfIdle(): void {
    if (!this.#closed || this.#busy > 0) return;
    if (this.#unusedClosed) {
      this._ch.reader.close();
      this._ch.writer.close();
    }
    if (!this.#sent) releaseChannel(this._ch);
  }

  /** Resolves when every item this process put is written to the pipe
   * (Python's join_thread(): waits for the feeder). */
  joinThread(): Promise<void> {
    return this.#feeder ? this.#feeder.drain() : Promise.resolve();
  }

  /** Python's cancel_join_thread(): this process may end with items still
   * unwritten (they are lost) instead of waiting for a reader. */
  cancelJoinThread(): void {
    this.#feeder ??= new Feeder(this._ch);
    this.#feeder.cancelJoin();
  }

  /** Lets the process exit while a get() waits. */
  unref(): this {
    this._ch.reader.unref();
    return this;
  }

  /** `using q = new Queue()`: close() (what this process put is still
   * written by the feeder). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** `await using q = new Queue()`: close(), then wait until what this
   * process put is written (joinThread()). */
  async [Symbol.asyncDispose](): Promise<void> {
    const drained = this.joinThread();
    this.close();
    await drained;
  }

  [kShare](): ShareState {
    this.#checkOpen();
    return { kind: 'forkful.Queue', state: this._state() };
  }

  protected _state(): Record<string, unknown> {
    this.#sent = true;
    return { ...channelState(this._ch), maxsize: this.#maxsize, sem: this.#sem };
  }

  /** Hook for JoinableQueue: runs after a slot is taken, before the write. */
  protected _beforeWrite(): void {}

  /** An item left the queue without being taken (its reader died in the
   * middle of it, ItemLostError): its slot is free again. */
  protected _itemLost(): void {
    this.#sem.release();
  }

  #checkOpen(): void {
    if (this.#closed) throw new ValueError('this Queue is closed in this process');
  }
}

interface JoinableState extends QueueState {
  cond: Condition;
  unfinished: Semaphore;
}

/** Queue with taskDone() and join(): join waits until every item put has
 * been marked done. */
export class JoinableQueue<T = unknown> extends Queue<T> {
  readonly #cond: Condition;
  readonly #unfinished: Semaphore;

  constructor(maxsize = 0, revive?: JoinableState) {
    super(maxsize, revive);
    if (revive) {
      this.#cond = revive.cond;
      this.#unfinished = revive.unfinished;
    } else {
      this.#cond = new Condition(new Lock());
      this.#unfinished = new Semaphore(0);
    }
  }

  protected override _beforeWrite(): void {
    // Counted before the item is readable, so a fast consumer's taskDone()
    // always finds it (Python counts before its feeder thread writes).
    this.#cond.acquire();
    try {
      this.#unfinished.release();
    } finally {
      this.#cond.release();
    }
  }

  /** A lost item will never be marked done: counted out, so join() ends. */
  protected override _itemLost(): void {
    super._itemLost();
    this.taskDone();
  }

  /** Marks one item taken by get() as processed. */
  taskDone(): void {
    this.#cond.acquire();
    try {
      if (!this.#unfinished.acquire(false)) {
        throw new ValueError('taskDone() called too many times');
      }
      if (this.#unfinished.getValue() === 0) this.#cond.notifyAll();
    } finally {
      this.#cond.release();
    }
  }

  /** Resolves when every item put has been marked done. `{ signal }`
   * cancels the wait (AbortError). */
  async join(options?: { signal?: AbortSignal | null }): Promise<void> {
    const { signal } = checkOptions(options, ['signal'], 'JoinableQueue.join');
    await this.#cond.acquireAsync({ signal });
    try {
      while (this.#unfinished.getValue() !== 0) await this.#cond.waitAsync(null, { signal });
    } finally {
      this.#cond.release();
    }
  }

  joinSync(): void {
    this.#cond.acquire();
    try {
      while (this.#unfinished.getValue() !== 0) this.#cond.wait();
    } finally {
      this.#cond.release();
    }
  }

  override [kShare](): ShareState {
    return {
      kind: 'forkful.JoinableQueue',
      state: {
        ...this._state(),
        cond: this.#cond,
        unfinished: this.#unfinished,
      },
    };
  }
}

/** Python's SimpleQueue: unbounded, no timeouts, put writes at once. */
export class SimpleQueue<T = unknown> {
  readonly #ch: Channel;
  #closed = false;
  /** get() calls under way, and whether a handle left this process: as
   * Queue's, for giving the channel's blocks back at close(). */
  #busy = 0;
  #sent = false;

  constructor(revive?: Channel) {
    this.#ch = revive ? channelState(revive) : newChannel();
  }

  /** The next item; `{ signal }` cancels the wait (AbortError). */
  async get(options?: { signal?: AbortSignal | null }): Promise<T> {
    this.#checkOpen();
    const { signal } = checkOptions(options, ['signal'], 'SimpleQueue.get');
    this.#busy++;
    try {
      return (await getAsync(this.#ch, { signal }, 'SimpleQueue.get')) as T;
    } finally {
      this.#busy--;
      this.#releaseIfIdle();
    }
  }

  getSync(): T {
    this.#checkOpen();
    return getSync(this.#ch, {}, 'SimpleQueue.getSync', flushFeedersSync) as T;
  }

  /** Writes obj now (blocks only while the pipe is full). */
  put(obj: T): void {
    this.#checkOpen();
    // send() encodes (plain data compactly) before it writes a byte.
    this.#ch.wlock.acquire();
    try {
      this.#ch.writer.send(obj);
    } finally {
      this.#ch.wlock.release();
    }
  }

  empty(): boolean {
    this.#checkOpen();
    return isEmpty(this.#ch);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ch.reader.close();
    this.#ch.writer.close();
    this.#releaseIfIdle();
  }

  #releaseIfIdle(): void {
    if (this.#closed && this.#busy === 0 && !this.#sent) releaseChannel(this.#ch);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  [kShare](): ShareState {
    this.#checkOpen();
    this.#sent = true;
    return { kind: 'forkful.SimpleQueue', state: { ...this.#ch } };
  }

  #checkOpen(): void {
    if (this.#closed) throw new ValueError('SimpleQueue is closed');
  }
}

/** How this module's kinds are revived (installed by lib/shareables.ts). */
export const queueRevivers: Revivers = {
  'forkful.Queue': (s) => new Queue(0, s as QueueState),
  'forkful.JoinableQueue': (s) => new JoinableQueue(0, s as JoinableState),
  'forkful.SimpleQueue': (s) => new SimpleQueue(s as Channel),
};
