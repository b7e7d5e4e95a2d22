// gevent.queue for greenlets on one event loop: SimpleQueue, Queue (with
// taskDone/join and shutdown; JoinableQueue is the same class, as in
// gevent 25.4), LifoQueue, PriorityQueue and Channel. get/put/peek are
// Promises whose waits are killable (kill(), Timeout); blocked getters and
// putters are served in the order they began waiting, each served at the
// moment of the hand-over so that no one can take its item in between.
import { Empty, Full, ShutDown, ValueError } from '../core/errors';
import { Event } from './event';
import { cancellable, readBlocking, startTimer, storage } from './scope';

export interface QueueWaitOptions {
  /** false: fail at once (Empty/Full) instead of waiting (default true). */
  block?: boolean;
  /** Seconds to wait at most (null: no limit); then Empty/Full. */
  timeout?: number | null;
}

/** Runs `fn`, turning a synchronous throw into a rejection. The waits
 * below are plain functions returning the wait's own Promise, not async
 * functions: an async function that returns a Promise settles two
 * microtasks later, which would let a putter resume before the getter it
 * served (gevent switches to the getter first). */
function attempt<R>(fn: () => Promise<R>): Promise<R> {
  try {
    return fn();
  } catch (error) {
    return Promise.reject(error);
  }
}

interface Getter<T> {
  peek: boolean;
  resolve(item: T): void;
  reject(error: unknown): void;
}

interface Putter<T> {
  item: T;
  resolve(): void;
  reject(error: unknown): void;
}

/** Removes `entry` from `list` if it is still there. */
function drop<E>(list: E[], entry: E): void {
  const at = list.indexOf(entry);
  if (at >= 0) list.splice(at, 1);
}

/**
 * Waits in `line` (getters or putters) until served; killable. The entry
 * leaves the line when the wait ends in any way; after `ms` the wait fails
 * with `timedOut(seconds)`. `served` runs once the entry is in line (to schedule
 * the hand-over when the other side is already waiting).
 */
function waitInLine<R, E>(
  line: E[],
  entry: (resolve: (value: R) => void, reject: (error: unknown) => void) => E,
  ms: number | null,
  timedOut: (seconds: number) => Error,
  served: () => void,
): Promise<R> {
  return cancellable<R>((resolve, reject) => {
    const waiter = entry(resolve, reject);
    line.push(waiter);
    served();
    const cancelTimer = ms === null ? null : startTimer(() => reject(timedOut(ms / 1000)), ms);
    return () => {
      drop(line, waiter);
      cancelTimer?.();
    };
  });
}

/** Where a queue keeps its items: the order they come out in. */
interface Store<T> {
  size(): number;
  push(item: T): void;
  take(): T;
  peek(): T;
  /** The items in an order that, pushed again, rebuilds the store (copy()). */
  items(): T[];
}

/** First in, first out (amortised O(1) without Array.shift()). */
class FifoStore<T> implements Store<T> {
  private list: T[] = [];
  private head = 0;

  size(): number {
    return this.list.length - this.head;
  }

  push(item: T): void {
    this.list.push(item);
  }

  take(): T {
    const item = this.list[this.head]!;
    this.list[this.head] = undefined as T;
    this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.list.length) {
      this.list = this.list.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  peek(): T {
    return this.list[this.head]!;
  }

  items(): T[] {
    return this.list.slice(this.head);
  }
}

/** Last in, first out. */
class LifoStore<T> implements Store<T> {
  private readonly stack: T[] = [];

  size(): number {
    return this.stack.length;
  }

  push(item: T): void {
    this.stack.push(item);
  }

  take(): T {
    return this.stack.pop()!;
  }

  peek(): T {
    return this.stack[this.stack.length - 1]!;
  }

  items(): T[] {
    return [...this.stack];
  }
}

/** Lowest first: a binary heap (Python's heapq). */
class HeapStore<T> implements Store<T> {
  private readonly heap: T[] = [];

  constructor(public compare: (a: T, b: T) => number) {}

  size(): number {
    return this.heap.length;
  }

  push(item: T): void {
    const heap = this.heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.compare(heap[i]!, heap[parent]!) >= 0) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  take(): T {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.siftDown();
    }
    return top;
  }

  peek(): T {
    return this.heap[0]!;
  }

