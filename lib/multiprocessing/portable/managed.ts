// multiprocessing's Lock, RLock, Semaphore, BoundedSemaphore and Event on
// the portable backend: objects kept by the hub (hub.ts), as Python's
// SyncManager keeps them, so they work across spawned processes without
// the addon. A blocking call waits in Atomics.wait while this thread's I/O
// thread talks to the hub; an async one awaits the hub's reply. A holder
// whose process (or thread) ends while holding a lock lets go of it: the
// hub sees its connection close, and the next acquirer is warned, as with
// the native locks.
import { ValueError } from '../../core/errors';
import { abortError, throwIfAborted } from '../../core/abort';
import type { BarrierOptions } from '../../synchronize/barrier';
import { Acquirable } from '../../synchronize/acquirable';
import {
  acquireSignal,
  acquireTimeout,
  waitSignal,
  waitTimeout,
  type AcquireOptions,
  type WaitOptions,
} from '../../synchronize/args';
import { waitForSteps } from '../../synchronize/condition';
import { runAsync, runSync } from '../../synchronize/steps';
import { FOREVER } from '../../core/timeout';
import { kShare, type Revivers, type ShareState } from '../../transfer/shareable';
import type { HubReply, ObjectKind } from './hub';
import { claimHubTicket, hubCall, hubCallSync, hubCallWithId, hubTicket, hubWait } from './io';

/** A wait in seconds (FOREVER: no limit) as the hub takes it: ms, -1 forever. */
export function hubMs(seconds: number): number {
  return seconds === FOREVER ? -1 : Math.round(seconds * 1000);
}

/** How a hub object travels: its id and a hold for the receiver to claim. */
interface HubHandle {
  obj: number;
  ticket: number;
}

// When an object is collected, this thread lets go of its hold.
const holds = new FinalizationRegistry<number>((obj) => {
  void hubCall({ op: 'unref', obj }, false).catch(() => {});
});

/** Makes a hub object (or claims a received one) held by `owner`. */
export function hubObject(
  owner: object,
  kind: ObjectKind,
  init: { maxsize?: number; value?: number; bound?: number; bytes?: Uint8Array },
  revive?: HubHandle,
): number {
  let obj: number;
  if (revive) {
    claimHubTicket(revive.ticket);
    obj = revive.obj;
  } else {
    obj = hubCallSync({ op: 'new', kind, ...init }).obj!;
  }
  holds.register(owner, obj);
  return obj;
}

export function hubHandle(obj: number): HubHandle {
  return { obj, ticket: hubTicket(obj) };
}

function recovered(r: HubReply, what: string): boolean {
  if (r.recovered) {
    process.emitWarning(
      `a ${what}'s owner died while holding it; this thread now holds it (the data it ` +
        `protected may be inconsistent)`,
      { code: 'FORKFUL_LOCK_OWNER_DIED' },
    );
  }
  return r.ok === true;
}

class HubLock extends Acquirable {
  /** @internal */ readonly _obj: number;
  readonly #kind: ObjectKind;

  constructor(kind: ObjectKind, init: { value?: number; bound?: number }, revive?: HubHandle) {
    super();
    this.#kind = kind;
    this._obj = hubObject(this, kind, init, revive);
  }

