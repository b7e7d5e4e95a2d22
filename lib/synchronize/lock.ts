// Lock and RLock: one word in the shared arena holding 0 or the owner's tid
// (+ a "sleepers" bit). Uncontended acquire/release are a single Atomics
// operation in JS; contended ones sleep on a shared futex in native code,
// which also recovers the lock from an owner that died (see sync.cc).
import { RuntimeError } from '../core/errors';
import { flushQueuedFrames } from '../core/queued-frames';
import { blockingWait } from '../core/pending-writes';
import { Acquirable } from './acquirable';
import { kShare, type Revivers, type ShareState } from '../transfer/shareable';
import { slicedWait, throwIfAborted } from '../core/abort';
import { acquireSignal, acquireTimeout, type AcquireOptions } from './args';
import { isMainThread } from 'node:worker_threads';
import { checkBeforeIsolateReuse } from '../runtime/thread-reuse';
import { arenaNative, Block, nat, Kind, self, words, type BlockState } from './arena';

/** The "someone may sleep on this word" bit of a lock word. */
export const WAITERS = 1 << 30;
const TID_MASK = WAITERS - 1;

/** Marks a constructor call that revives a handle. */
export class Revive {
  constructor(readonly state: BlockState) {}
}

function reportRecovered(what: string): void {
  process.emitWarning(
    `a ${what}'s owner died while holding it; this thread now holds it (the data it ` +
      `protected may be inconsistent)`,
    { code: 'FORKFUL_LOCK_OWNER_DIED' },
  );
}

/** Blocking acquire of the lock word at index `i` (slow path). */
export function wordAcquireSlow(i: number, timeout: number, what: string): boolean {
  const r = blockingWait(timeout, (t) => nat().syncLockAcquire(i * 4, t, self.tid));
  if (r === 2) reportRecovered(what);
  return r !== 0;
}

/** Async acquire of the lock word at `i`; with a signal, cancellable (a
 * lock taken just after the abort is given back). */
export async function wordAcquireAsync(
  i: number,
  timeout: number,
  what: string,
  signal: AbortSignal | null = null,
): Promise<boolean> {
  throwIfAborted(signal, `${what}.acquireAsync`);
  const w = words();
  if (Atomics.compareExchange(w, i, 0, self.tid) === 0) return true;
  if (timeout === 0) return false;
  const r = await slicedWait(
    signal,
    `${what}.acquireAsync`,
    timeout,
    (t, ticket) => nat().syncLockAcquireAsync(i * 4, t, self.tid, ticket),
    () => wordRelease(i),
    (ticket) => nat().syncCancelWait(ticket),
  );
  if (r === 2) reportRecovered(what);
  return r !== 0;
}

export function wordAcquire(i: number, timeout: number, what: string): boolean {
  if (Atomics.compareExchange(words(), i, 0, self.tid) === 0) return true;
  if (timeout === 0) return false;
  return wordAcquireSlow(i, timeout, what);
}

/** Releases the lock word at `i`; false when it was not locked. */
export function wordRelease(i: number): boolean {
  flushQueuedFrames();
  const old = Atomics.exchange(words(), i, 0);
  if (old & WAITERS) nat().syncFutexWake(i * 4, 1);
  return old !== 0;
}

export function wordOwnedByMe(i: number): boolean {
  return (Atomics.load(words(), i) & TID_MASK) === self.tid;
}

// A Thread isolate's Locks and RLocks: a Thread that ends holding one ends
// its isolate too, so the lock's next acquirer takes it over (the holder's
// tid ends), and no later Thread there inherits it as its own.
const inThread = !isMainThread;
const locksHere = new Set<WeakRef<{ readonly _i: number }>>();
checkBeforeIsolateReuse(() => {
  for (const ref of locksHere) {
    const lock = ref.deref();
    if (lock === undefined) locksHere.delete(ref);
    else if (wordOwnedByMe(lock._i)) return 'it holds a Lock or RLock';
  }
  return null;
});

/** What Condition needs from its lock (Python's _is_owned, _release_save,
 * _acquire_restore). */
