// multiprocessing.Queue, JoinableQueue and SimpleQueue, as Python builds
// them: one pipe, a reader lock (one reader at a time takes one whole
// message), a writer lock (a message goes in whole), and for Queue a
// bounded semaphore counting free slots (maxsize; qsize() derives from it).
// The locks are lib/synchronize's shared ones, so producers and consumers
// may be any mix of processes (fork or spawn) and threads.
//
// Python's Queue.put hands the object to a feeder thread and returns; here
// the feeder is an async loop on the event loop (Feeder below): put() takes a
// slot, queues the encoded item and returns; the feeder writes items in
// order under the writer lock, waiting for room in the pipe without
// blocking. A child flushes its feeders before it ends (as Python joins the
// feeder thread), unless cancelJoinThread() was called.
import { Empty, Full, ValueError } from '../errors';
import { serialize } from '../serialize';
import { kShare, registerShareable, type ShareState } from '../shareable';
import { BoundedSemaphore, Condition, Lock, Semaphore } from '../synchronize';
import { Connection, nativePipe } from './connection';
import { atForkChild } from '../backend/fork-child';
import { beforeChildExit } from '../backend/run-target';

const SEM_VALUE_MAX = 0x7fffffff;

export interface PutOptions {
  /** Wait for a free slot (default true). */
  block?: boolean;
  /** Seconds to wait at most; null = forever. */
  timeout?: number | null;
}

export type GetOptions = PutOptions;

function options(opts: PutOptions | boolean | undefined, timeout?: number | null): PutOptions {
  if (typeof opts === 'boolean') return { block: opts, timeout };
  return opts ?? {};
}

function checkTimeout(timeout: number | null | undefined, what: string): number | null {
  if (timeout === undefined || timeout === null) return null;
  if (typeof timeout !== 'number' || Number.isNaN(timeout)) {
    throw new TypeError(`${what}: timeout must be a number of seconds or null`);
  }
  if (timeout < 0) throw new ValueError(`${what}: 'timeout' must be a non-negative number`);
  return timeout;
}

/** Seconds left before `deadline` (ms, performance.now()); null stays null. */
function left(deadline: number | null): number | null {
  return deadline === null ? null : Math.max(0, (deadline - performance.now()) / 1000);
}

interface Channel {
  reader: Connection;
  writer: Connection;
  rlock: Lock;
  wlock: Lock;
}

function newChannel(): Channel {
  const [r, w] = nativePipe();
  return {
    // exact: several processes read this pipe in turn; none may read ahead.
    reader: new Connection(r, { writable: false, exact: true }),
    writer: new Connection(w, { readable: false }),
    rlock: new Lock(),
    wlock: new Lock(),
  };
}

/** Reads one message under the reader lock, waiting without blocking the loop. */
async function getAsync(ch: Channel, opts: GetOptions, what: string): Promise<unknown> {
  const block = opts.block ?? true;
  const timeout = checkTimeout(opts.timeout, what);
  const deadline = block && timeout !== null ? performance.now() + timeout * 1000 : null;
  const got = block
    ? await ch.rlock.acquireAsync({ blocking: true, timeout })
    : ch.rlock.acquire(false);
  if (!got) throw new Empty();
  try {
    const ready = block ? await ch.reader.pollAsync(left(deadline)) : ch.reader.poll(0);
    if (!ready) throw new Empty();
    return await ch.reader.recv();
  } finally {
    ch.rlock.release();
  }
}

function getSync(ch: Channel, opts: GetOptions, what: string): unknown {
  const block = opts.block ?? true;
  const timeout = checkTimeout(opts.timeout, what);
  const deadline = block && timeout !== null ? performance.now() + timeout * 1000 : null;
  if (!(block ? ch.rlock.acquire(true, timeout) : ch.rlock.acquire(false))) throw new Empty();
  try {
    if (!ch.reader.poll(block ? left(deadline) : 0)) throw new Empty();
    return ch.reader.recvSync();
  } finally {
    ch.rlock.release();
  }
}

