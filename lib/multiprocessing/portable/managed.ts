// multiprocessing's Lock, RLock, Semaphore, BoundedSemaphore, Event,
// Barrier and Condition on the portable backend. Lock, RLock, the
// semaphores and Event start local to their process (words of its portable
// arena, shared by its Threads, Atomics.wait to sleep) and move to the hub
// with their state when first shared beyond those Threads (local.ts);
// Barrier and Condition are kept by the hub (hub.ts) from the start. In the
// hub, as Python's SyncManager keeps them, they work across spawned
// processes without the addon. A blocking hub call waits in Atomics.wait
// while this thread's I/O thread talks to the hub; an async one awaits the
// hub's reply. A holder whose process (or thread) ends while holding a
// lock lets go of it: the hub sees its connection close (the portable
// arena's table of ended threads, while local), and the next acquirer is
// warned, as with the native locks.
import { isMainThread } from 'node:worker_threads';
import { RuntimeError, ValueError } from '../../core/errors';
import { checkBeforeIsolateReuse } from '../../runtime/thread-reuse';
import { abortError, slicedWait, throwIfAborted } from '../../core/abort';
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
import { checkN, waitForSteps } from '../../synchronize/condition';
import { runAsync, runSync, type Steps } from '../../synchronize/steps';
import { deadline, FOREVER, remaining } from '../../core/timeout';
import { kShare, type Revivers, type ShareScope, type ShareState } from '../../transfer/shareable';
import { Kind, self } from '../../synchronize/arena';
import {
  MOVED,
  portableArena,
  SEM_MOVED,
  sleepOn,
  WAITERS,
} from '../../synchronize/portable/arena';
import { LocalHome, localTag, type LocalState } from './local';
import { leasedAcquire, leasedLevel, leasedRelease, leaseOf } from './leases';
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

/** A lock's or semaphore's acquire at the hub, for what is left of its wait. */
function acquireAtHub(obj: number, until: number, kind: string): boolean {
  return recovered(hubCallSync({ op: 'acquire', obj, ms: hubMs(remaining(until)) }), kind);
}

/** acquireAtHub awaited; `signal` cancels it (a unit taken just after the
 * abort is given back). */
async function acquireAtHubAsync(
  obj: number,
  until: number,
  kind: string,
  signal: AbortSignal | null,
  what: string,
): Promise<boolean> {
  const r = await hubWait(
    { op: 'acquire', obj, ms: hubMs(remaining(until)) },
    signal,
    what,
    (late) => {
      if (late.ok) void hubCall({ op: 'release', obj }, false).catch(() => {});
    },
  );
  return recovered(r, kind);
}

/** Marks a constructor call that revives a local object in a Thread. */
export class LocalRevive {
  constructor(readonly state: LocalState) {}
}

/** A lock word's owner bits (below MOVED and WAITERS). */
const OWNER_MASK = MOVED - 1;

/** Lock and RLock: local to the process (a lock word in the portable arena,
 * shared by its Threads) until shared beyond it, then kept by the hub
 * (local.ts). The word holds the owner's tid (+ the sleepers bit); moving
 * sets its MOVED bit, after which every copy goes to the hub. An RLock's
 * level is the word after, written only by its owner. */
// A Thread isolate's local Locks and RLocks: a Thread that ends holding
// one ends its isolate too, so the next acquirer takes it over.
const localLocksHere = new Set<WeakRef<MovableLock>>();
checkBeforeIsolateReuse(() => {
  for (const ref of localLocksHere) {
    const lock = ref.deref();
    if (lock === undefined) localLocksHere.delete(ref);
    else if (lock._heldHereLocally()) return 'it holds a Lock or RLock';
  }
  return null;
});

class MovableLock extends Acquirable {
  readonly #kind: 'Lock' | 'RLock';
  readonly #home: LocalHome | null;
  readonly #hubOnly: number;

