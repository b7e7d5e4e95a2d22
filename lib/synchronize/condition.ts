// Condition: three words in the shared arena beside a Lock or RLock: a
// wake-up sequence (the futex word), the count of waiters, and the count of
// wake-ups granted and not yet taken. wait() enters (with the lock held,
// noting the sequence as its ticket), releases the lock and sleeps on the
// sequence; notify(n) grants at most n wake-ups to the waiters that entered
// before it, bumps the sequence and wakes that many sleepers. A waiter
// returns true only by taking a grant, with the lock held again, so that
// notify(n) never wakes more than n: a waiter that entered but was not yet
// asleep when the sequence moved (its futex wait returns at once) must find
// a grant too, as Python's per-waiter locks guarantee.
import { Acquirable } from './acquirable';
import { RuntimeError, ValueError } from '../core/errors';
import { flushQueuedFrames } from '../core/queued-frames';
import { blockingWait } from '../core/pending-writes';
import { kShare, type Revivers, type ShareState } from '../transfer/shareable';
import { slicedWait, throwIfAborted } from '../core/abort';
import { deadlineOf, remaining, waitSignal, waitTimeout, type WaitOptions } from './args';
import { arenaNative, Block, nat, Kind, words, type BlockState } from './arena';
import { Lock, RLock, Revive, type ConditionLock } from './lock';
import { runAsync, runSync, type Steps, type Wait } from './steps';

/** A sequence/sleepers pair at word index `i`, for Barrier: it only ever
 * wakes every sleeper, and each re-checks the Barrier's state (a sleeper
 * that returns without a wake-up of its own does no harm there). */
export class CondWords {
  constructor(readonly i: number) {}

  /** Call with the lock held; returns the ticket to sleep on. */
  enter(): number {
    const w = words();
    Atomics.add(w, this.i + 1, 1);
    return Atomics.load(w, this.i);
  }

  /** Sleeps until notified or timeout (seconds, -1 forever): true if woken. */
  sleep(ticket: number, timeout: number): boolean {
    const r = blockingWait(timeout, (t) => nat().syncFutexWait(this.i * 4, ticket, t));
    Atomics.sub(words(), this.i + 1, 1);
    return r !== 0;
  }

  /** sleep() on the event loop; a signal cancels it (AbortError). */
  async sleepAsync(
    ticket: number,
    timeout: number,
    signal: AbortSignal | null = null,
    what = 'Condition.waitAsync',
  ): Promise<boolean> {
    try {
      const r = await slicedWait(
        signal,
        what,
        timeout,
        (t) => nat().syncFutexWaitAsync(this.i * 4, ticket, t),
        () => {},
      );
      return r !== 0;
    } finally {
      Atomics.sub(words(), this.i + 1, 1);
    }
  }

  notify(n: number): void {
    flushQueuedFrames();
    const w = words();
    if (Atomics.load(w, this.i + 1) === 0) return;
    Atomics.add(w, this.i, 1);
    nat().syncFutexWake(this.i * 4, n);
  }
}

const SEQ = 0;
const WAITERS = 1;
const GRANTED = 2;

/** Condition's three words at index `i` (see the top of this file). enter,
 * take, leave and grant are called with the Condition's lock held. */
export class NotifyWords {
  constructor(readonly i: number) {}

  /** Counts a new waiter; returns its ticket (the sequence now). */
  enter(): number {
    const w = words();
    Atomics.add(w, this.i + WAITERS, 1);
    return Atomics.load(w, this.i + SEQ);
  }

  /** True when a notify came after `ticket` and one of its wake-ups is
   * still there to take. */
  private granted(ticket: number): boolean {
    const w = words();
    return Atomics.load(w, this.i + SEQ) !== ticket && Atomics.load(w, this.i + GRANTED) > 0;
  }

  /** Takes a wake-up granted since `ticket` (the waiter then leaves): true
   * if there was one. */
  take(ticket: number): boolean {
    if (!this.granted(ticket)) return false;
    const w = words();
    Atomics.sub(w, this.i + GRANTED, 1);
    Atomics.sub(w, this.i + WAITERS, 1);
    return true;
  }

  /** How many waiters no notify has granted a wake-up yet (Python's
   * len(Condition._waiters)). */
  waiting(): number {
    const w = words();
    return Math.max(0, Atomics.load(w, this.i + WAITERS) - Atomics.load(w, this.i + GRANTED));
  }