export interface ConditionLock {
  acquire(blocking?: boolean | AcquireOptions, timeout?: number | null): boolean;
  acquireAsync(options?: AcquireOptions): Promise<boolean>;
  release(): void;
  /** @internal */ _isOwned(): boolean;
  /** @internal */ _releaseSave(): number;
  /** @internal */ _acquireRestore(saved: number): void;
  /** @internal */ _acquireRestoreAsync(saved: number): Promise<void>;
}

/** A primitive lock (Python's threading.Lock / multiprocessing.Lock), shared
 * by every thread and process that receives it. Any thread may release it. */
export class Lock extends Acquirable implements ConditionLock {
  /** @internal */ readonly _block: Block;
  /** @internal */ readonly _w: Int32Array;
  /** @internal */ readonly _i: number;

  constructor(revive?: Revive) {
    super();
    arenaNative('Lock');
    this._block =
      revive instanceof Revive
        ? Block.revive('Lock', Kind.Lock, revive.state, this)
        : Block.alloc('Lock', Kind.Lock, 4, this);
    this._w = words();
    this._i = this._block.base;
    if (inThread) locksHere.add(new WeakRef(this));
  }

  /** Takes the lock: acquire(), acquire(false), acquire(true, 0.5),
   * acquire({ blocking, timeout }) (seconds). True when taken. */
  acquire(blocking?: boolean | AcquireOptions, timeout?: number | null): boolean {
    if (blocking === undefined && timeout === undefined) {
      if (Atomics.compareExchange(this._w, this._i, 0, self.tid) === 0) return true;
      return wordAcquireSlow(this._i, -1, 'Lock');
    }
    const t = acquireTimeout(blocking, timeout, 'Lock.acquire');
    if (Atomics.compareExchange(this._w, this._i, 0, self.tid) === 0) return true;
    if (t === 0) return false;
    return wordAcquireSlow(this._i, t, 'Lock');
  }

  /** acquire() that waits without blocking the event loop. */
  acquireAsync(options?: AcquireOptions): Promise<boolean> {
    const t = acquireTimeout(options, undefined, 'Lock.acquireAsync');
    return wordAcquireAsync(this._i, t, 'Lock', acquireSignal(options, 'Lock.acquireAsync'));
  }

  /**
   * Takes the lock now if it is free or its holder (a thread of any
   * process) has died; false while a live thread, this one included, holds
   * it. Never waits, so the event loop may call it: acquire(false) never
   * recovers a dead holder's lock (only a blocking wait checks the holder's
   * life), and acquireAsync() may take the lock in the background for a
   * thread that then blocks on it in a synchronous call.
   * @internal
   */
  _tryAcquireOrRecover(): boolean {
    if (Atomics.compareExchange(this._w, this._i, 0, self.tid) === 0) return true;
    const r = nat().syncLockTryAcquireOrRecover(this._i * 4, self.tid);
    if (r === 2) reportRecovered('Lock');
    return r !== 0;
  }

  /** Releases the lock; RuntimeError when it is not locked. */
  release(): void {
    flushQueuedFrames(); // what was sent under the lock is readable after it
    const old = Atomics.exchange(this._w, this._i, 0);
    if (old === self.tid) return;
    if (old === 0) throw new RuntimeError('release unlocked lock');
    if (old & WAITERS) nat().syncFutexWake(this._i * 4, 1);
  }

  /** True while some thread or process holds the lock. */
  locked(): boolean {
    return Atomics.load(this._w, this._i) !== 0;
  }

  /** The thread id of the holder (0: free).
   * @internal */
  _holder(): number {
    return Atomics.load(this._w, this._i) & TID_MASK;
  }

  /** @internal */ _isOwned(): boolean {
    return wordOwnedByMe(this._i);
  }
  /** @internal */ _releaseSave(): number {
    this.release();
    return 1;
  }
  /** @internal */ _acquireRestore(): void {
    this.acquire();
  }
  /** @internal */ async _acquireRestoreAsync(): Promise<void> {
    await this.acquireAsync();
  }

  [kShare](): ShareState {
    return { kind: 'forkful.Lock', state: this._block.state() };
  }

  toString(): string {
    return `<${this.locked() ? 'locked' : 'unlocked'} forkful.Lock>`;
  }
}

/** A re-entrant lock: owned by one thread of one process, which may take it
 * again; only the owner may release it. */
