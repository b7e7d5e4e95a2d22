// gevent.pool.Pool / Group: greenlets with a bound on how many run at once.
import { checkOptions } from '../core/options';
import { PoolFull, ValueError } from '../core/errors';
import { Greenlet, GreenletFunction, KillOptions, getcurrent } from './greenlet';
import { cancellable, startTimer, toMs } from './scope';

type AnyGreenlet = Greenlet<unknown>;

export interface ImapOptions {
  /** At most this many results spawned but not yet taken by the reader (gevent's maxsize). */
  maxsize?: number | null;
}

function iteratorOf<I>(iterable: Iterable<I> | AsyncIterable<I>): Iterator<I> | AsyncIterator<I> {
  if (iterable !== null && typeof iterable === 'object') {
    const asyncIter = (iterable as AsyncIterable<I>)[Symbol.asyncIterator];
    if (typeof asyncIter === 'function') return asyncIter.call(iterable);
  }
  const iter = (iterable as Iterable<I> | null)?.[Symbol.iterator];
  if (typeof iter !== 'function')
    throw new TypeError('expected an iterable or async iterable of items');
  return iter.call(iterable);
}

/**
 * gevent's Pool: `spawn` starts a greenlet when fewer than `size` run, and
 * otherwise queues it (it starts, in order, as running ones finish): at most
 * `size` greenlets of the pool are ever in flight. `new Pool()` is unbounded
 * (gevent's Group).
 */
export class Pool {
  /** The limit on greenlets running at once; null means none. */
  readonly size: number | null;
  private readonly running = new Set<AnyGreenlet>();
  private readonly queued = new Set<AnyGreenlet>();
  // Called every time a greenlet leaves the pool (each decides if it is done waiting).
  private readonly listeners = new Set<() => void>();
  private readonly leave = (greenlet: AnyGreenlet): void => {
    if (!this.running.delete(greenlet)) this.queued.delete(greenlet);
    this.fill();
    for (const listener of [...this.listeners]) listener();
  };

  constructor(size?: number | null) {
    if (size !== null && size !== undefined && (!Number.isInteger(size) || size < 1)) {
      throw new ValueError(`Pool size must be an integer >= 1 (or null for no limit), got ${size}`);
    }
    this.size = size ?? null;
  }

  /** How many greenlets the pool holds (running and queued). */
  get length(): number {
    return this.running.size + this.queued.size;
  }

  /** How many more greenlets could start right now (Infinity when unbounded). */
  freeCount(): number {
    if (this.size === null) return Infinity;
    return Math.max(0, this.size - this.running.size - this.queued.size);
  }

  /** True when a new greenlet would have to wait for a slot. */
  full(): boolean {
    return this.freeCount() === 0;
  }

  /** True when `greenlet` belongs to this pool. */
  has(greenlet: AnyGreenlet): boolean {
    return this.running.has(greenlet) || this.queued.has(greenlet);
  }

  [Symbol.iterator](): IterableIterator<AnyGreenlet> {
    return [...this.running, ...this.queued][Symbol.iterator]();
  }

  /**
   * Spawns `fn(...args)` in the pool and returns its greenlet at once; while
   * the pool is full the greenlet waits for a slot before it starts. Use
   * `await pool.waitAvailable()` first to hold a producer back instead.
   */
  spawn<A extends unknown[], R>(fn: GreenletFunction<A, R>, ...args: A): Greenlet<Awaited<R>> {
    const greenlet = new Greenlet<Awaited<R>>(fn as never, ...args);
    const any = greenlet as AnyGreenlet;
    any.onDone(this.leave);
    if (this.queued.size === 0 && (this.size === null || this.running.size < this.size)) {
      this.running.add(any);
      greenlet.start();
    } else {
      this.queued.add(any);
    }
    return greenlet;
  }

  /**
   * Tracks `greenlet` (usually started elsewhere) as one of the pool's, in
   * a slot of its own: waits for a free slot first, and rejects with
   * PoolFull when `blocking` is false and none is free, or when `timeout`
   * seconds pass (gevent's Pool.add). It leaves the pool when it finishes.
   */
  async add(
    greenlet: AnyGreenlet,
    options: { blocking?: boolean; timeout?: number | null } = {},
  ): Promise<void> {
    if (!(greenlet instanceof Greenlet)) {
      throw new TypeError(`Pool.add(greenlet) takes a Greenlet, got ${String(greenlet)}`);
    }
    if (this.has(greenlet)) return;
    const { blocking = true, timeout } = options;
    const ms = toMs(timeout, 'add timeout');
    if (this.full()) {
      if (!blocking) throw new PoolFull('the pool is full');
      if (!(await this.waitFor(() => !this.full(), ms))) {
        throw new PoolFull(`the pool is still full after ${timeout} seconds`);
      }
    }
    this.running.add(greenlet);
    greenlet.onDone(this.leave);
  }