  constructor(kind: 'Lock' | 'RLock', revive?: HubHandle | LocalRevive) {
    super();
    this.#kind = kind;
    if (revive !== undefined && !(revive instanceof LocalRevive)) {
      this.#home = null;
      this.#hubOnly = hubObject(this, kind, {}, revive);
      return;
    }
    const k = kind === 'Lock' ? Kind.Lock : Kind.RLock;
    this.#home = new LocalHome(kind, k, 8, this, revive?.state);
    this.#hubOnly = 0;
    if (!isMainThread) localLocksHere.add(new WeakRef(this));
  }

  /** @internal Whether this thread holds it while it is local (a moved
   * lock's holder is known to the hub: see io.ts). */
  _heldHereLocally(): boolean {
    const home = this.#home;
    if (home === null) return false;
    const v = Atomics.load(home.w, home.i);
    return (v & MOVED) === 0 && (v & OWNER_MASK) === self.tid;
  }

  /** @internal The hub object's id, moving the lock there first (a
   * Condition keeps its lock in the hub). */
  get _obj(): number {
    return this.#home ? this.#home.promote(() => this.#move(this.#home!)) : this.#hubOnly;
  }

  #move(home: LocalHome): number {
    const { w, i } = home;
    let v = Atomics.load(w, i);
    for (;;) {
      const seen = Atomics.compareExchange(w, i, v, v | MOVED);
      if (seen === v) break;
      v = seen;
    }
    Atomics.notify(w, i); // its sleepers look again: it has moved
    const holder = v & OWNER_MASK;
    const tag = localTag();
    // A holder that had ended lets go (the next acquirer is warned), as a
    // local acquirer would have taken it over.
    const held =
      holder === 0
        ? {}
        : portableArena().threadEnded(holder)
          ? { recovered: true }
          : {
              heldBy: localTag(holder),
              count: this.#kind === 'RLock' && holder === self.tid ? w[i + 1] : 1,
            };
    try {
      return hubCallSync({ op: 'new', kind: this.#kind, key: home.key, tag, ...held }).obj!;
    } catch (err) {
      Atomics.store(w, i, v);
      Atomics.notify(w, i);
      throw err;
    }
  }

  /** The hub object's id for this copy (attached), or 0 while local. */
  #hub(): number {
    const home = this.#home;
    if (!home) return this.#hubOnly;
    const v = Atomics.load(home.w, home.i);
    const mine = (v & OWNER_MASK) === self.tid;
    return home.hub(mine && this.#kind === 'RLock' ? home.w[home.i + 1] : undefined);
  }

  /** One local try: true taken, false not (`t` 0), null moved (then the hub). */
  #tryLocal(home: LocalHome): boolean | null {
    const { w, i } = home;
    const tid = self.tid;
    if (Atomics.compareExchange(w, i, 0, tid) === 0) {
      if (this.#kind === 'RLock') w[i + 1] = 1;
      return true;
    }
    const v = Atomics.load(w, i);
    if ((v & MOVED) !== 0) return null;
    if (this.#kind === 'RLock' && (v & OWNER_MASK) === tid) {
      w[i + 1]++;
      return true;
    }
    return false;
  }

  #taken(home: LocalHome, r: number): boolean {
    if (r === 0) return false;
    if (r === 2) recovered({ id: 0, ok: true, recovered: true }, this.#kind);
    if (this.#kind === 'RLock') home.w[home.i + 1] = 1;
    return true;
  }

  /** Takes it: acquire(), acquire(false), acquire(true, 0.5),
   * acquire({ blocking, timeout }) (seconds). True when taken. */
  acquire(blocking?: boolean | AcquireOptions, timeout?: number | null): boolean {
    const t =
      blocking === undefined && timeout === undefined
        ? FOREVER
        : acquireTimeout(blocking, timeout, `${this.#kind}.acquire`);
    const home = this.#home;
    const until = deadline(t);
    while (home !== null && home.isLocal()) {
      const now = this.#tryLocal(home);
      if (now === null) break;
      if (now || t === 0) return now;
      const r = portableArena().movableLockAcquire(home.i * 4, remaining(until), self.tid);
      if (r !== 3) return this.#taken(home, r);
    }
    const obj = this.#hub();
    if (obj === 0) return this.acquire(blocking, timeout); // the move failed: local again
    const leased = leasedAcquire(leaseOf(obj), this.#kind === 'RLock');
    if (leased === true || (leased === false && t === 0)) return leased;
    return acquireAtHub(obj, until, this.#kind);
  }

  /** acquire() that waits without blocking the event loop. */
  async acquireAsync(options?: AcquireOptions): Promise<boolean> {
    const what = `${this.#kind}.acquireAsync`;
    const t = acquireTimeout(options, undefined, what);
    const signal = acquireSignal(options, what);
    throwIfAborted(signal, what);
    const home = this.#home;
    const until = deadline(t);
    while (home !== null && home.isLocal()) {
      const now = this.#tryLocal(home);
      if (now === null) break;
      if (now || t === 0) return now;
      const r = await slicedWait(
        signal,
        what,
        remaining(until),
        (s) => portableArena().movableLockAcquireAsync(home.i * 4, s, self.tid),
        (late) => {
          if (late !== 3 && this.#taken(home, late)) this.release();
        },
      );
      if (r !== 3) return this.#taken(home, r);
    }
    const obj = this.#hub();
    const leased = leasedAcquire(leaseOf(obj), this.#kind === 'RLock');
    if (leased === true || (leased === false && t === 0)) return leased;
    return acquireAtHubAsync(obj, until, this.#kind, signal, what);
  }

  release(): void {
    const home = this.#home;
    if (home !== null) {
      const { w, i } = home;
      const tid = self.tid;
      for (;;) {
        const v = Atomics.load(w, i);
        if ((v & MOVED) !== 0) break;
        if (this.#kind === 'RLock') {
          if ((v & OWNER_MASK) !== tid) {
            throw new RuntimeError(
              'cannot release un-acquired lock (an RLock is released by the thread and process ' +
                'that acquired it)',
            );
          }
          if (w[i + 1] > 1) {
            w[i + 1]--;
            return;
          }
        } else if (v === 0) {
          throw new RuntimeError('release unlocked lock');
        }
        if (Atomics.compareExchange(w, i, v, 0) === v) {
          if (this.#kind === 'RLock') w[i + 1] = 0;
          if ((v & WAITERS) !== 0) Atomics.notify(w, i, 1);
          return;
        }
      }
    }
    const obj = this.#hub();
    const leased = leasedRelease(leaseOf(obj));
    if (leased === true) return;
    if (leased === false) {
      throw new RuntimeError(
        this.#kind === 'Lock'
          ? 'release unlocked lock'
          : 'cannot release un-acquired lock (an RLock is released by the thread and process ' +
              'that acquired it)',
      );
    }
    hubCallSync({ op: 'release', obj });
  }

  /** True while some thread or process holds it. */
  locked(): boolean {
    const home = this.#home;
    if (home !== null && home.isLocal()) {
      const v = Atomics.load(home.w, home.i);
      if ((v & MOVED) === 0) return v !== 0;
    }
    const obj = this.#hub();
    const level = leasedLevel(leaseOf(obj));
    if (level !== null) return level > 0;
    return hubCallSync({ op: 'state', obj }).ok === true;
  }

  /** The RLock's level held by this thread (0 when not held by it). */
  protected _level(): number {
    const home = this.#home;
    if (home !== null && home.isLocal()) {
      const v = Atomics.load(home.w, home.i);
      if ((v & MOVED) === 0) return (v & OWNER_MASK) === self.tid ? home.w[home.i + 1] : 0;
    }
    const obj = this.#hub();
    const level = leasedLevel(leaseOf(obj));
    if (level !== null) return level;
    return hubCallSync({ op: 'state', obj }).n!;
  }

  [kShare](scope?: ShareScope): ShareState {
    if (scope === 'thread' && this.#home !== null) {
      return { kind: `forkful.local.${this.#kind}`, state: this.#home.state() };
    }
    return { kind: `forkful.hub.${this.#kind}`, state: hubHandle(this._obj) };
  }
}

/** multiprocessing.Lock without the addon: any thread or process may release it. */
export class PortableLock extends MovableLock {
  constructor(revive?: HubHandle | LocalRevive) {
    super('Lock', revive);
  }

  toString(): string {
    return `<${this.locked() ? 'locked' : 'unlocked'} forkful.Lock (portable)>`;
  }
}

/** multiprocessing.RLock without the addon: owned by one thread of one process. */
export class PortableRLock extends MovableLock {
  constructor(revive?: HubHandle | LocalRevive) {
    super('RLock', revive);
  }

  toString(): string {
    return `<forkful.RLock (portable) count=${this._level()}>`;
  }
}

function semValue(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ValueError(`${what}: the initial value must be an integer, got ${String(value)}`);
  }
  if (value < 0) throw new ValueError(`${what}: initial value must be >= 0, got ${value}`);
  return value;
}

/** A moved-or-not word's value without its SEM_MOVED bit, or null once moved. */
function unmoved(w: Int32Array, i: number): number | null {
  const v = Atomics.load(w, i);
  return (v & SEM_MOVED) !== 0 ? null : v;
}

/** Sets SEM_MOVED on word `i` (its sleepers look again); the value it had. */
function markMoved(w: Int32Array, i: number): number {
  let v = Atomics.load(w, i);
  for (;;) {
    const seen = Atomics.compareExchange(w, i, v, v | SEM_MOVED);
    if (seen === v) break;
    v = seen;
  }
  Atomics.notify(w, i);
  return v;
}

/** Makes the hub object of a moving word, or puts the word back and
 * rethrows (the object stays local). */
function moveOrRestore(w: Int32Array, i: number, v: number, make: () => number): number {
  try {
    return make();
  } catch (err) {
    Atomics.store(w, i, v);
    Atomics.notify(w, i);
    throw err;
  }
}

/** multiprocessing.Semaphore without the addon: local to the process (its
 * value a word of the portable arena, [value, sleepers, bound]) until
 * shared beyond its Threads, then kept by the hub (local.ts). */
export class PortableSemaphore extends Acquirable {
  readonly #kind: 'Semaphore' | 'BoundedSemaphore';
  readonly #home: LocalHome | null;
  readonly #hubOnly: number;

  constructor(value: number | HubHandle | LocalRevive = 1, bounded = false) {
    super();
    const kind = bounded ? 'BoundedSemaphore' : 'Semaphore';
    this.#kind = kind;
    if (value instanceof LocalRevive) {
      this.#home = new LocalHome(kind, Kind.Semaphore, 12, this, value.state);
      this.#hubOnly = 0;
    } else if (typeof value === 'object') {
      this.#home = null;
      this.#hubOnly = hubObject(this, kind, {}, value);
    } else {
      const v = semValue(value, kind);
      if (v >= SEM_MOVED) {
        throw new ValueError(`${kind}: the initial value must be below ${SEM_MOVED}, got ${v}`);
      }
      this.#home = new LocalHome(kind, Kind.Semaphore, 12, this);
      this.#hubOnly = 0;
      const { w, i } = this.#home;
      Atomics.store(w, i, v);
      Atomics.store(w, i + 2, bounded ? v : -1);
    }
  }

  /** @internal The hub object's id, moving the semaphore there first. */
  get _obj(): number {
    const home = this.#home;
    if (!home) return this.#hubOnly;
    return home.promote(() => {
      const { w, i } = home;
      const v = markMoved(w, i);
      const bound = Atomics.load(w, i + 2);
      return moveOrRestore(
        w,
        i,
        v,
        () => hubCallSync({ op: 'new', kind: this.#kind, value: v, bound, key: home.key }).obj!,
      );
    });
  }

  #hub(): number {
    return this.#home ? this.#home.hub() : this.#hubOnly;
  }

  /** Takes a unit: acquire(), acquire(false), acquire(true, 0.5),
   * acquire({ blocking, timeout }) (seconds). True when taken. */
  acquire(blocking?: boolean | AcquireOptions, timeout?: number | null): boolean {
    const t = acquireTimeout(blocking, timeout, `${this.#kind}.acquire`);
    const until = deadline(t);
    const home = this.#home;
    if (home !== null && home.isLocal()) {
      const r = portableArena().movableSemAcquire(home.i * 4, t);
      if (r !== 3) return r === 1;
    }
    const obj = this.#hub();
    if (obj === 0) return this.acquire(blocking, timeout); // the move failed: local again
    return acquireAtHub(obj, until, this.#kind);
  }

  /** acquire() that waits without blocking the event loop. */
  async acquireAsync(options?: AcquireOptions): Promise<boolean> {
    const what = `${this.#kind}.acquireAsync`;
    const t = acquireTimeout(options, undefined, what);
    const signal = acquireSignal(options, what);
    throwIfAborted(signal, what);
    const until = deadline(t);
    const home = this.#home;
    if (home !== null && home.isLocal()) {
      const r = await slicedWait(
        signal,
        what,
        t,
        (s) => portableArena().movableSemAcquireAsync(home.i * 4, s),
        (late) => {
          if (late === 1) this.release();
        },
      );
      if (r !== 3) return r === 1;
    }
    return acquireAtHubAsync(this.#hub(), until, this.#kind, signal, what);
  }

  /** Gives back n units (default 1). */
  release(n = 1): void {
    if (!Number.isInteger(n) || n < 1) {
      throw new ValueError(`Semaphore.release: n must be an integer >= 1, got ${n}`);
    }
    const home = this.#home;
    if (home !== null) {
      const { w, i } = home;
      for (let v = unmoved(w, i); v !== null; v = unmoved(w, i)) {
        const bound = Atomics.load(w, i + 2);
        if (bound >= 0 && v + n > bound) {
          throw new ValueError('Semaphore released too many times');
        }
        if (v + n >= SEM_MOVED) {
          throw new ValueError(`Semaphore.release: the value would pass ${SEM_MOVED - 1}`);
        }
        if (Atomics.compareExchange(w, i, v, v + n) === v) {
          if (Atomics.load(w, i + 1) > 0) Atomics.notify(w, i, n);
          return;
        }
      }
    }
    hubCallSync({ op: 'release', obj: this.#hub(), n });
  }

  getValue(): number {
    const home = this.#home;
    const v = home !== null ? unmoved(home.w, home.i) : null;
    return v ?? hubCallSync({ op: 'state', obj: this.#hub() }).n!;
  }

  [kShare](scope?: ShareScope): ShareState {
    if (scope === 'thread' && this.#home !== null) {
      return { kind: `forkful.local.${this.#kind}`, state: this.#home.state() };
    }
    return { kind: `forkful.hub.${this.#kind}`, state: hubHandle(this._obj) };
  }

  toString(): string {
    return `<forkful.Semaphore (portable) value=${this.getValue()}>`;
  }
}

/** multiprocessing.BoundedSemaphore without the addon. */
export class PortableBoundedSemaphore extends PortableSemaphore {
  constructor(value: number | HubHandle | LocalRevive = 1) {
    super(value, true);
  }
}

/** An Event's wait on its local word: 1 set, 0 timed out, 3 moved. */
function* eventSteps(w: Int32Array, i: number, timeout: number): Steps<number> {
  const until = deadline(timeout);
  for (;;) {
    const v = Atomics.load(w, i);
    if ((v & SEM_MOVED) !== 0) return 3;
    if (v === 1) return 1;
    const left = remaining(until);
    if (left === 0) return 0;
    yield sleepOn(w, i, v, left);
  }
}

/** multiprocessing.Event without the addon: local to the process (a flag
 * word of the portable arena) until shared beyond its Threads, then kept
 * by the hub (local.ts). */
export class PortableEvent {
  readonly #home: LocalHome | null;
  readonly #hubOnly: number;

  constructor(revive?: HubHandle | LocalRevive) {
    if (revive !== undefined && !(revive instanceof LocalRevive)) {
      this.#home = null;
      this.#hubOnly = hubObject(this, 'Event', {}, revive);
      return;
    }
    this.#home = new LocalHome('Event', Kind.Event, 4, this, revive?.state);
    this.#hubOnly = 0;
  }

  /** @internal The hub object's id, moving the event there first. */
  get _obj(): number {
    const home = this.#home;
    if (!home) return this.#hubOnly;
    return home.promote(() => {
      const { w, i } = home;
      const v = markMoved(w, i);
      return moveOrRestore(
        w,
        i,
        v,
        () => hubCallSync({ op: 'new', kind: 'Event', flag: v === 1, key: home.key }).obj!,
      );
    });
  }

  #hub(): number {
    return this.#home ? this.#home.hub() : this.#hubOnly;
  }

  isSet(): boolean {
    const home = this.#home;
    const v = home !== null ? unmoved(home.w, home.i) : null;
    if (v !== null) return v === 1;
    return hubCallSync({ op: 'state', obj: this.#hub() }).ok === true;
  }

  #set(flag: boolean): void {
    const home = this.#home;
    if (home !== null) {
      const { w, i } = home;
      for (let v = unmoved(w, i); v !== null; v = unmoved(w, i)) {
        if (Atomics.compareExchange(w, i, v, flag ? 1 : 0) === v) {
          if (flag) Atomics.notify(w, i);
          return;
        }
      }
    }
    hubCallSync({ op: 'set', obj: this.#hub(), flag });
  }

  set(): void {
    this.#set(true);
  }

  clear(): void {
    this.#set(false);
  }

  /** Blocks until set or `timeout` seconds pass (null: forever); returns the flag. */
  wait(timeout?: number | null): boolean {
    const t = waitTimeout(timeout, 'Event.wait');
    const until = deadline(t);
    const home = this.#home;
    if (home !== null && home.isLocal()) {
      const r = runSync(eventSteps(home.w, home.i, t));
      if (r !== 3) return r === 1;
    }
    const ms = hubMs(remaining(until));
    return hubCallSync({ op: 'wait', obj: this.#hub(), ms }).ok === true;
  }

  async waitAsync(timeout?: number | null, options?: WaitOptions): Promise<boolean> {
    const t = waitTimeout(timeout, 'Event.waitAsync');
    const signal = waitSignal(options, 'Event.waitAsync');
    throwIfAborted(signal, 'Event.waitAsync');
    const until = deadline(t);
    const home = this.#home;
    if (home !== null && home.isLocal()) {
      const r = await slicedWait(
        signal,
        'Event.waitAsync',
        t,
        (s) => runAsync(eventSteps(home.w, home.i, s)),
        () => {},
      );
      if (r !== 3) return r === 1;
    }
    const r = await hubWait(
      { op: 'wait', obj: this.#hub(), ms: hubMs(remaining(until)) },
      signal,
      'Event.waitAsync',
    );
    return r.ok === true;
  }

  [kShare](scope?: ShareScope): ShareState {
    if (scope === 'thread' && this.#home !== null) {
      return { kind: 'forkful.local.Event', state: this.#home.state() };
    }
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
    hubCallSync({ op: 'cnotify', obj: this._obj, lock: this.lock._obj, n: checkN(n) });
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
  'forkful.local.Lock': (s) => new PortableLock(new LocalRevive(s as LocalState)),
  'forkful.local.Semaphore': (s) => new PortableSemaphore(new LocalRevive(s as LocalState)),
  'forkful.local.BoundedSemaphore': (s) =>
    new PortableBoundedSemaphore(new LocalRevive(s as LocalState)),
  'forkful.local.Event': (s) => new PortableEvent(new LocalRevive(s as LocalState)),
  'forkful.local.RLock': (s) => new PortableRLock(new LocalRevive(s as LocalState)),
  'forkful.hub.Semaphore': (s) => new PortableSemaphore(s as HubHandle),
  'forkful.hub.BoundedSemaphore': (s) => new PortableBoundedSemaphore(s as HubHandle),
  'forkful.hub.Event': (s) => new PortableEvent(s as HubHandle),
  'forkful.hub.Barrier': (s) => new PortableBarrier(s as BarrierHandle),
  'forkful.hub.Condition': (s) => new PortableCondition(null, s as ConditionHandle),
};