  items(): T[] {
    return [...this.heap];
  }

  private siftDown(): void {
    const heap = this.heap;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && this.compare(heap[left]!, heap[smallest]!) < 0) smallest = left;
      if (right < heap.length && this.compare(heap[right]!, heap[smallest]!) < 0) smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}

/**
 * gevent.queue.SimpleQueue: a FIFO queue of at most `maxsize` items (none,
 * 0 or less: no limit). `items` fills it at creation (a gevent extension).
 */
export class SimpleQueue<T = unknown> {
  protected readonly getters: Getter<T>[] = [];
  protected readonly putters: Putter<T>[] = [];
  protected isShutdown = false;
  protected readonly store: Store<T>;
  private limit: number;
  private unlockScheduled = false;

  constructor(maxsize?: number | null, items: Iterable<T> = []) {
    this.limit = SimpleQueue.readMaxsize(maxsize);
    this.store = this.createStore();
    for (const item of items) this.store.push(item);
  }

  /** The limit, or null when there is none. */
  get maxsize(): number | null {
    return this.limit > 0 ? this.limit : null;
  }

  set maxsize(value: number | null) {
    this.limit = SimpleQueue.readMaxsize(value);
    this.scheduleUnlock(); // room for waiting putters
  }

  /** How many items it holds. */
  qsize(): number {
    return this.size();
  }

  /** Same as qsize() (Python's len(q)). */
  get length(): number {
    return this.size();
  }

  /** True when it holds no item. */
  empty(): boolean {
    return this.size() === 0;
  }

  /** True when it holds maxsize items (never without a maxsize). */
  full(): boolean {
    return this.limit > 0 && this.size() >= this.limit;
  }

  /**
   * Adds `item`, waiting while the queue is full; `block: false` or an
   * expired `timeout` (seconds) rejects with Full.
   */
  put(item: T, block?: boolean | QueueWaitOptions, timeout?: number | null): Promise<void> {
    return attempt(() => {
      if (this.isShutdown) throw new ShutDown('put() on a queue that was shut down');
      const { blocking, ms } = readBlocking(
        block,
        timeout,
        'block',
        `${this.constructor.name}.put`,
      );
      if (!this.full()) {
        this.putItem(item);
        if (this.getters.length > 0) this.scheduleUnlock();
        return Promise.resolve();
      }
      if (!blocking) throw new Full(`${this.constructor.name} is full (maxsize ${this.limit})`);
      return waitInLine<void, Putter<T>>(
        this.putters,
        (resolve, reject) => ({ item, resolve, reject }),
        ms,
        (seconds) => new Full(`${this.constructor.name} still full after ${seconds} s`),
        () => {
          if (this.getters.length > 0) this.scheduleUnlock();
        },
      );
    });
  }

  /** Adds `item` now, or throws Full (no waiting). */
  putNowait(item: T): void {
    if (this.isShutdown) throw new ShutDown('put() on a queue that was shut down');
    // Items already promised to waiting getters make room first.
    if (this.full() && this.getters.length > 0) this.unlock();
    if (this.full()) throw new Full(`${this.constructor.name} is full (maxsize ${this.limit})`);
    this.putItem(item);
    if (this.getters.length > 0) this.scheduleUnlock();
  }

  /**
   * Removes and resolves to the next item, waiting while the queue is
   * empty; `block: false` or an expired `timeout` (seconds) rejects with Empty.
   */
  get(block?: boolean | QueueWaitOptions, timeout?: number | null): Promise<T> {
    return attempt(() => {
      const { blocking, ms } = readBlocking(
        block,
        timeout,
        'block',
        `${this.constructor.name}.get`,
      );
      if (this.size() > 0) {
        if (this.putters.length > 0) this.scheduleUnlock();
        return Promise.resolve(this.takeItem());
      }
      return this.waitForItem(false, blocking, ms);
    });
  }

  /** Removes and returns the next item now, or throws Empty (no waiting). */
  getNowait(): T {
    if (this.size() === 0 && this.putters.length > 0) this.unlock();
    if (this.size() > 0) {
      if (this.putters.length > 0) this.scheduleUnlock();
      return this.takeItem();
    }
    if (this.isShutdown) throw new ShutDown('get() on a queue that was shut down and is empty');
    throw new Empty(`${this.constructor.name} is empty`);
  }

