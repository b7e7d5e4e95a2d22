// Cooperative cancellation. JavaScript cannot throw into a running async
// function the way gevent throws into a greenlet, so every wait forkful's
// coroutine module offers (sleep, join, joinall, Pool waits, withTimeout)
// registers with the scope it runs in, found through AsyncLocalStorage
// (gevent's getcurrent()). Killing a greenlet or firing a Timeout fails those
// waits, and aborts the AbortSignal the user hands to other APIs (fetch, ...).
import { AsyncLocalStorage } from 'node:async_hooks';
import { checkOptions } from '../core/options';
import { FOREVER, parseTimeout } from '../core/timeout';

interface Waiter {
  fail(error: unknown): void;
}

/** One per running greenlet, plus one per `withTimeout` / `Timeout.run` block. */
export class Scope {
  private controller: AbortController | null = null;
  private dead = false;
  private reason: unknown = undefined;
  // A one-shot interrupt (gevent's Timeout.start()) that found no wait in
  // progress: the next wait in this scope fails with it.
  private pending: { error: unknown; token: object } | null = null;
  // Most scopes wait on one thing at a time: one slot, a Set beyond that.
  private waiter: Waiter | null = null;
  private waiters: Set<Waiter> | null = null;
  private children: Set<Scope> | null = null;
  // Timeouts started here and still armed (cancelled when the scope ends).
  private armed: Set<{ cancel(): void }> | null = null;
  /** Called once when the scope is aborted (used by Timeout.run to settle). */
  onAbort: ((reason: unknown) => void) | null = null;

  constructor(
    /** The greenlet this scope belongs to (null outside any greenlet). */
    readonly owner: object | null,
    readonly parent: Scope | null,
  ) {
    if (parent) {
      (parent.children ??= new Set()).add(this);
      if (parent.dead) this.abort(parent.reason);
    }
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.dead) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.dead;
  }

  /** What the scope was aborted with (undefined while it is not). */
  get abortReason(): unknown {
    return this.reason;
  }

  /** Permanent: every wait in this scope and its children fails with `reason`. */
  abort(reason: unknown): void {
    if (this.dead) return;
    this.dead = true;
    this.reason = reason;
    this.controller?.abort(reason);
    this.failWaiters(reason);
    if (this.children) for (const child of [...this.children]) child.abort(reason);
    const hook = this.onAbort;
    this.onAbort = null;
    hook?.(reason);
  }

  /** One-shot: fails the waits in progress here or in child scopes, or else the next one. */
  interrupt(error: unknown, token: object): void {
    if (this.dead) return;
    if (!this.failWaiters(error, true)) this.pending = { error, token };
  }

  /** Withdraws a one-shot interrupt that was not delivered yet. */
  withdraw(token: object): void {
    if (this.pending?.token === token) this.pending = null;
  }

  /** Ends a child scope: its parent forgets it. */
  close(): void {
    this.parent?.children?.delete(this);
    this.onAbort = null;
    this.end();
  }

  /** The scope's code is done: Timeouts armed in it have nothing left to interrupt. */
  end(): void {
    const armed = this.armed;
    this.armed = null;
    if (armed) for (const timeout of armed) timeout.cancel();
  }

  arm(timeout: { cancel(): void }): void {
    (this.armed ??= new Set()).add(timeout);
  }

  disarm(timeout: { cancel(): void }): void {
    this.armed?.delete(timeout);
  }

  /** The error a new wait in this scope must fail with at once, if any (consumed if one-shot). */
  take(): { error: unknown } | null {
    if (this.dead) return { error: this.reason };
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- walks up from this scope
    for (let scope: Scope | null = this; scope; scope = scope.parent) {
      if (scope.pending) {
        const { error } = scope.pending;
        scope.pending = null;
        return { error };
      }
    }
    return null;
  }

  add(waiter: Waiter): void {
    if (this.waiter === null) this.waiter = waiter;
    else (this.waiters ??= new Set()).add(waiter);
  }

  remove(waiter: Waiter): void {
    if (this.waiter === waiter) this.waiter = null;
    else this.waiters?.delete(waiter);
  }

  private failWaiters(error: unknown, deep = false): boolean {
    let hit = false;
    const waiters = [...(this.waiter ? [this.waiter] : []), ...(this.waiters ?? [])];
    this.waiter = null;
    this.waiters?.clear();
    if (waiters.length > 0) {
      hit = true;
      for (const waiter of waiters) waiter.fail(error);
    }
    if (deep && this.children) {
      for (const child of [...this.children]) if (child.failWaiters(error, true)) hit = true;
    }
    return hit;
  }
}