export class RLock extends Acquirable implements ConditionLock {
  /** @internal */ readonly _block: Block;
  /** @internal */ readonly _w: Int32Array;
  /** @internal */ readonly _i: number;

  constructor(revive?: Revive) {
    super();
    arenaNative('RLock');
    this._block =
      revive instanceof Revive
        ? Block.revive('RLock', Kind.RLock, revive.state, this)
        : Block.alloc('RLock', Kind.RLock, 8, this);
    this._w = words();
    this._i = this._block.base;
    if (inThread) locksHere.add(new WeakRef(this));
  }

  acquire(blocking?: boolean | AcquireOptions, timeout?: number | null): boolean {
    const w = this._w;
    const i = this._i;
    const tid = self.tid;
    const t =
      blocking === undefined && timeout === undefined
        ? -1
        : acquireTimeout(blocking, timeout, 'RLock.acquire');
    if (Atomics.compareExchange(w, i, 0, tid) === 0) {
      w[i + 1] = 1;
      return true;
    }
    if ((Atomics.load(w, i) & TID_MASK) === tid) {
      w[i + 1]++;
      return true;
    }
    if (t === 0 || !wordAcquireSlow(i, t, 'RLock')) return false;
    w[i + 1] = 1;
    return true;
  }

  async acquireAsync(options?: AcquireOptions): Promise<boolean> {
    const t = acquireTimeout(options, undefined, 'RLock.acquireAsync');
    const signal = acquireSignal(options, 'RLock.acquireAsync');
    if (wordOwnedByMe(this._i)) {
      this._w[this._i + 1]++;
      return true;
    }
    if (!(await wordAcquireAsync(this._i, t, 'RLock', signal))) return false;
    this._w[this._i + 1] = 1;
    return true;
  }

  /** True while some thread or process holds the lock (Python 3.14's RLock.locked). */
  locked(): boolean {
    return Atomics.load(this._w, this._i) !== 0;
  }

  /** Releases one level; RuntimeError unless this thread owns the lock. */
  release(): void {
    const w = this._w;
    const i = this._i;
    if ((Atomics.load(w, i) & TID_MASK) !== self.tid) {
      throw new RuntimeError(
        'cannot release un-acquired lock (an RLock is released by the thread and process ' +
          'that acquired it)',
      );
    }
    if (--w[i + 1] > 0) return;
    flushQueuedFrames();
    if (Atomics.exchange(w, i, 0) & WAITERS) nat().syncFutexWake(i * 4, 1);
  }

  /** @internal */ _isOwned(): boolean {
    return wordOwnedByMe(this._i);
  }
  /** How many times the calling thread holds this lock (0 when another
   * thread or nobody does): CPython's RLock._recursion_count(). */
  _recursionCount(): number {
    return wordOwnedByMe(this._i) ? this._w[this._i + 1] : 0;
  }
  /** @internal */ _releaseSave(): number {
    if (!wordOwnedByMe(this._i)) throw new RuntimeError('cannot release un-acquired lock');
    const count = this._w[this._i + 1];
    this._w[this._i + 1] = 0;
    wordRelease(this._i);
    return count;
  }
  /** @internal */ _acquireRestore(saved: number): void {
    wordAcquire(this._i, -1, 'RLock');
    this._w[this._i + 1] = saved;
  }
  /** @internal */ async _acquireRestoreAsync(saved: number): Promise<void> {
    await wordAcquireAsync(this._i, -1, 'RLock');
    this._w[this._i + 1] = saved;
  }

  [kShare](): ShareState {
    return { kind: 'forkful.RLock', state: this._block.state() };
  }

  toString(): string {
    const w = Atomics.load(this._w, this._i);
    const owner = w & TID_MASK;
    return `<${owner ? 'locked' : 'unlocked'} forkful.RLock owner=${owner} count=${owner ? this._w[this._i + 1] : 0}>`;
  }
}

/** How this module's kinds are revived (installed by lib/shareables.ts). */
export const lockRevivers: Revivers = {
  'forkful.Lock': (state) => new Lock(new Revive(state as BlockState)),
  'forkful.RLock': (state) => new RLock(new Revive(state as BlockState)),
};
