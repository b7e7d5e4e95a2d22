// gevent.lock: Semaphore, BoundedSemaphore, DummySemaphore and RLock for
// greenlets on one event loop. acquire() is a Promise (the wait is killable
// by kill() and Timeout); release() is synchronous. Waiters get the
// semaphore in the order they began waiting: a release hands the count to
// the first waiter at the moment of the wake-up, so nobody can take it in
// between.
import { RuntimeError, ValueError } from '../core/errors';
import { getcurrent } from './greenlet';
import { Linkable } from './linkable';
import { readBlocking, toMs } from './scope';

export interface AcquireOptions {
  /** false: resolve false at once when it cannot be acquired (default true). */
  blocking?: boolean;
  /** Seconds to wait at most (null: no limit); then resolve false. */
  timeout?: number | null;
}

interface Acquirable {
  acquire(): Promise<boolean>;
  release(): void;
}

/** withLock() of every class here: acquire, run, release (gevent's `with sem:`). */
async function runHolding<R>(lock: Acquirable, fn: () => R | PromiseLike<R>): Promise<Awaited<R>> {
  if (typeof fn !== 'function') throw new TypeError('withLock(fn): fn must be a function');
  await lock.acquire();
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/** hold() of every class here: acquire, then a guard that releases once. */
async function guard(lock: Acquirable): Promise<Disposable> {
  await lock.acquire();
  let held = true;
  return {
    [Symbol.dispose]: () => {
      if (held) lock.release();
      held = false;
    },
  };
}

/**
 * gevent.lock.Semaphore: a counter that acquire() decrements, waiting while
 * it is 0, and release() increments. Anyone may release, any number of
 * times (BoundedSemaphore checks that).
 */
export class Semaphore extends Linkable {
  /** acquire() minus release() calls plus the initial value. */
  counter: number;

  constructor(value = 1) {
    super();
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      throw new TypeError(`semaphore initial value must be an integer, got ${String(value)}`);
    }
    if (value < 0) throw new ValueError('semaphore initial value must be >= 0');
    this.counter = value;
    this.notifyAll = false;
  }

  /** True when acquire() would have to wait. */
  locked(): boolean {
    return this.counter <= 0;
  }

  /** True when acquire() would not wait. */
  ready(): boolean {
    return this.counter > 0;
  }

  /** Increments the counter and hands it to the first waiter; returns the counter. */
  release(): number {
    this.counter += 1;
    this.checkAndNotify();
    return this.counter;
  }

  /**
   * Takes one from the counter; resolves true, or false when not blocking or
   * after `timeout` seconds without success. Never waits while it can take
   * one at once.
   */
  acquire(blocking?: boolean | AcquireOptions, timeout?: number | null): Promise<boolean> {
    let args: { blocking: boolean; ms: number | null };
    try {
      args = readBlocking(blocking, timeout, 'blocking', `${this.constructor.name}.acquire`);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.acquireThen(args.blocking, args.ms, null);
  }

  /**
   * Waits until the semaphore could be acquired (without acquiring it), at
   * most `timeout` seconds; resolves to the counter then (which may be 0 if
   * others took it first).
   */
  async wait(timeout?: number | null): Promise<number> {
    const ms = toMs(timeout, `${this.constructor.name}.wait(timeout)`);
    if (this.counter > 0) return this.counter;
    await this.waitNotified(ms);
    return this.counter;
  }

  /** Acquires, runs `fn`, releases (gevent's `with sem:`). */
  withLock<R>(fn: () => R | PromiseLike<R>): Promise<Awaited<R>> {
    return runHolding(this, fn);
  }

  /** Acquires, and resolves to a guard whose disposal releases:
   * `using _ = await sem.hold();` */
  hold(): Promise<Disposable> {
    return guard(this);
  }

  /** Releases (for `await sem.acquire(); using _ = sem;`). */
  [Symbol.dispose](): void {
    this.release();
  }

  toString(): string {
    return `<${this.constructor.name} counter=${this.counter} _links[${this.linkcount()}]>`;
  }

  /** @internal acquire(), calling `granted` at the moment the count is taken. */
  acquireThen(block: boolean, ms: number | null, granted: (() => void) | null): Promise<boolean> {
    if (this.counter > 0) {
      this.counter -= 1;
      granted?.();
      return Promise.resolve(true);
    }
    if (!block) return Promise.resolve(false);
    return this.waitNotified(ms, {
      onNotified: () => {
        this.counter -= 1;
        granted?.();
      },
    });
  }
}

/**
 * gevent.lock.BoundedSemaphore: a Semaphore whose release() raises
 * ValueError when it would go above the initial value.
 */
export class BoundedSemaphore extends Semaphore {
  private readonly initialValue: number;

  constructor(value = 1) {
    super(value);
    this.initialValue = value;
  }

  release(): number {
    if (this.counter >= this.initialValue) {
      throw new ValueError('Semaphore released too many times');
    }
    return super.release();
  }
}

/**
 * gevent.lock.DummySemaphore: the Semaphore API with no limit. Nothing
 * waits; use it where a limit is optional.
 */
export class DummySemaphore {
  // gevent accepts and ignores a value, for Semaphore's signature.
  constructor(_value?: number | null) {}

  /** Never locked: false. */
  locked(): boolean {
    return false;
  }

  /** Always true. */
  ready(): boolean {
    return true;
  }

  /** Does nothing. */
  release(): void {}

  /** Does nothing (nothing would ever need notifying). */
  rawlink(_callback: unknown): void {}

  /** Does nothing. */
  unlink(_callback: unknown): void {}

  /** Resolves 1 at once. */
  async wait(_timeout?: number | null): Promise<number> {
    return 1;
  }

  /** Resolves true at once; the arguments are ignored. */
  async acquire(_blocking?: boolean | AcquireOptions, _timeout?: number | null): Promise<boolean> {
    return true;
  }

  /** Acquires, runs `fn`, releases (gevent's `with sem:`). */
  withLock<R>(fn: () => R | PromiseLike<R>): Promise<Awaited<R>> {
    return runHolding(this, fn);
  }

  /** Acquires, and resolves to a guard whose disposal releases:
   * `using _ = await sem.hold();` */
  hold(): Promise<Disposable> {
    return guard(this);
  }

  /** Releases (for `await sem.acquire(); using _ = sem;`). */
  [Symbol.dispose](): void {
    this.release();
  }

  toString(): string {
    return '<DummySemaphore>';
  }
}

// Code outside every greenlet is one owner, as gevent's main greenlet is.
const MAIN = Object.freeze({ toString: () => '<main>' });

function currentOwner(): object {
  return getcurrent() ?? MAIN;
}

/**
 * gevent.lock.RLock: a lock its owner (the greenlet that acquired it; code
 * outside any greenlet counts as one owner) may acquire again; each acquire
 * needs its release, and only the owner may release.
 */
export class RLock {
  private readonly block = new Semaphore(1);
  private owner: object | null = null;
  private count = 0;

  /** Resolves true once held (at once for its owner), false when not
   * blocking or after `timeout` seconds. */
  acquire(blocking?: boolean | AcquireOptions, timeout?: number | null): Promise<boolean> {
    let args: { blocking: boolean; ms: number | null };
    try {
      args = readBlocking(blocking, timeout, 'blocking', 'RLock.acquire');
    } catch (error) {
      return Promise.reject(error);
    }
    const me = currentOwner();
    if (this.owner === me) {
      this.count += 1;
      return Promise.resolve(true);
    }
    return this.block.acquireThen(args.blocking, args.ms, () => {
      this.owner = me;
      this.count = 1;
    });
  }

  /** Undoes one acquire(); the last one lets the next waiter in. Raises
   * RuntimeError when the caller is not the owner. */
  release(): void {
    const me = currentOwner();
    if (this.owner !== me) {
      throw new RuntimeError(
        `cannot release un-acquired lock. Owner: ${String(this.owner)} Current: ${String(me)}`,
      );
    }
    this.count -= 1;
    if (this.count === 0) {
      this.owner = null;
      this.block.release();
    }
  }

  /** True while some greenlet holds it. */
  locked(): boolean {
    return this.count > 0;
  }

  /** Acquires, runs `fn`, releases (gevent's `with sem:`). */
  withLock<R>(fn: () => R | PromiseLike<R>): Promise<Awaited<R>> {
    return runHolding(this, fn);
  }

  /** Acquires, and resolves to a guard whose disposal releases:
   * `using _ = await sem.hold();` */
  hold(): Promise<Disposable> {
    return guard(this);
  }

  /** Releases (for `await sem.acquire(); using _ = sem;`). */
  [Symbol.dispose](): void {
    this.release();
  }

  toString(): string {
    return `<RLock _block=${this.block} _count=${this.count} _owner=${String(this.owner)}>`;
  }
}