export const storage = new AsyncLocalStorage<Scope>();

export function currentScope(): Scope | undefined {
  return storage.getStore();
}

/**
 * A Promise that the current scope can cancel: `executor` starts the wait and
 * returns how to undo it (clear a timer, drop a callback).
 */
export function cancellable<T>(
  executor: (resolve: (value: T) => void, reject: (error: unknown) => void) => () => void,
): Promise<T> {
  const scope = storage.getStore();
  if (scope) {
    const early = scope.take();
    if (early) return Promise.reject(early.error);
  }
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let undo: (() => void) | null = null;
    const waiter: Waiter = {
      fail(error) {
        if (settled) return;
        settled = true;
        undo?.();
        reject(error);
      },
    };
    undo = executor(
      (value) => {
        if (settled) return;
        settled = true;
        scope?.remove(waiter);
        undo?.();
        resolve(value);
      },
      (error) => {
        if (settled) return;
        settled = true;
        scope?.remove(waiter);
        undo?.();
        reject(error);
      },
    );
    if (settled) undo();
    else scope?.add(waiter);
  });
}

// gevent's loop.run_callback: callbacks queued in one turn (greenlet
// starts) run together on the next, in order, in one setImmediate.
let soon: Array<() => void> = [];

/** Runs `fn` on the next turn, with the other callbacks queued in this one. */
export function runSoon(fn: () => void): void {
  soon.push(fn);
  if (soon.length === 1) storage.exit(() => setImmediate(runSoonQueue));
}

function runSoonQueue(): void {
  const batch = soon;
  soon = [];
  for (const fn of batch) {
    try {
      fn();
    } catch (error) {
      // Only a throwing internal callback gets here: surface it without
      // losing the rest of the batch.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

const MAX_DELAY = 2147483647; // setTimeout's limit; longer delays fire at once

/** setTimeout without the 24.8-day limit; returns how to cancel it. A timer
 * that comes due while callbacks wait for their turn (runSoon) fires after
 * them: gevent runs its callbacks before its timers, so a greenlet spawned
 * before a sleep(0.001) has started when the sleep ends (Node may run the
 * timer first, before the setImmediate). */
export function startTimer(fn: () => void, ms: number): () => void {
  let handle: NodeJS.Timeout;
  let cancelled = false;
  const fire = (): void => {
    if (!cancelled) fn();
  };
  const due = (): void => {
    if (soon.length > 0) runSoon(fire);
    else fn();
  };
  const arm = (left: number): void => {
    handle = setTimeout(
      left > MAX_DELAY ? () => arm(left - MAX_DELAY) : due,
      Math.min(left, MAX_DELAY),
    );
  };
  arm(ms);
  return () => {
    cancelled = true;
    clearTimeout(handle);
  };
}

/** Seconds (Python's unit) to milliseconds; null/undefined mean "no limit".
 * gevent's rules: a negative value is an error; any finite value is
 * accepted (startTimer arms long delays in steps). */
export function toMs(seconds: number | null | undefined, what: string): number | null {
  const t = parseTimeout(seconds, what, { negative: 'strict', max: Number.MAX_VALUE });
  return t === FOREVER ? null : t * 1000;
}

/**
 * gevent's (blocking, timeout) pair, positional or as options
 * ({ blocking, timeout } for locks, { block, timeout } for queues). The
 * timeout is read only when blocking: gevent ignores it otherwise.
 */
export function readBlocking(
  blocking: boolean | object | undefined,
  timeout: number | null | undefined,
  key: 'blocking' | 'block',
  what: string,
): { blocking: boolean; ms: number | null } {
  let block = true;
  let seconds = timeout;
  if (typeof blocking === 'object' && blocking !== null) {
    const options = checkOptions(blocking as Record<string, unknown>, [key, 'timeout'], what);
    block = Boolean(options[key] ?? true);
    seconds = options.timeout as number | null | undefined;
  } else if (blocking !== undefined) {
    block = Boolean(blocking);
  }
  if (!block) return { blocking: false, ms: null };
  return { blocking: true, ms: toMs(seconds, `${what} timeout`) };
}