  /** Takes it: acquire(), acquire(false), acquire(true, 0.5),
   * acquire({ blocking, timeout }) (seconds). True when taken. */
  acquire(blocking?: boolean | AcquireOptions, timeout?: number | null): boolean {
    const t = acquireTimeout(blocking, timeout, `${this.#kind}.acquire`);
    return recovered(hubCallSync({ op: 'acquire', obj: this._obj, ms: hubMs(t) }), this.#kind);
  }

  /** acquire() that waits without blocking the event loop. */
  async acquireAsync(options?: AcquireOptions): Promise<boolean> {
    const what = `${this.#kind}.acquireAsync`;
    const t = acquireTimeout(options, undefined, what);
    const signal = acquireSignal(options, what);
    const r = await hubWait(
      { op: 'acquire', obj: this._obj, ms: hubMs(t) },
      signal,
      what,
      (late) => {
        // Taken just after the abort: given back.
        if (late.ok) void hubCall({ op: 'release', obj: this._obj }, false).catch(() => {});
      },
    );
    return recovered(r, this.#kind);
  }

  release(): void {
    hubCallSync({ op: 'release', obj: this._obj });
  }

  [kShare](): ShareState {
    return { kind: `forkful.hub.${this.#kind}`, state: hubHandle(this._obj) };
  }
}

/** multiprocessing.Lock without the addon: any thread or process may release it. */
export class PortableLock extends HubLock {
  constructor(revive?: HubHandle) {
    super('Lock', {}, revive);
  }

  /** True while some thread or process holds it. */
  locked(): boolean {
    return hubCallSync({ op: 'state', obj: this._obj }).ok === true;
  }

  toString(): string {
    return `<${this.locked() ? 'locked' : 'unlocked'} forkful.Lock (portable)>`;
  }
}

/** multiprocessing.RLock without the addon: owned by one thread of one process. */
export class PortableRLock extends HubLock {
  constructor(revive?: HubHandle) {
    super('RLock', {}, revive);
  }

  locked(): boolean {
    return hubCallSync({ op: 'state', obj: this._obj }).ok === true;
  }

  toString(): string {
    return `<forkful.RLock (portable) count=${hubCallSync({ op: 'state', obj: this._obj }).n}>`;
  }
}

function semValue(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ValueError(`${what}: the initial value must be an integer, got ${String(value)}`);
  }
  if (value < 0) throw new ValueError(`${what}: initial value must be >= 0, got ${value}`);
  return value;
}

/** multiprocessing.Semaphore without the addon. */
export class PortableSemaphore extends HubLock {
  constructor(value: number | HubHandle = 1, bounded = false) {
    const kind = bounded ? 'BoundedSemaphore' : 'Semaphore';
    if (typeof value === 'object') {
      super(kind, {}, value);
    } else {
      const v = semValue(value, kind);
      super(kind, { value: v, bound: bounded ? v : -1 });
    }
  }

  /** Gives back n units (default 1). */
  override release(n = 1): void {
    if (!Number.isInteger(n) || n < 1) {
      throw new ValueError(`Semaphore.release: n must be an integer >= 1, got ${n}`);
    }
    hubCallSync({ op: 'release', obj: this._obj, n });
  }

  getValue(): number {
    return hubCallSync({ op: 'state', obj: this._obj }).n!;
  }

  toString(): string {
    return `<forkful.Semaphore (portable) value=${this.getValue()}>`;
  }
}

/** multiprocessing.BoundedSemaphore without the addon. */
export class PortableBoundedSemaphore extends PortableSemaphore {
  constructor(value: number | HubHandle = 1) {
    super(value, true);
  }
}

/** multiprocessing.Event without the addon. */
export class PortableEvent {
  /** @internal */ readonly _obj: number;

  constructor(revive?: HubHandle) {
    this._obj = hubObject(this, 'Event', {}, revive);
  }

  isSet(): boolean {
    return hubCallSync({ op: 'state', obj: this._obj }).ok === true;
  }

  set(): void {
    hubCallSync({ op: 'set', obj: this._obj, flag: true });
  }

  clear(): void {
    hubCallSync({ op: 'set', obj: this._obj, flag: false });
  }

  /** Blocks until set or `timeout` seconds pass (null: forever); returns the flag. */
  wait(timeout?: number | null): boolean {
    const t = waitTimeout(timeout, 'Event.wait');
    return hubCallSync({ op: 'wait', obj: this._obj, ms: hubMs(t) }).ok === true;
  }

  async waitAsync(timeout?: number | null, options?: WaitOptions): Promise<boolean> {
    const t = waitTimeout(timeout, 'Event.waitAsync');
    const signal = waitSignal(options, 'Event.waitAsync');
    const r = await hubWait(
      { op: 'wait', obj: this._obj, ms: hubMs(t) },
      signal,
      'Event.waitAsync',
    );
    return r.ok === true;
  }

  [kShare](): ShareState {
    return { kind: 'forkful.hub.Event', state: hubHandle(this._obj) };
  }