  /** add(greenlet, options), then starts it (gevent's Pool.start). */
  async start(
    greenlet: AnyGreenlet,
    options: { blocking?: boolean; timeout?: number | null } = {},
  ): Promise<void> {
    await this.add(greenlet, options);
    greenlet.start();
  }

  /** Stops tracking `greenlet` (it runs on, outside the pool; one still
   * waiting for a slot starts now): its slot is free again (gevent's
   * Pool.discard). */
  discard(greenlet: AnyGreenlet): void {
    if (!this.has(greenlet)) return;
    const waiting = this.queued.has(greenlet);
    greenlet.offDone(this.leave);
    this.leave(greenlet);
    if (waiting) greenlet.start();
  }

  /** Waits until a slot is free (or `timeout` seconds); resolves to freeCount(). */
  waitAvailable(timeout?: number | null): Promise<number> {
    const ms = toMs(timeout, 'waitAvailable(timeout)');
    return this.waitFor(() => this.freeCount() > 0, ms).then(() => this.freeCount());
  }

  /**
   * Waits until every greenlet of the pool has finished: true, or false when
   * `timeout` seconds passed first. With `raiseError`, then rejects with the
   * first exception among the greenlets the pool held when join was called.
   */
  async join(options: { timeout?: number | null; raiseError?: boolean } = {}): Promise<boolean> {
    checkOptions(options, ['timeout', 'raiseError'], 'Pool.join');
    const ms = toMs(options.timeout, 'join timeout');
    const snapshot = options.raiseError ? [...this] : [];
    for (const greenlet of snapshot) greenlet.markObserved();
    const empty = await this.waitFor(() => this.length === 0, ms);
    for (const greenlet of snapshot) {
      if (greenlet.ready() && !greenlet.successful()) throw greenlet.exception;
    }
    return empty;
  }

  /** Kills every greenlet of the pool (queued ones never start); waits unless `block: false`. */
  async kill(options: KillOptions = {}): Promise<void> {
    const { block = true, timeout } = checkOptions(
      options,
      ['exception', 'block', 'timeout'],
      'Pool.kill',
    );
    const ms = toMs(timeout, 'kill timeout');
    for (const greenlet of [...this.queued]) void greenlet.kill({ ...options, block: false });
    for (const greenlet of [...this.running]) void greenlet.kill({ ...options, block: false });
    if (block) await this.waitFor(() => this.length === 0, ms);
  }

  /** Runs `fn(...args)` in the pool and returns its result (directly when called from the pool). */
  async apply<A extends unknown[], R>(fn: GreenletFunction<A, R>, args?: A): Promise<Awaited<R>> {
    const list = (args ?? []) as A;
    const current = getcurrent();
    // From inside this pool, waiting for a slot could wait for ourselves.
    if (current && this.has(current)) {
      return await (fn as (...a: A) => R).apply(current as Greenlet<Awaited<R>>, list);
    }
    return this.spawn(fn, ...list).get();
  }

  /** Spawns `fn(...args)` in the pool; `callback(value)` runs when it succeeds. */
  applyAsync<A extends unknown[], R>(
    fn: GreenletFunction<A, R>,
    args?: A,
    callback?: (value: Awaited<R>) => void,
  ): Greenlet<Awaited<R>> {
    const greenlet = this.spawn(fn, ...((args ?? []) as A));
    if (callback) greenlet.linkValue((done) => callback(done.value as Awaited<R>));
    return greenlet;
  }

  /** `fn(item)` for every item, at most `size` at once; results in input order. */
  async map<I, R>(
    fn: (this: Greenlet<Awaited<R>>, item: I) => R,
    iterable: Iterable<I> | AsyncIterable<I>,
  ): Promise<Awaited<R>[]> {
    // Unlike imap, map fails as soon as any item fails (as Promise.all does).
    const results: Awaited<R>[] = [];
    for await (const [index, value] of this.iterate(fn, iterable, false, {})) {
      results[index] = value;
    }
    return results;
  }

  /** map() in a greenlet of its own (outside the pool); `callback(results)` on success. */
  mapAsync<I, R>(
    fn: (this: Greenlet<Awaited<R>>, item: I) => R,
    iterable: Iterable<I> | AsyncIterable<I>,
    callback?: (results: Awaited<R>[]) => void,
  ): Greenlet<Awaited<R>[]> {
    const greenlet = Greenlet.spawn(() => this.map(fn, iterable));
    if (callback) greenlet.linkValue((done) => callback(done.value as Awaited<R>[]));
    return greenlet;
  }

