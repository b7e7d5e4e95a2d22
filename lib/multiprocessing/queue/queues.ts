// multiprocessing.Queue, JoinableQueue and SimpleQueue, as Python builds
// them (channel.ts): one pipe, a reader lock, a writer lock, and for Queue a
// bounded semaphore counting free slots (maxsize; qsize() derives from it).
// Producers and consumers may be any mix of processes (fork or spawn) and
// threads.
//
// Python's Queue.put hands the object to a feeder thread and returns; here
// put() takes a slot, hands the encoded item to the queue's Feeder
// (feeder.ts) and returns.
//
// shutdown() (Python 3.13's queue.Queue.shutdown) is a word in shared
// memory, so it holds for every process and thread using the queue. The
// reader waiting on the pipe is woken by an empty frame (channel.ts); a put
// waiting for a slot looks at the word every SLICE_SECONDS.
import { SLICE_SECONDS, throwIfAborted } from '../../core/abort';
import {
  EOFError,
  Empty,
  Full,
  ItemLostError,
  OSError,
  ShutDown,
  ValueError,
} from '../../core/errors';
import { flushQueuedFrames } from '../../core/queued-frames';
import { checkOptions } from '../../core/options';
import { deadline, FOREVER, parseTimeout, remaining } from '../../core/timeout';
import { BoundedSemaphore, Condition, Lock, Semaphore } from '../../synchronize';
import { RawArray } from '../../synchronize/sharedctypes';
import { serializePassingFds } from '../../transfer/serialize';
import { cannotCarryFds } from '../connection';
import { kShare, type Revivers, type ShareState } from '../../transfer/shareable';
import { bytesLead, encodeFast, scratch } from '../../transfer/wire';
import {
  beginBatch,
  channelState,
  checkGetOptions,
  endBatch,
  getAsync,
  getSync,
  isEmpty,
  newChannel,
  releaseChannel,
  type Channel,
  type GetOptions,
} from './channel';
import { BORROW_MIN, Feeder, flushFeedersOf } from './feeder';

export type { GetOptions } from './channel';

const SEM_VALUE_MAX = 0x7fffffff;

/** An item put, as the feeder takes it (see Feeder.push). */
interface EncodedItem {
  body: Buffer | null;
  n: number;
  lead: number;
  borrowed: boolean;
}

/** A large Buffer or Uint8Array goes from the caller's memory, borrowed
 * (no encoder's copy, and no copy at all when the pipe takes it at once);
 * any other item is encoded now (plain data into scratch). */
function encodeItem(obj: unknown): EncodedItem {
  const lead = bytesLead(obj);
  if (lead >= 0 && (obj as Uint8Array).length >= BORROW_MIN) {
    const bytes = obj as Uint8Array;
    const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    return { body, n: 0, lead, borrowed: true };
  }
  const n = encodeFast(obj);
  if (n >= 0) return { body: null, n, lead: -1, borrowed: false };
  // Said, not lost: a Connection or a Queue in the item would need its fds.
  const { body, fds } = serializePassingFds(obj);
  if (fds.length > 0) throw cannotCarryFds("a Queue's pipe");
  return { body, n, lead: -1, borrowed: false };
}

export type PutOptions = GetOptions;

function options(opts: PutOptions | boolean | undefined, timeout?: number | null): PutOptions {
  if (typeof opts === 'boolean') return { block: opts, timeout };
  return opts ?? {};
}

interface QueueState extends Channel {
  maxsize: number;
  sem: BoundedSemaphore;
  shut: RawArray<'i'>;
}

/** The shutdown word: open; shut down (puts refused, gets take what is
 * left); shut down immediately (gets refused too, what is left dropped). */
const OPEN = 0;
const SHUT = 1;
const IMMEDIATE = 2;

/** Python's multiprocessing.Queue(maxsize=0); `Queue<T>` carries items of
 * type T (unknown by default). */