  toString(): string {
    return `<forkful.Event (portable) ${this.isSet() ? 'set' : 'unset'}>`;
  }
}

interface BarrierHandle extends HubHandle {
  parties: number;
  timeout: number;
}

/** multiprocessing.Barrier without the addon (Python's algorithm, kept by
 * the hub). The action runs in the party that arrives last, from that
 * party's copy (a revived copy has none unless given one). */
export class PortableBarrier {
  /** @internal */ readonly _obj: number;
  readonly parties: number;
  readonly #timeout: number;
  action: (() => void) | null;

  constructor(
    parties: number | BarrierHandle,
    action?: (() => void) | BarrierOptions | null,
    timeout?: number | null,
  ) {
    if (typeof parties === 'object') {
      this.parties = parties.parties;
      this.#timeout = parties.timeout;
      this.action = null;
      this._obj = hubObject(this, 'Barrier', {}, parties);
      return;
    }
    const opts: BarrierOptions =
      typeof action === 'object' && action !== null ? action : { action, timeout };
    if (!Number.isInteger(parties) || parties < 1) {
      throw new ValueError(`Barrier: parties must be an integer >= 1, got ${parties}`);
    }
    if (opts.action !== undefined && opts.action !== null && typeof opts.action !== 'function') {
      throw new TypeError('Barrier: action must be a function');
    }
    this.parties = parties;
    this.#timeout = waitTimeout(opts.timeout, 'Barrier');
    this.action = opts.action ?? null;
    this._obj = hubObject(this, 'Barrier', { value: parties });
  }

  get nWaiting(): number {
    return hubCallSync({ op: 'state', obj: this._obj }).n!;
  }

  get broken(): boolean {
    return hubCallSync({ op: 'state', obj: this._obj }).ok === true;
  }

  #ms(timeout: number | null | undefined, what: string): number {
    return hubMs(
      timeout === undefined || timeout === null ? this.#timeout : waitTimeout(timeout, what),
    );
  }

  /** The last to arrive runs the action, then lets the others go. */
  #arrived(r: HubReply): number {
    if (r.ok) {
      try {
        this.action?.();
      } catch (err) {
        hubCallSync({ op: 'bdone', obj: this._obj, ok: false });
        throw err;
      }
      hubCallSync({ op: 'bdone', obj: this._obj, ok: true });
    }
    return r.n!;
  }

  /** Waits for every party; returns this party's arrival index. */
  wait(timeout?: number | null): number {
    const ms = this.#ms(timeout, 'Barrier.wait');
    return this.#arrived(hubCallSync({ op: 'bwait', obj: this._obj, ms }));
  }

  /** `{ signal }` cancels the wait (AbortError) and breaks the barrier, as
   * a timeout does. */
  async waitAsync(timeout?: number | null, options?: WaitOptions): Promise<number> {
    const ms = this.#ms(timeout, 'Barrier.waitAsync');
    const signal = waitSignal(options, 'Barrier.waitAsync');
    const r = await hubWait({ op: 'bwait', obj: this._obj, ms }, signal, 'Barrier.waitAsync');
    return this.#arrived(r);
  }

  /** Back to the empty state; current waiters get BrokenBarrierError. */
  reset(): void {
    hubCallSync({ op: 'bbreak', obj: this._obj, reset: true });
  }

  /** Breaks the barrier until reset(). */
  abort(): void {
    hubCallSync({ op: 'bbreak', obj: this._obj, reset: false });
  }

  [kShare](): ShareState {
    return {
      kind: 'forkful.hub.Barrier',
      state: { ...hubHandle(this._obj), parties: this.parties, timeout: this.#timeout },
    };
  }
}

interface ConditionHandle extends HubHandle {
  lock: PortableLock | PortableRLock;
}

/** multiprocessing.Condition without the addon: kept by the hub beside its
 * lock, which lets go of the lock and puts the waiter to sleep in one step
 * (so no notify falls between them), and gives the lock back to a woken
 * waiter at the level it had. Works across processes and threads alike. */
