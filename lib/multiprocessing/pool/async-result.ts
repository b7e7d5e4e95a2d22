// AsyncResult: the handle applyAsync/mapAsync/starmapAsync return, shaped
// like Python's multiprocessing.pool.AsyncResult. Timeouts are in seconds.
import { abortable, checkSignal, throwIfAborted, type SignalOption } from '../../core/abort';
import { TimeoutError, ValueError } from '../../core/errors';
import { checkOptions } from '../../core/options';
import { FOREVER, parseTimeout } from '../../core/timeout';

export interface AsyncCallbacks<T> {
  /** Called in the parent with the result when the call succeeds. */
  callback?: (value: T) => void;
  /** Called in the parent with the error when the call fails. */
  errorCallback?: (error: Error) => void;
}

/** Blocks until the pool has news or `deadline` (ms, performance.now) passes;
 * supplied by the pool so getSync() can wait without the event loop. */
export type SyncPump = (isReady: () => boolean, deadline: number) => void;

/** ms, or null for no limit. */
function waitMs(timeout: number | null | undefined, what: string): number | null {
  const t = parseTimeout(timeout, what);
  return t === FOREVER ? null : t * 1000;
}

// While a getSync() pumps the pool, settled calls hold back their
// callbacks and promise reactions: the pump may fork a worker, which must not
// inherit reactions (it would run them). They run when the pump returns.
let holding = 0;
const held: Array<() => void> = [];

/** Runs `fn` now, or after the current getSync() pump. */
export function notify(fn: () => void): void {
  if (holding > 0) held.push(fn);
  else fn();
}

/** Holds notifications while `body` runs, then delivers them in order. */
export function holdNotifications<T>(body: () => T): T {
  holding++;
  try {
    return body();
  } finally {
    if (--holding === 0) {
      for (const fn of held.splice(0)) fn();
    }
  }
}

/** Runs a user's callback (a progress callback) after the current pump,
 * reporting what it throws as a warning instead of letting it into the
 * pool's bookkeeping. */
export function callSafely(fn: () => void): void {
  notify(() => {
    try {
      fn();
    } catch (err) {
      reportCallbackError(err);
    }
  });
}

function reportCallbackError(err: unknown): void {
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.emitWarning(`a Pool callback threw: ${text}`, { type: 'PoolCallbackWarning' });
}

export class AsyncResult<T = unknown> {
  private state: 'pending' | 'ok' | 'error' = 'pending';
  private value: T | undefined;
  private error: Error | undefined;
  private waiters: Array<() => void> = [];
  private readonly callbacks: AsyncCallbacks<T>;
  private readonly pump: SyncPump;

  /** @internal Created by Pool. */
  constructor(callbacks: AsyncCallbacks<T>, pump: SyncPump) {
    this.callbacks = callbacks;
    this.pump = pump;
  }

  /** True once the call has finished, successfully or not. */
  ready(): boolean {
    return this.state !== 'pending';
  }

  /** Whether the call succeeded; throws ValueError while it is not ready. */
  successful(): boolean {
    if (this.state === 'pending') {
      throw new ValueError('the result is not ready: call successful() after ready() is true');
    }
    return this.state === 'ok';
  }

  /** Waits until ready or `timeout` seconds passed (then resolves anyway).
   * `{ signal }` stops the wait (AbortError); the call keeps running. */
  wait(timeout?: number | null, options?: SignalOption): Promise<void> {
    return this.#wait(timeout, options, 'AsyncResult.wait');
  }

  #wait(timeout: number | null | undefined, options: SignalOption | undefined, what: string) {
    const ms = waitMs(timeout, what);
    const signal = checkSignal(checkOptions(options, ['signal'], what).signal, what);
    throwIfAborted(signal, what);
    if (this.ready()) return Promise.resolve();
    let timer: NodeJS.Timeout | null = null;
    let done = () => {};
    const stop = () => {
      if (timer) clearTimeout(timer);
      const i = this.waiters.indexOf(done);
      if (i >= 0) this.waiters.splice(i, 1);
    };
    const waited = new Promise<void>((resolve) => {
      done = () => {
        stop();
        resolve();
      };
      this.waiters.push(done);
      if (ms !== null) timer = setTimeout(done, ms);
    });
    return abortable(signal, what, waited, stop);
  }

  /** The result; rejects with the task's error, or TimeoutError after
   * `timeout` seconds (the call keeps running: get() again later).
   * `{ signal }` stops the wait as a timeout does, with AbortError (to
   * cancel the call itself, give the signal to the Pool call). */
  get(timeout?: number | null, options?: SignalOption): Promise<T> {
    // No timeout, no signal (every Pool.apply and Pool.map): one promise
    // that the outcome settles, without the timer, abort and waiter
    // bookkeeping of a bounded wait (a fifth of what an apply allocated).
    if (timeout == null && options === undefined) return this.#outcome();
    return this.#getWithin(timeout, options);
  }

  async #getWithin(timeout: number | null | undefined, options?: SignalOption): Promise<T> {
    await this.#wait(timeout, options, 'AsyncResult.get');
    return this.take(timeout);
  }

  #outcome(): Promise<T> {
    if (this.state === 'ok') return Promise.resolve(this.value as T);
    if (this.state === 'error') return Promise.reject(this.error);
    return new Promise<T>((resolve, reject) => {
      this.waiters.push(() => {
        if (this.state === 'ok') resolve(this.value as T);
        else reject(this.error);
      });
    });
  }

  /** get() that blocks the calling thread (and the event loop) instead. */
  getSync(timeout?: number | null): T {
    const ms = waitMs(timeout, 'AsyncResult.getSync');
    if (!this.ready()) {
      const deadline = ms === null ? Infinity : performance.now() + ms;
      this.pump(() => this.ready(), deadline);
    }
    return this.take(timeout);
  }

  private take(timeout: number | null | undefined): T {
    if (this.state === 'ok') return this.value as T;
    if (this.state === 'error') throw this.error;
    throw new TimeoutError(
      `the pool call did not finish within ${timeout} s; it is still running: ` +
        `call get() again, or terminate() the pool to stop it`,
    );
  }

  /** @internal */
  _resolve(value: T): void {
    if (this.state !== 'pending') return;
    this.state = 'ok';
    this.value = value;
    this.settle(() => this.callbacks.callback?.(value));
  }

  /** @internal */
  _reject(error: Error): void {
    if (this.state !== 'pending') return;
    this.state = 'error';
    this.error = error;
    this.settle(() => this.callbacks.errorCallback?.(error));
  }

  private settle(callback: () => void): void {
    notify(() => {
      try {
        callback();
      } catch (err) {
        reportCallbackError(err);
      }
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    });
  }
}
