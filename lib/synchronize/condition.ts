// Condition: a wake-up sequence word and a sleeper count in the shared arena,
// beside a Lock or RLock. wait() reads the sequence while holding the lock,
// releases the lock, and sleeps on the sequence (a shared futex); notify()
// bumps the sequence and wakes n sleepers.
import { Acquirable } from './acquirable';
import { RuntimeError, ValueError } from '../core/errors';
import { flushQueuedFrames } from '../core/queued-frames';
import { kShare, type Revivers, type ShareState } from '../transfer/shareable';
import { slicedWait, throwIfAborted } from '../core/abort';
import { deadlineOf, remaining, waitSignal, waitTimeout, type WaitOptions } from './args';
import { arenaNative, Block, nat, Kind, words, type BlockState } from './arena';
import { Lock, RLock, Revive, type ConditionLock } from './lock';
import { runAsync, runSync, type Steps } from './steps';

/** The sequence/sleepers pair at word index `i`: shared by Condition and
 * Barrier. */
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
    const r = nat().syncFutexWait(this.i * 4, ticket, timeout);
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

function checkN(n: number): number {
  if (typeof n !== 'number' || Number.isNaN(n) || n < 0) {
    throw new ValueError(`Condition.notify: n must be a number >= 0, got ${n}`);
  }
  return n === Infinity ? -1 : Math.min(Math.floor(n), 0x7fffffff);
}

/** Python's Condition(lock?): the default lock is an RLock. */
export class Condition extends Acquirable {
  readonly lock: ConditionLock;
  /** @internal */ readonly _block: Block;
  /** @internal */ readonly _cw: CondWords;

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
        : Block.alloc('Condition', Kind.Condition, 8, this);
    this._cw = new CondWords(this._block.base);
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

  /** Releases the lock, sleeps until notified or `timeout` seconds pass
   * (null: forever), takes the lock back. False on timeout. */
  wait(timeout?: number | null): boolean {
    const t = waitTimeout(timeout, 'Condition.wait');
    this.owned('wait');
    const ticket = this._cw.enter();
    const saved = this.lock._releaseSave();
    try {
      return this._cw.sleep(ticket, t);
    } finally {
      this.lock._acquireRestore(saved);
    }
  }

  /** wait() on the event loop. `{ signal }` cancels it: the lock is taken
   * back, then the call rejects with AbortError (as a timeout returns). */
  async waitAsync(timeout?: number | null, options?: WaitOptions): Promise<boolean> {
    const t = waitTimeout(timeout, 'Condition.waitAsync');
    const signal = waitSignal(options, 'Condition.waitAsync');
    this.owned('wait');
    throwIfAborted(signal, 'Condition.waitAsync');
    const ticket = this._cw.enter();
    const saved = this.lock._releaseSave();
    try {
      return await this._cw.sleepAsync(ticket, t, signal);
    } finally {
      await this.lock._acquireRestoreAsync(saved);
    }
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
    if (count !== 0) this._cw.notify(count);
  }

  notifyAll(): void {
    this.owned('notify');
    this._cw.notify(-1);
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