export class Queue<T = unknown> {
  protected readonly _ch: Channel;
  readonly #maxsize: number;
  readonly #sem: BoundedSemaphore;
  readonly #shut: RawArray<'i'>;
  readonly #shutWord: Int32Array;
  #feeder: Feeder | null = null;
  #closed = false;
  /** Aborted by close(): ends the async iterations of this process. */
  readonly #closing = new AbortController();
  /** get() calls, put() calls waiting for a slot and JoinableQueue.join()
   * calls under way in this process, and close()'s feeder drain: the
   * queue's blocks are given back once none is left. */
  #busy = 0;
  /** A handle to this queue left this process (see releaseChannel). */
  #sent = false;
  /** This object was revived from a handle: the queue's creator (maybe in
   * this process) holds its blocks too. */
  readonly #revived: boolean;
  /** Set when close() gave the semaphore and the shutdown word back: their
   * last values, final since no other process or object could change them. */
  #final: { free: number; state: number } | null = null;
  /** close() found that this process never put on the queue. */
  #unusedClosed = false;

  constructor(maxsize = 0, revive?: QueueState) {
    this.#revived = revive !== undefined;
    if (revive) {
      this._ch = channelState(revive);
      this.#maxsize = revive.maxsize;
      this.#sem = revive.sem;
      this.#shut = revive.shut;
      this.#shutWord = this.#shut.view as Int32Array;
      return;
    }
    if (typeof maxsize !== 'number' || !Number.isInteger(maxsize)) {
      throw new TypeError('Queue: maxsize must be an integer');
    }
    this.#maxsize = maxsize <= 0 ? SEM_VALUE_MAX : maxsize;
    this._ch = newChannel();
    this.#sem = new BoundedSemaphore(this.#maxsize);
    this.#shut = new RawArray('i', 1);
    this.#shutWord = this.#shut.view as Int32Array;
  }

  /** Puts obj, waiting (without blocking the event loop) for a free slot
   * when the queue is full; Full if none within timeout seconds (or at once
   * with block: false). put(obj, false) and put(obj, true, 2) also work.
   * `{ signal }` cancels the wait for a slot (AbortError; nothing is put).
   * ShutDown once the queue is shut down (also while waiting for a slot). */
  async put(obj: T, opts?: PutOptions | boolean, timeout?: number | null): Promise<void> {
    const o = checkGetOptions(options(opts, timeout), 'Queue.put', true);
    this.#checkOpen();
    throwIfAborted(o.signal, 'Queue.put');
    this.#refuseIfShut('Queue.put');
    const block = o.block ?? true;
    const t = parseTimeout(o.timeout, 'Queue.put');
    // Encoded first: an item that cannot travel fails before a slot is taken.
    const item = encodeItem(obj);
    if (!this.#sem.acquire(false)) {
      if (!block || t === 0) throw new Full();
      // scratch is reused meanwhile, and the caller may change its bytes
      if (item.borrowed) item.body = Buffer.from(item.body!);
      item.body ??= Buffer.from(scratch.subarray(0, item.n));
      item.borrowed = false;
      let got: boolean;
      this._enter(); // close() keeps the semaphore's block meanwhile
      try {
        got = await this.#slotAsync(t, o.signal ?? null);
        if (got && this.#closed) this.#sem.release(); // closed while it waited: nothing is put
      } finally {
        this._leave();
      }
      if (!got) throw new Full();
      this.#checkOpen();
    }
    this._beforeWrite();
    this.#feed(item);
  }

  /** put() that blocks. */
  putSync(obj: T, opts?: PutOptions | boolean, timeout?: number | null): void {
    const o = checkGetOptions(options(opts, timeout), 'Queue.putSync', false);
    this.#checkOpen();
    this.#refuseIfShut('Queue.putSync');
    const block = o.block ?? true;
    const t = parseTimeout(o.timeout, 'Queue.putSync');
    const item = encodeItem(obj);
    if (!this.#sem.acquire(false)) {
      if (!block || t === 0) throw new Full();
      // (The semaphore's wait writes this thread's pending items first:
      // readers may need them to make room.)
      if (!this.#slotSync(t)) throw new Full();
    }
    this._beforeWrite();
    this.#feed(item);
  }

  /** Waits up to t seconds for a free slot, looking at the shutdown word
   * between slices (ShutDown, the slot given back). */
  async #slotAsync(t: number, signal: AbortSignal | null): Promise<boolean> {
    const until = deadline(t);
    for (;;) {
      const left = remaining(until);
      const slice = left === FOREVER ? SLICE_SECONDS : Math.min(SLICE_SECONDS, left);
      const got = await this.#sem.acquireAsync({ blocking: true, timeout: slice, signal });
      if (this.#state() !== OPEN) {
        if (got) this.#sem.release();
        this.#refuseIfShut('Queue.put');
      }
      if (got || slice === left) return got;
    }
  }

  #slotSync(t: number): boolean {
    const until = deadline(t);
    for (;;) {
      const left = remaining(until);
      const slice = left === FOREVER ? SLICE_SECONDS : Math.min(SLICE_SECONDS, left);
      const got = this.#sem.acquire(true, slice);
      if (this.#state() !== OPEN) {
        if (got) this.#sem.release();
        this.#refuseIfShut('Queue.putSync');
      }
      if (got || slice === left) return got;
    }
  }