  /** Like get() without removing the item. */
  peek(block?: boolean | QueueWaitOptions, timeout?: number | null): Promise<T> {
    return attempt(() => {
      const { blocking, ms } = readBlocking(
        block,
        timeout,
        'block',
        `${this.constructor.name}.peek`,
      );
      if (this.size() > 0) return Promise.resolve(this.peekItem());
      return this.waitForItem(true, blocking, ms);
    });
  }

  /** Like getNowait() without removing the item. */
  peekNowait(): T {
    if (this.size() === 0 && this.putters.length > 0) this.unlock();
    if (this.size() > 0) return this.peekItem();
    if (this.isShutdown) throw new ShutDown('peek() on a queue that was shut down and is empty');
    throw new Empty(`${this.constructor.name} is empty`);
  }

  /** A new queue of the same kind, maxsize and items. */
  copy(): SimpleQueue<T> {
    const Kind = this.constructor as new (maxsize: number | null, items: Iterable<T>) => this;
    return new Kind(this.maxsize, this.items());
  }

  /** `for await (const item of q)`: gets items until the queue is shut
   * down and empty (forever for a queue never shut down: break to stop). */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      let item: T;
      try {
        item = await this.get();
      } catch (error) {
        if (error instanceof ShutDown) return;
        throw error;
      }
      yield item;
    }
  }

  toString(): string {
    const parts: string[] = [];
    if (this.maxsize !== null) parts.push(`maxsize=${this.maxsize}`);
    if (this.size() > 0) parts.push(`queue=[${this.items().map(String).join(', ')}]`);
    if (this.getters.length > 0) parts.push(`getters[${this.getters.length}]`);
    if (this.putters.length > 0) parts.push(`putters[${this.putters.length}]`);
    return `<${this.constructor.name}${parts.length > 0 ? ' ' + parts.join(' ') : ''}>`;
  }

  // ---- storage: a FIFO here; LifoQueue and PriorityQueue change it ----

  /** The store of a new queue (called by the constructor, before the
   * subclass's fields exist). */
  protected createStore(): Store<T> {
    return new FifoStore<T>();
  }

  protected size(): number {
    return this.store.size();
  }

  protected putItem(item: T): void {
    this.store.push(item);
  }

  protected takeItem(): T {
    return this.store.take();
  }

  protected peekItem(): T {
    return this.store.peek();
  }

  protected items(): T[] {
    return this.store.items();
  }

  // ---- waiting ----

  /** Fails every blocked getter and putter (shutdown). */
  protected failWaiters(error: () => unknown): void {
    const waiters = [...this.getters, ...this.putters];
    this.getters.length = 0;
    this.putters.length = 0;
    for (const waiter of waiters) waiter.reject(error());
  }

  private waitForItem(peek: boolean, block: boolean, ms: number | null): Promise<T> {
    if (this.isShutdown) {
      return Promise.reject(new ShutDown('get() on a queue that was shut down and is empty'));
    }
    if (!block) return Promise.reject(new Empty(`${this.constructor.name} is empty`));
    return waitInLine<T, Getter<T>>(
      this.getters,
      (resolve, reject) => ({ peek, resolve, reject }),
      ms,
      (seconds) => new Empty(`${this.constructor.name} still empty after ${seconds} s`),
      () => {
        if (this.putters.length > 0) this.scheduleUnlock();
      },
    );
  }

  private scheduleUnlock(): void {
    if (this.unlockScheduled) return;
    this.unlockScheduled = true;
    storage.exit(() =>
      queueMicrotask(() => {
        this.unlockScheduled = false;
        this.unlock();
      }),
    );
  }

  /** Moves waiting putters' items in and hands items to waiting getters,
   * first come first served, while that is possible. */
  private unlock(): void {
    for (;;) {
      let repeat = false;
      if (this.putters.length > 0 && !this.full()) {
        repeat = true;
        const putter = this.putters.shift()!;
        this.putItem(putter.item);
        putter.resolve();
      }
      if (this.getters.length > 0 && this.size() > 0) {
        repeat = true;
        const getter = this.getters.shift()!;
        getter.resolve(getter.peek ? this.peekItem() : this.takeItem());
      }
      if (!repeat) return;
    }
  }

  private static readMaxsize(maxsize: number | null | undefined): number {
    if (maxsize === null || maxsize === undefined) return -1;
    if (typeof maxsize !== 'number' || Number.isNaN(maxsize)) {
      throw new TypeError(`maxsize must be a number or null, got ${String(maxsize)}`);
    }
    // gevent: 0 or less means no limit (Queue(0) is not a Channel).
    return maxsize > 0 ? Math.floor(maxsize) : -1;
  }
}