/** Writes one encoded message under the writer lock. */
function write(ch: Channel, body: Buffer): void {
  ch.wlock.acquire();
  try {
    ch.writer.sendBytes(body);
  } finally {
    ch.wlock.release();
  }
}

/** Feeders with items still to write. */
const feeding = new Set<Feeder>();

// A forked child's copy of a feeder holds the parent's items: the parent
// writes them, the copy forgets them.
atForkChild(() => {
  for (const feeder of feeding) feeder.forget();
  feeding.clear();
});
beforeChildExit(() => Promise.all([...feeding].map((feeder) => feeder.drain())));

/** Python's feeder thread, as an async loop on the event loop. */
class Feeder {
  #pending: Buffer[] = [];
  #running: Promise<void> | null = null;
  #joinAtExit = true;
  #keepAlive: NodeJS.Timeout | null = null;

  constructor(private readonly ch: Channel) {}

  push(body: Buffer): void {
    this.#pending.push(body);
    if (this.#running) return;
    if (this.#joinAtExit) feeding.add(this);
    // The lock wait may not hold the loop open by itself: this does, so a
    // process never ends with items unwritten.
    this.#keepAlive = setTimeout(() => {}, 0x7fffffff);
    const run = this.#run().finally(() => {
      if (this.#running !== run) return;
      this.#running = null;
      if (this.#keepAlive) clearTimeout(this.#keepAlive);
      this.#keepAlive = null;
      feeding.delete(this);
    });
    this.#running = run;
  }

  async #run(): Promise<void> {
    const pid = process.pid;
    while (this.#pending.length > 0) {
      await this.ch.wlock.acquireAsync();
      try {
        // A forked copy of a running feeder: its items are the parent's.
        if (process.pid !== pid) return;
        const body = this.#pending.shift();
        if (body) await this.ch.writer.sendBytesAsync(body);
      } finally {
        this.ch.wlock.release();
      }
    }
  }

  /** Resolves when every queued item is written. */
  async drain(): Promise<void> {
    while (this.#running) await this.#running;
  }

  cancelJoin(): void {
    this.#joinAtExit = false;
    feeding.delete(this);
    if (this.#keepAlive) this.#keepAlive.unref();
  }

  forget(): void {
    this.#pending = [];
    this.#running = null;
    if (this.#keepAlive) clearTimeout(this.#keepAlive);
    this.#keepAlive = null;
  }
}

interface QueueState extends Channel {
  maxsize: number;
  sem: BoundedSemaphore;
}

/** Python's multiprocessing.Queue(maxsize=0). */
export class Queue {
  protected readonly _ch: Channel;
  readonly #maxsize: number;
  readonly #sem: BoundedSemaphore;
  #feeder: Feeder | null = null;
  #closed = false;

  constructor(maxsize = 0, revive?: QueueState) {
    if (revive) {
      this._ch = {
        reader: revive.reader,
        writer: revive.writer,
        rlock: revive.rlock,
        wlock: revive.wlock,
      };
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
   * with block: false). put(obj, false) and put(obj, true, 2) also work. */
  async put(obj: unknown, opts?: PutOptions | boolean, timeout?: number | null): Promise<void> {
    const o = options(opts, timeout);
    this.#checkOpen();
    const body = serialize(obj); // fails before a slot is taken
    const block = o.block ?? true;
    const t = checkTimeout(o.timeout, 'Queue.put');
    const got = block
      ? await this.#sem.acquireAsync({ blocking: true, timeout: t })
      : this.#sem.acquire(false);
    if (!got) throw new Full();
    this._beforeWrite();
    this.#feed(body);
  }

  /** put() that blocks. */
  putSync(obj: unknown, opts?: PutOptions | boolean, timeout?: number | null): void {
    const o = options(opts, timeout);
    this.#checkOpen();
    const body = serialize(obj);
    const block = o.block ?? true;
    const t = checkTimeout(o.timeout, 'Queue.putSync');
    if (!(block ? this.#sem.acquire(true, t) : this.#sem.acquire(false))) throw new Full();
    this._beforeWrite();
    this.#feed(body);
  }

  #feed(body: Buffer): void {
    this.#feeder ??= new Feeder(this._ch);
    this.#feeder.push(body);
  }

  /** put(obj, { block: false }), synchronous: Full at once when full. */
  putNowait(obj: unknown): void {
    this.putSync(obj, { block: false });
  }

  /** Takes the next item, waiting without blocking the event loop; Empty if
   * none within timeout seconds (or at once with block: false). */
  async get(opts?: GetOptions | boolean, timeout?: number | null): Promise<unknown> {
    this.#checkOpen();
    const value = await getAsync(this._ch, options(opts, timeout), 'Queue.get');
    this.#sem.release();
    return value;
  }

  /** get() that blocks. */
  getSync(opts?: GetOptions | boolean, timeout?: number | null): unknown {
    this.#checkOpen();
    const value = getSync(this._ch, options(opts, timeout), 'Queue.getSync');
    this.#sem.release();
    return value;
  }

  /** get(false), synchronous: Empty at once when nothing is there. */
  getNowait(): unknown {
    return this.getSync({ block: false });
  }

  /** Approximate number of items (Python's qsize()). */
  qsize(): number {
    return this.#maxsize - this.#sem.getValue();
  }

  /** True when nothing is ready to read now (approximate, as in Python). */
  empty(): boolean {
    this.#checkOpen();
    return !this._ch.reader.poll(0);
  }

  /** True when maxsize items are in the queue (approximate). */
  full(): boolean {
    return this.#sem.getValue() === 0;
  }

  /** This process will put or get no more: closes its ends of the pipe
   * (the writing end once the feeder has written what it holds). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this._ch.reader.close();
    const writer = this._ch.writer;
    if (this.#feeder) {
      void this.#feeder.drain().finally(() => writer.close());
    } else {
      writer.close();
    }
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

  [kShare](): ShareState {
    this.#checkOpen();
    return { kind: 'forkful.Queue', state: this._state() };
  }

  protected _state(): Record<string, unknown> {
    return { ...this._ch, maxsize: this.#maxsize, sem: this.#sem };
  }

  /** Hook for JoinableQueue: runs after a slot is taken, before the write. */
  protected _beforeWrite(): void {}

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
export class JoinableQueue extends Queue {
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

  /** Resolves when every item put has been marked done. */
  async join(): Promise<void> {
    await this.#cond.acquireAsync();
    try {
      while (this.#unfinished.getValue() !== 0) await this.#cond.waitAsync();
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
      state: { ...this._state(), cond: this.#cond, unfinished: this.#unfinished },
    };
  }
}

/** Python's SimpleQueue: unbounded, no timeouts, put writes at once. */
export class SimpleQueue {
  readonly #ch: Channel;
  #closed = false;

  constructor(revive?: Channel) {
    this.#ch = revive ?? newChannel();
  }

  async get(): Promise<unknown> {
    this.#checkOpen();
    return getAsync(this.#ch, {}, 'SimpleQueue.get');
  }

  getSync(): unknown {
    this.#checkOpen();
    return getSync(this.#ch, {}, 'SimpleQueue.getSync');
  }

  /** Writes obj now (blocks only while the pipe is full). */
  put(obj: unknown): void {
    this.#checkOpen();
    write(this.#ch, serialize(obj));
  }

  empty(): boolean {
    this.#checkOpen();
    return !this.#ch.reader.poll(0);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ch.reader.close();
    this.#ch.writer.close();
  }

  [kShare](): ShareState {
    this.#checkOpen();
    return { kind: 'forkful.SimpleQueue', state: { ...this.#ch } };
  }

  #checkOpen(): void {
    if (this.#closed) throw new ValueError('SimpleQueue is closed');
  }
}

registerShareable('forkful.Queue', (s) => new Queue(0, s as QueueState));
registerShareable('forkful.JoinableQueue', (s) => new JoinableQueue(0, s as JoinableState));
registerShareable('forkful.SimpleQueue', (s) => new SimpleQueue(s as Channel));