  #feed(item: EncodedItem): void {
    this.#feeder ??= new Feeder(this._ch);
    this.#feeder.push(item.body, item.n, item.lead, item.borrowed);
  }

  /** put(obj, { block: false }), synchronous: Full at once when full. */
  putNowait(obj: T): void {
    this.putSync(obj, { block: false });
  }

  /** Takes the next item, waiting without blocking the event loop; Empty if
   * none within timeout seconds (or at once with block: false). `{ signal }`
   * cancels the wait (AbortError; no item is taken). ShutDown once the
   * queue is shut down and empty, or shut down immediately. */
  async get(opts?: GetOptions | boolean, timeout?: number | null): Promise<T> {
    this.#checkOpen();
    const o = options(opts, timeout);
    this.#busy++;
    try {
      for (;;) {
        let value: unknown;
        flushFeedersOf(this._ch); // what this thread put is there to take
        try {
          value = await getAsync(this._ch, o, 'Queue.get', this.#onDry);
        } catch (err) {
          if (err instanceof ItemLostError) this._itemLost();
          throw err;
        }
        if (this.#took()) return value as T;
      }
    } finally {
      this.#busy--;
      this.#releaseIfIdle();
    }
  }

  /** get() that blocks. */
  getSync(opts?: GetOptions | boolean, timeout?: number | null): T {
    this.#checkOpen();
    const o = options(opts, timeout);
    for (;;) {
      let value: unknown;
      flushFeedersOf(this._ch); // what this thread put is there to take
      try {
        value = getSync(this._ch, o, 'Queue.getSync', this.#onDry);
      } catch (err) {
        if (err instanceof ItemLostError) this._itemLost();
        throw err;
      }
      if (this.#took()) return value as T;
    }
  }

  /** After a get read an item: gives its slot back; false when the item is
   * to be dropped (shut down immediately: a JoinableQueue counts it done).
   * The get that empties a shut-down queue wakes the reader still waiting
   * for it (which then gets ShutDown). */
  #took(): boolean {
    this.#sem.release();
    const state = this.#state();
    if (state === SHUT && this.#free() === this.#maxsize) this.#wakeReader();
    if (state !== IMMEDIATE) return true;
    this._dropped();
    return false;
  }

  /** Nothing is readable now: ShutDown if nothing more will come. */
  readonly #onDry = (): void => {
    const state = this.#state();
    if (state === IMMEDIATE || (state === SHUT && this.#free() === this.#maxsize)) {
      throw new ShutDown('Queue.get: the queue is shut down and empty');
    }
  };

  /** Python 3.13's Queue.shutdown(immediate=False), for every process and
   * thread using the queue: put() raises ShutDown from now on, and so do
   * the waiting ones; get() takes what is left, then raises ShutDown. With
   * immediate, get() raises ShutDown at once and what is left is dropped
   * (a JoinableQueue counts it done, so join() returns). */
  shutdown(immediate = false): void {
    this.#checkOpen();
    if (typeof immediate !== 'boolean') {
      throw new TypeError('Queue.shutdown: immediate must be a boolean');
    }
    const w = this.#shutWord;
    if (immediate) {
      if (Atomics.exchange(w, 0, IMMEDIATE) === IMMEDIATE) return;
      this._drain();
    } else if (Atomics.compareExchange(w, 0, OPEN, SHUT) !== OPEN) {
      return;
    }
    this.#wakeReader();
  }

  /** Shut down immediately: drops what is readable now, this process's
   * unwritten items included (unless another reader holds the reader lock:
   * that one drops them). Items still in another process's feeder are
   * dropped by the gets that find them. */
  protected _drain(): void {
    this.#dropReadable();
    this.#feeder?.flushSome(); // (what the lock keeps out: dropped by the gets that find it)
    this.#dropReadable();
  }

  #dropReadable(): void {
    try {
      this.getSync(false); // drops every item (#took), then ShutDown
    } catch (err) {
      if (!(err instanceof ShutDown) && !(err instanceof Empty)) throw err;
    }
  }

  /** @internal True once shut down immediately. */
  protected _immediate(): boolean {
    return this.#state() === IMMEDIATE;
  }

  /** True once shutdown() was called (by any process). */
  get isShutdown(): boolean {
    return this.#state() !== OPEN;
  }

  #state(): number {
    return this.#final ? this.#final.state : Atomics.load(this.#shutWord, 0);
  }

  /** Free slots: the semaphore's value. */
  #free(): number {
    return this.#final ? this.#final.free : this.#sem.getValue();
  }

  #refuseIfShut(what: string): void {
    if (this.#state() !== OPEN) throw new ShutDown(`${what}: the queue is shut down`);
  }

  /** Writes an empty frame, so that the reader waiting on the pipe looks
   * again. Only a holder of the reader lock can be waiting there: when the
   * lock is free, the next reader takes it after the shutdown word changed
   * and sees it, and no frame is needed (none is left behind). */
  #wakeReader(): void {
    const rlock = this._ch.rlock;
    if (rlock.acquire(false)) {
      rlock.release();
      return;
    }
    this.#feed({ body: null, n: 0, lead: -1, borrowed: false });
  }

  /** Hook for JoinableQueue: an item was dropped (shut down immediately). */
  protected _dropped(): void {}

  /** get(false), synchronous: Empty at once when nothing is there. */
  getNowait(): T {
    return this.getSync({ block: false });
  }

  /** `for await (const item of queue)`: takes items as get() does, until
   * this process closes the queue (close() ends a loop waiting in get()),
   * every writer has closed it (EOF) or it is shut down and empty
   * (shutdown()). `break` takes nothing more. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    const signal = this.#closing.signal;
    for (;;) {
      if (this.#closed) return;
      let item: T;
      try {
        item = await this.get({ signal });
      } catch (err) {
        if (this.#closed || err instanceof EOFError || err instanceof ShutDown) return;
        throw err;
      }
      yield item;
    }
  }

  /** Approximate number of items (Python's qsize()); 0 once shut down
   * immediately. */
  qsize(): number {
    return this.#state() === IMMEDIATE ? 0 : this.#maxsize - this.#free();
  }

  /** True when nothing is ready to read now (approximate, as in Python);
   * once shut down, when qsize() is 0. After close(), OSError when this
   * process had put on the queue; true when it never had (nothing is there
   * for it to take). */
  empty(): boolean {
    if (this.#unusedClosed) return true;
    if (this.#state() !== OPEN) return this.qsize() === 0;
    flushFeedersOf(this._ch); // what this thread put counts
    return isEmpty(this._ch);
  }

  /** True when maxsize items are in the queue (approximate). */
  full(): boolean {
    return this.qsize() === this.#maxsize;
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
      this._enter();
      void this.#feeder.drain().finally(() => {
        writer.close();
        this._leave();
      });
    } else {
      this.#unusedClosed = true;
    }
    this.#releaseIfIdle();
  }

  /** A wait that uses the queue's blocks begins (see #busy). */
  protected _enter(): void {
    this.#busy++;
  }

  /** ... and ends. */
  protected _leave(): void {
    this.#busy--;
    this.#releaseIfIdle();
  }

  /**
   * Closed and nothing under way: a never-used queue's pipe ends close,
   * and the channel's blocks go back to the arena now (not when this
   * object is collected), unless a handle to the queue was sent from here.
   * qsize(), full(), isShutdown (and a JoinableQueue's taskDone(), join(),
   * unfinishedTasks) still answer after close(), as in Python: so the
   * semaphore and the shutdown word (and the condition) go back too only
   * when no other process holds them and this object is their creator's
   * (nobody else can change them any more: their last values answer).
   * Else they wait for the collector, as blocks do. Not waiting for it
   * matters: a loop of queues that never yields to the event loop never
   * runs the FinalizationRegistry's callbacks (issue 14, item 11).
   */
  #releaseIfIdle(): void {
    if (!this.#closed || this.#busy > 0) return;
    if (this.#unusedClosed) {
      this._ch.reader.close();
      this._ch.writer.close();
    }
    if (this.#sent) return;
    releaseChannel(this._ch);
    if (this.#final || this.#revived || !this._ownedAlone()) return;
    this.#final = { free: this.#sem.getValue(), state: Atomics.load(this.#shutWord, 0) };
    this.#sem._block.release();
    this.#shut._block.release();
    this._releaseOwn();
  }

  /** No other process holds the queue's own blocks (semaphore, shutdown
   * word; a JoinableQueue's too). */
  protected _ownedAlone(): boolean {
    return this.#sem._block.soleProcess() && this.#shut._block.soleProcess();
  }

  /** Hook for JoinableQueue: gives its own blocks back (_ownedAlone()). */
  protected _releaseOwn(): void {}

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
    this.#checkOpen();
    this.#sent = true;
    return {
      ...channelState(this._ch),
      maxsize: this.#maxsize,
      sem: this.#sem,
      shut: this.#shut,
    };
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
  /** The condition's lock, when this object made it. */
  readonly #condLock: Lock | null = null;
  /** close() gave the condition and the counter back (none unfinished). */
  #released = false;

  constructor(maxsize = 0, revive?: JoinableState) {
    super(maxsize, revive);
    if (revive) {
      this.#cond = revive.cond;
      this.#unfinished = revive.unfinished;
    } else {
      this.#condLock = new Lock();
      this.#cond = new Condition(this.#condLock);
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

  protected override _ownedAlone(): boolean {
    return (
      super._ownedAlone() &&
      this.#unfinished.getValue() === 0 &&
      this.#unfinished._block.soleProcess() &&
      this.#cond._block.soleProcess() &&
      this.#condLock !== null &&
      this.#condLock._block.soleProcess()
    );
  }

  protected override _releaseOwn(): void {
    this.#released = true;
    this.#unfinished._block.release();
    this.#cond._block.release();
    this.#condLock!._block.release();
  }

  /** A lost item will never be marked done: counted out, so join() ends. */
  protected override _itemLost(): void {
    super._itemLost();
    this.taskDone();
  }

  /** Also wakes the joins, which from now on drop what arrives. */
  protected override _drain(): void {
    super._drain();
    this.#cond.acquire();
    try {
      this.#cond.notifyAll();
    } finally {
      this.#cond.release();
    }
  }

  /** A dropped item counts as done (Python's shutdown(immediate=True)). */
  protected override _dropped(): void {
    this.#cond.acquire();
    try {
      if (this.#unfinished.acquire(false) && this.#unfinished.getValue() === 0) {
        this.#cond.notifyAll();
      }
    } finally {
      this.#cond.release();
    }
  }

  /** Items put and not yet marked done (Python's unfinished_tasks). */
  get unfinishedTasks(): number {
    return this.#released ? 0 : this.#unfinished.getValue();
  }

  /** Marks one item taken by get() as processed. */
  taskDone(): void {
    if (this.#released) throw new ValueError('taskDone() called too many times');
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
   * cancels the wait (AbortError). Once the queue is shut down immediately,
   * the waiting join drops the items that arrive meanwhile (they count as
   * done), looking every SLICE_SECONDS. */
  async join(options?: { signal?: AbortSignal | null }): Promise<void> {
    const { signal } = checkOptions(options, ['signal'], 'JoinableQueue.join');
    if (this.#released) {
      throwIfAborted(signal, 'JoinableQueue.join'); // nothing unfinished: done
      return;
    }
    this._enter(); // close() keeps the condition's blocks meanwhile
    try {
      for (;;) {
        if (this._immediate()) this._drain(); // outside the lock: drops take it
        await this.#cond.acquireAsync({ signal });
        try {
          if (this.#unfinished.getValue() === 0) return;
          await this.#cond.waitAsync(this._immediate() ? SLICE_SECONDS : null, { signal });
          if (this.#unfinished.getValue() === 0) return;
        } finally {
          this.#cond.release();
        }
      }
    } finally {
      this._leave();
    }
  }

  joinSync(): void {
    if (this.#released) return;
    for (;;) {
      if (this._immediate()) this._drain();
      // (The consumers may need what this process still holds: the
      // condition's waits write it first, as every blocking wait does.)
      this.#cond.acquire();
      try {
        if (this.#unfinished.getValue() === 0) return;
        this.#cond.wait(this._immediate() ? SLICE_SECONDS : null);
        if (this.#unfinished.getValue() === 0) return;
      } finally {
        this.#cond.release();
      }
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
/** SimpleQueue.put() naps on this between looks at a torn batch (ms). */
const tornNap = new Int32Array(new SharedArrayBuffer(4));
const TORN_RETRY_MS = 10;

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
    return getSync(this.#ch, {}, 'SimpleQueue.getSync') as T;
  }

  /** Writes obj now (blocks while the pipe is full, and while the torn end
   * of an item whose writer died in the middle of it waits for a reader to
   * drop it: nothing may be written after those bytes). */
  put(obj: T): void {
    this.#checkOpen();
    const { wlock, writer } = this.#ch;
    // A blocking acquire takes the lock from a holder that died. The batch
    // mark (WRITING) says from the first byte to the last that a writer is
    // in the middle of an item, as Queue's feeder does: a reader that finds
    // it set under a dead holder's lock reports the item lost.
    for (;;) {
      wlock.acquire();
      if (beginBatch(this.#ch)) break;
      wlock.release();
      Atomics.wait(tornNap, 0, 0, TORN_RETRY_MS);
    }
    let torn = false;
    try {
      // send() encodes (plain data compactly) before it writes a byte.
      writer.send(obj);
      flushQueuedFrames(); // written now, inside the batch
    } catch (err) {
      // An encoding error wrote nothing; a failed write (OSError) may have
      // written part of the item: the batch stays torn, for a reader to drop.
      torn = err instanceof OSError;
      throw err;
    } finally {
      if (!torn) endBatch(this.#ch);
      wlock.release();
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