  /** A waiter leaves without a wake-up (timeout, abort, error). */
  leave(): void {
    Atomics.sub(words(), this.i + WAITERS, 1);
  }

  /** Grants up to n wake-ups (n < 0: all) to the waiters not granted one
   * yet, and wakes as many sleepers. */
  grant(n: number): void {
    flushQueuedFrames();
    const w = words();
    const free = Atomics.load(w, this.i + WAITERS) - Atomics.load(w, this.i + GRANTED);
    if (free <= 0) return;
    const k = n < 0 ? free : Math.min(n, free);
    // The grant before the sequence: whoever sees the new sequence sees it.
    Atomics.add(w, this.i + GRANTED, k);
    Atomics.add(w, this.i + SEQ, 1);
    nat().syncFutexWake((this.i + SEQ) * 4, k);
  }

  /** Sleeping (lock released) until a wake-up granted since `ticket` is
   * there to take, or `deadline` (ms, FOREVER) passes: false then. */
  sleepStep(ticket: number, deadline: number): Wait {
    const offset = (this.i + SEQ) * 4;
    return {
      sync: () => {
        for (;;) {
          const seq = Atomics.load(words(), this.i + SEQ);
          if (this.granted(ticket)) return true;
          const left = remaining(deadline);
          if (blockingWait(left, (t) => nat().syncFutexWait(offset, seq, t)) === 0) return false;
        }
      },
      async: async (signal) => {
        for (;;) {
          const seq = Atomics.load(words(), this.i + SEQ);
          if (this.granted(ticket)) return true;
          const r = await slicedWait(
            signal,
            'Condition.waitAsync',
            remaining(deadline),
            (t) => nat().syncFutexWaitAsync(offset, seq, t),
            () => {},
          );
          if (r === 0) return false;
        }
      },
    };
  }
}

/** notify(n)'s n, checked as Python's (every Condition: this module's and
 * the portable backend's): -1 for Infinity (all), at most 2^31-1. */
export function checkN(n: number): number {
  if (typeof n !== 'number' || Number.isNaN(n) || n < 0) {
    throw new ValueError(`Condition.notify: n must be a number >= 0, got ${n}`);
  }
  return n === Infinity ? -1 : Math.min(Math.floor(n), 0x7fffffff);
}

/** Python's Condition(lock?): the default lock is an RLock. */
export class Condition extends Acquirable {
  readonly lock: ConditionLock;
  /** @internal */ readonly _block: Block;
  /** @internal */ readonly _notes: NotifyWords;

  constructor(lock?: Lock | RLock | null, revive?: Revive) {
    super();
    arenaNative('Condition');
    if (
      lock !== undefined &&
      lock !== null &&
      !(lock instanceof Lock) &&
      !(lock instanceof RLock)
    ) {
      throw new TypeError('Condition(lock): lock must be a forkful Lock or RLock');
    }
    this.lock = lock ?? new RLock();
    this._block =
      revive instanceof Revive
        ? Block.revive('Condition', Kind.Condition, revive.state, this)
        : Block.alloc('Condition', Kind.Condition, 12, this);
    this._notes = new NotifyWords(this._block.base);
  }

  acquire(...args: Parameters<ConditionLock['acquire']>): boolean {
    return this.lock.acquire(...args);
  }

  acquireAsync(...args: Parameters<ConditionLock['acquireAsync']>): Promise<boolean> {
    return this.lock.acquireAsync(...args);
  }

  release(): void {
    this.lock.release();
  }

  private owned(what: string): void {
    if (!this.lock._isOwned()) throw new RuntimeError(`cannot ${what} on un-acquired lock`);
  }

  // CPython's Condition takes these three from its lock.
  /** @internal */ _isOwned(): boolean {
    return this.lock._isOwned();
  }
  /** @internal */ _releaseSave(): number {
    return this.lock._releaseSave();
  }
  /** @internal */ _acquireRestore(saved: number): void {
    this.lock._acquireRestore(saved);
  }

  /** Releases the lock, sleeps until notified or `timeout` seconds pass
   * (null: forever), takes the lock back. False on timeout. */
  wait(timeout?: number | null): boolean {
    const t = waitTimeout(timeout, 'Condition.wait');
    this.owned('wait');
    return runSync(this.waitSteps(t));
  }