export class PortableCondition extends Acquirable {
  readonly lock: PortableLock | PortableRLock;
  /** @internal */ readonly _obj: number;

  constructor(lock?: PortableLock | PortableRLock | null, revive?: ConditionHandle) {
    super();
    if (revive) {
      this.lock = revive.lock;
      this._obj = hubObject(this, 'Condition', {}, revive);
      return;
    }
    if (
      lock !== undefined &&
      lock !== null &&
      !(lock instanceof PortableLock) &&
      !(lock instanceof PortableRLock)
    ) {
      throw new TypeError(
        "Condition(lock): lock must be a forkful/multiprocessing Lock or RLock (a threading lock's " +
          'Condition is threading.Condition)',
      );
    }
    this.lock = lock ?? new PortableRLock();
    this._obj = hubObject(this, 'Condition', {});
  }

  acquire(blocking?: boolean | AcquireOptions, timeout?: number | null): boolean {
    return this.lock.acquire(blocking, timeout);
  }

  acquireAsync(options?: AcquireOptions): Promise<boolean> {
    return this.lock.acquireAsync(options);
  }

  release(): void {
    this.lock.release();
  }

  /** Releases the lock, sleeps until notified or `timeout` seconds pass
   * (null: forever), takes the lock back. False on timeout. */
  wait(timeout?: number | null): boolean {
    const ms = hubMs(waitTimeout(timeout, 'Condition.wait'));
    const r = hubCallSync({ op: 'cwait', obj: this._obj, lock: this.lock._obj, ms });
    recovered(r, 'Condition');
    return r.ok === true;
  }

  /** wait() on the event loop. `{ signal }` cancels it: the lock is taken
   * back, then the call rejects with AbortError (as a timeout returns). */
  async waitAsync(timeout?: number | null, options?: WaitOptions): Promise<boolean> {
    const ms = hubMs(waitTimeout(timeout, 'Condition.waitAsync'));
    const signal = waitSignal(options, 'Condition.waitAsync');
    throwIfAborted(signal, 'Condition.waitAsync');
    const { id, reply } = hubCallWithId({ op: 'cwait', obj: this._obj, lock: this.lock._obj, ms });
    const cancel = () => void hubCall({ op: 'cwake', obj: this._obj, wait: id }).catch(() => {});
    signal?.addEventListener('abort', cancel, { once: true });
    let r: HubReply;
    try {
      r = await reply;
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
    recovered(r, 'Condition');
    if (signal?.aborted && r.ok !== true) throw abortError(signal, 'Condition.waitAsync');
    return r.ok === true;
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
    if (typeof n !== 'number' || Number.isNaN(n) || n < 0) {
      throw new ValueError(`Condition.notify: n must be a number >= 0, got ${n}`);
    }
    const count = n === Infinity ? -1 : Math.floor(n);
    hubCallSync({ op: 'cnotify', obj: this._obj, lock: this.lock._obj, n: count });
  }

  notifyAll(): void {
    hubCallSync({ op: 'cnotify', obj: this._obj, lock: this.lock._obj, n: -1 });
  }

  [kShare](): ShareState {
    return { kind: 'forkful.hub.Condition', state: { ...hubHandle(this._obj), lock: this.lock } };
  }

  toString(): string {
    return `<forkful.Condition (portable) ${String(this.lock)}>`;
  }
}

/** How this module's kinds are revived (installed by lib/shareables.ts). */
export const managedRevivers: Revivers = {
  'forkful.hub.Lock': (s) => new PortableLock(s as HubHandle),
  'forkful.hub.RLock': (s) => new PortableRLock(s as HubHandle),
  'forkful.hub.Semaphore': (s) => new PortableSemaphore(s as HubHandle),
  'forkful.hub.BoundedSemaphore': (s) => new PortableBoundedSemaphore(s as HubHandle),
  'forkful.hub.Event': (s) => new PortableEvent(s as HubHandle),
  'forkful.hub.Barrier': (s) => new PortableBarrier(s as BarrierHandle),
  'forkful.hub.Condition': (s) => new PortableCondition(null, s as ConditionHandle),
};
