// AsyncResult: the handle applyAsync/mapAsync/starmapAsync return, shaped
// like Python's multiprocessing.pool.AsyncResult. Timeouts are in seconds.
import { TimeoutError, ValueError } from '../../core/errors';
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

function reportCallbackError(err: unknown): void {
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.emitWarning(`an AsyncResult callback threw: ${text}`, { type: 'PoolCallbackWarning' });
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

  /** Waits until ready or `timeout` seconds passed (then resolves anyway). */
  wait(timeout?: number | null): Promise<void> {
    const ms = waitMs(timeout, 'AsyncResult.wait');
    if (this.ready()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const done = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      this.waiters.push(done);
      if (ms !== null) {
        timer = setTimeout(() => {
          const i = this.waiters.indexOf(done);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve();
        }, ms);
      }
    });
  }

  /** The result; rejects with the task's error, or TimeoutError after
   * `timeout` seconds (the call keeps running: get() again later). */
  async get(timeout?: number | null): Promise<T> {
    await this.wait(timeout);
    return this.take(timeout);
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