  /** wait() on the event loop. `{ signal }` cancels it: the lock is taken
   * back, then the call rejects with AbortError (as a timeout returns),
   * unless a notify reached this waiter first (it then resolves true). */
  async waitAsync(timeout?: number | null, options?: WaitOptions): Promise<boolean> {
    const t = waitTimeout(timeout, 'Condition.waitAsync');
    const signal = waitSignal(options, 'Condition.waitAsync');
    this.owned('wait');
    throwIfAborted(signal, 'Condition.waitAsync');
    return runAsync(this.waitSteps(t), signal);
  }

  /** Python's Condition.wait, written once for wait and waitAsync: true
   * only with a wake-up taken, with the lock held again. A waiter woken
   * whose wake-up another waiter took first sleeps again. */
  private *waitSteps(timeout: number): Steps<boolean> {
    const deadline = deadlineOf(timeout);
    const ticket = this._notes.enter();
    for (;;) {
      const saved = this.lock._releaseSave();
      let woken = false;
      let failure: unknown = null;
      try {
        woken = yield this._notes.sleepStep(ticket, deadline);
      } catch (err) {
        failure = err; // an abort: the lock is taken back first
      }
      try {
        yield this.restoreStep(saved);
      } catch (err) {
        if (!this._notes.take(ticket)) this._notes.leave();
        throw err;
      }
      if (this._notes.take(ticket)) return true;
      if (failure !== null || !woken) {
        this._notes.leave();
        if (failure !== null) throw failure;
        return false;
      }
    }
  }

  /** Taking the lock back at its saved depth, as a step of a wait (not
   * cancelled: a wait returns with the lock held, whatever ended it). */
  private restoreStep(saved: number): Wait {
    return {
      sync: () => {
        this.lock._acquireRestore(saved);
        return true;
      },
      async: async () => {
        await this.lock._acquireRestoreAsync(saved);
        return true;
      },
    };
  }

  /** Waits until predicate() is truthy; returns its last value. */
  waitFor<T>(predicate: () => T, timeout?: number | null): T {
    return runSync(waitForSteps(this, predicate, waitTimeout(timeout, 'Condition.waitFor')));
  }

  async waitForAsync<T>(
    predicate: () => T,
    timeout?: number | null,
    options?: WaitOptions,
  ): Promise<T> {
    const t = waitTimeout(timeout, 'Condition.waitForAsync');
    const signal = waitSignal(options, 'Condition.waitForAsync');
    return runAsync(waitForSteps(this, predicate, t), signal);
  }

  /** Wakes up to n waiters (default 1); the lock must be held. */
  notify(n = 1): void {
    const count = checkN(n);
    this.owned('notify');
    if (count !== 0) this._notes.grant(count);
  }

  notifyAll(): void {
    this.owned('notify');
    this._notes.grant(-1);
  }

  /** Python's repr: the lock's, and how many wait un-notified. */
  toString(): string {
    return `<forkful.Condition(${String(this.lock)}, ${this._notes.waiting()})>`;
  }

  [kShare](): ShareState {
    return { kind: 'forkful.Condition', state: { lock: this.lock, block: this._block.state() } };
  }
}

/** How this module's kinds are revived (installed by lib/shareables.ts). */
export const conditionRevivers: Revivers = {
  'forkful.Condition': (state) => {
    const { lock, block } = state as { lock: Lock | RLock; block: BlockState };
    return new Condition(lock, new Revive(block));
  },
};

/** Python's Condition.wait_for, once for every Condition (this module's and
 * the portable backend's): waits on `cond` until predicate() is truthy or
 * `timeout` (parsed seconds, FOREVER) runs out; returns its last value. */
export function* waitForSteps<T>(
  cond: {
    wait(timeout: number | null): boolean;
    waitAsync(timeout: number | null, options: WaitOptions): Promise<boolean>;
  },
  predicate: () => T,
  timeout: number,
): Steps<T> {
  const deadline = deadlineOf(timeout);
  let result = predicate();
  while (!result) {
    const left = remaining(deadline);
    if (left === 0) break;
    const t = left < 0 ? null : left;
    yield {
      sync: () => cond.wait(t),
      async: (signal) => cond.waitAsync(t, { signal }),
    };
    result = predicate();
  }
  return result;
}