  /**
   * Yields `fn(item)` for every item in input order, pulling items only as
   * slots free up. The first failure is thrown at its position; leaving the
   * loop early (break, throw) kills the greenlets it started and not yet
   * yielded.
   */
  imap<I, R>(
    fn: (this: Greenlet<Awaited<R>>, item: I) => R,
    iterable: Iterable<I> | AsyncIterable<I>,
    options: ImapOptions = {},
  ): AsyncGenerator<Awaited<R>, void, undefined> {
    return values(this.iterate(fn, iterable, true, options));
  }

  /** Like imap(), in completion order. */
  imapUnordered<I, R>(
    fn: (this: Greenlet<Awaited<R>>, item: I) => R,
    iterable: Iterable<I> | AsyncIterable<I>,
    options: ImapOptions = {},
  ): AsyncGenerator<Awaited<R>, void, undefined> {
    return values(this.iterate(fn, iterable, false, options));
  }

  private async *iterate<I, R>(
    fn: (this: Greenlet<Awaited<R>>, item: I) => R,
    iterable: Iterable<I> | AsyncIterable<I>,
    ordered: boolean,
    options: ImapOptions,
  ): AsyncGenerator<[number, Awaited<R>], void, undefined> {
    if (typeof fn !== 'function')
      throw new TypeError('map/imap(fn, iterable): fn must be a function');
    const { maxsize } = checkOptions(options, ['maxsize'], 'Pool.imap');
    if (maxsize !== null && maxsize !== undefined && (!Number.isInteger(maxsize) || maxsize < 1)) {
      throw new ValueError(
        `maxsize must be an integer >= 1 (or null for no limit), got ${maxsize}`,
      );
    }
    const limit = maxsize ?? Infinity;
    const iterator = iteratorOf(iterable);
    const pending: Greenlet<Awaited<R>>[] = [];
    const indexes = new Map<Greenlet<Awaited<R>>, number>();
    let count = 0;
    let exhausted = false;
    let finished = false;
    let wake: (() => void) | null = null;
    // A greenlet may finish while this generator awaits the source (not the
    // wake): `poked` keeps that news for the wait below.
    let poked = false;
    const poke = (): void => {
      poked = true;
      wake?.();
    };
    try {
      for (;;) {
        poked = false;
        // Results first (a failure stops the feeding), then new items for free slots.
        for (;;) {
          const found = ordered
            ? pending.length > 0 && pending[0].ready()
              ? 0
              : -1
            : pending.findIndex((greenlet) => greenlet.ready());
          if (found < 0) break;
          const [greenlet] = pending.splice(found, 1);
          if (!greenlet.successful()) throw greenlet.exception;
          const index = indexes.get(greenlet)!;
          indexes.delete(greenlet);
          yield [index, greenlet.value as Awaited<R>];
        }
        while (!exhausted && pending.length < limit && !this.full()) {
          const step = await iterator.next();
          if (step.done) {
            exhausted = true;
            break;
          }
          const greenlet = this.spawn(fn, step.value);
          greenlet.markObserved();
          greenlet.onDone(poke);
          pending.push(greenlet);
          indexes.set(greenlet, count++);
        }
        if (exhausted && pending.length === 0) {
          finished = true;
          return;
        }
        if (poked) continue;
        const feed = !exhausted && pending.length < limit;
        await cancellable<void>((resolve) => {
          wake = resolve;
          if (feed) this.listeners.add(resolve);
          return () => {
            wake = null;
            this.listeners.delete(resolve);
          };
        });
      }
    } finally {
      for (const greenlet of pending) {
        greenlet.offDone(poke);
        if (!finished) void greenlet.kill({ block: false });
      }
      if (!exhausted) await iterator.return?.();
    }
  }

  private waitFor(done: () => boolean, ms: number | null): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return cancellable<boolean>((resolve) => {
      const listener = (): void => {
        if (done()) resolve(true);
      };
      this.listeners.add(listener);
      const cancelTimer = ms === null ? null : startTimer(() => resolve(done()), ms);
      return () => {
        this.listeners.delete(listener);
        cancelTimer?.();
      };
    });
  }

  // Starts queued greenlets, in order, while there are free slots.
  private fill(): void {
    while (this.queued.size > 0 && (this.size === null || this.running.size < this.size)) {
      const next = this.queued.values().next().value as AnyGreenlet;
      this.queued.delete(next);
      this.running.add(next);
      next.start();
    }
  }
}

// The values of iterate()'s [index, value] pairs; closing it closes the source.
async function* values<V>(
  pairs: AsyncGenerator<[number, V], void, undefined>,
): AsyncGenerator<V, void, undefined> {
  for await (const [, value] of pairs) yield value;
}

/** gevent's Group: a Pool with no limit, to join or kill greenlets together. */
export class Group extends Pool {
  constructor() {
    super(null);
  }
}