/**
 * gevent.queue.Queue (also JoinableQueue): a SimpleQueue that counts
 * unfinished tasks (taskDone/join) and can be shut down.
 */
export class Queue<T = unknown> extends SimpleQueue<T> {
  private readonly finished = new Event();
  private tasks = 0;

  constructor(maxsize?: number | null, items: Iterable<T> = [], unfinishedTasks?: number | null) {
    super(maxsize, items);
    // gevent: the items given are unfinished tasks, unless told otherwise.
    this.setTasks(unfinishedTasks || this.size());
  }

  /** Items put and not yet marked done with taskDone(). */
  get unfinishedTasks(): number {
    return this.tasks;
  }

  /** Marks one gotten item done; the last one wakes join(). ValueError
   * when called more often than items were put. */
  taskDone(): void {
    if (this.tasks <= 0) throw new ValueError('task_done() called too many times');
    this.tasks -= 1;
    if (this.tasks === 0) this.finished.set();
  }

  /** Resolves true once every item put was marked done (false after
   * `timeout` seconds). */
  join(timeout?: number | null): Promise<boolean> {
    return this.finished.wait(timeout);
  }

  /**
   * Shuts the queue down (Python 3.13): put() then throws ShutDown, get()
   * too once the queue is empty, and blocked callers are woken with it.
   * `immediate` empties the queue first (marking each item done).
   */
  shutdown(immediate = false): void {
    this.isShutdown = true;
    if (immediate) {
      while (this.size() > 0) {
        this.takeItem();
        this.taskDone();
      }
    }
    this.failWaiters(() => new ShutDown('the queue was shut down'));
  }

  copy(): Queue<T> {
    const Kind = this.constructor as new (
      maxsize: number | null,
      items: Iterable<T>,
      unfinishedTasks: number,
    ) => this;
    return new Kind(this.maxsize, this.items(), this.tasks);
  }

  toString(): string {
    const base = super.toString();
    return this.tasks > 0 ? `${base.slice(0, -1)} tasks=${this.tasks}>` : base;
  }

  protected putItem(item: T): void {
    super.putItem(item);
    this.tasks += 1;
    this.finished.clear();
  }

  /** Sets the count of unfinished tasks (constructors). */
  protected setTasks(count: number): void {
    this.tasks = count;
    if (count === 0) this.finished.set();
    else this.finished.clear();
  }
}

/** gevent.queue.JoinableQueue: the same class as Queue (gevent 25.4). */
export const JoinableQueue = Queue;
export type JoinableQueue<T = unknown> = Queue<T>;

/** gevent.queue.LifoQueue: the most recently added item comes out first. */
export class LifoQueue<T = unknown> extends Queue<T> {
  protected createStore(): Store<T> {
    return new LifoStore<T>();
  }
}

/** Python's ordering for PriorityQueue entries: numbers, strings, bigints,
 * and arrays compared item by item (Python's tuples, `[priority, data]`). */
export function comparePriority(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const c = comparePriority(a[i], b[i]);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  if (typeof a !== typeof b || !['number', 'string', 'bigint'].includes(typeof a)) {
    throw new TypeError(
      `PriorityQueue cannot order ${String(a)} and ${String(b)}: use numbers, strings or ` +
        'arrays of them ([priority, data]), or pass a compare function',
    );
  }
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/**
 * gevent.queue.PriorityQueue: the lowest entry comes out first (a binary
 * heap; `compare` as for Array.prototype.sort, default comparePriority).
 */
export class PriorityQueue<T = unknown> extends Queue<T> {
  constructor(
    maxsize?: number | null,
    items: Iterable<T> = [],
    compare?: ((a: T, b: T) => number) | null,
    unfinishedTasks?: number | null,
  ) {
    // The items are pushed once `compare` is in place.
    super(maxsize, []);
    if (compare !== undefined && compare !== null) {
      if (typeof compare !== 'function') {
        throw new TypeError('PriorityQueue(maxsize, items, compare): compare must be a function');
      }
      (this.store as HeapStore<T>).compare = compare;
    }
    for (const item of items) this.store.push(item);
    this.setTasks(unfinishedTasks || this.size());
  }

  copy(): PriorityQueue<T> {
    const compare = (this.store as HeapStore<T>).compare;
    return new PriorityQueue<T>(this.maxsize, this.items(), compare, this.unfinishedTasks);
  }

  protected createStore(): Store<T> {
    return new HeapStore<T>(comparePriority);
  }
}

/**
 * gevent.queue.Channel: a queue that holds nothing; put() waits until a
 * getter takes the item (a rendezvous). qsize() is 0; it is always empty
 * and full.
 */
export class Channel<T = unknown> {
  private readonly getters: Getter<T>[] = [];
  private readonly putters: Putter<T>[] = [];
  private unlockScheduled = false;

  constructor(maxsize = 1) {
    if (maxsize !== 1) throw new ValueError('Channels have a maxsize of 1');
  }

  /** Waiting putters minus waiting getters. */
  get balance(): number {
    return this.putters.length - this.getters.length;
  }

  qsize(): number {
    return 0;
  }

  get length(): number {
    return 0;
  }

  empty(): boolean {
    return true;
  }

  full(): boolean {
    return true;
  }

  /** Resolves once a getter took `item`; `block: false` (no getter
   * waiting) or an expired `timeout` rejects with Full. */
  put(item: T, block?: boolean | QueueWaitOptions, timeout?: number | null): Promise<void> {
    return attempt(() => {
      const { blocking, ms } = readBlocking(block, timeout, 'block', 'Channel.put');
      if (!blocking) {
        this.putNowait(item);
        return Promise.resolve();
      }
      return waitInLine<void, Putter<T>>(
        this.putters,
        (resolve, reject) => ({ item, resolve, reject }),
        ms,
        (seconds) => new Full(`no Channel getter within ${seconds} s`),
        () => {
          if (this.getters.length > 0) this.scheduleUnlock();
        },
      );
    });
  }

  /** Hands `item` to a waiting getter now, or throws Full. */
  putNowait(item: T): void {
    const getter = this.getters.shift();
    if (!getter) throw new Full('no Channel getter is waiting');
    getter.resolve(item);
  }

  /** Resolves to the item of the next putter; `block: false` (no putter
   * waiting) or an expired `timeout` rejects with Empty. */
  get(block?: boolean | QueueWaitOptions, timeout?: number | null): Promise<T> {
    return attempt(() => {
      const { blocking, ms } = readBlocking(block, timeout, 'block', 'Channel.get');
      if (!blocking) return Promise.resolve(this.getNowait());
      return waitInLine<T, Getter<T>>(
        this.getters,
        (resolve, reject) => ({ peek: false, resolve, reject }),
        ms,
        (seconds) => new Empty(`no Channel putter within ${seconds} s`),
        () => {
          if (this.putters.length > 0) this.scheduleUnlock();
        },
      );
    });
  }

  /** Takes the item of a waiting putter now, or throws Empty. */
  getNowait(): T {
    const putter = this.putters.shift();
    if (!putter) throw new Empty('no Channel putter is waiting');
    putter.resolve();
    return putter.item;
  }

  /** `for await (const item of channel)`: gets forever (break to stop). */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) yield await this.get();
  }

  toString(): string {
    const parts: string[] = [];
    if (this.getters.length > 0) parts.push(`getters[${this.getters.length}]`);
    if (this.putters.length > 0) parts.push(`putters[${this.putters.length}]`);
    return `<Channel${parts.length > 0 ? ' ' + parts.join(' ') : ''}>`;
  }

  private scheduleUnlock(): void {
    if (this.unlockScheduled) return;
    this.unlockScheduled = true;
    storage.exit(() =>
      queueMicrotask(() => {
        this.unlockScheduled = false;
        while (this.putters.length > 0 && this.getters.length > 0) {
          const getter = this.getters.shift()!;
          const putter = this.putters.shift()!;
          getter.resolve(putter.item);
          putter.resolve();
        }
      }),
    );
  }
}
