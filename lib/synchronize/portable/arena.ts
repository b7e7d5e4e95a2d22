// The portable arena: what native/arena.cc and native/sync.cc give the
// shared primitives, written in JS over one growable SharedArrayBuffer per
// process. It serves wherever the addon is absent (Windows, macOS, no
// prebuild, FORKFUL_NO_NATIVE=1). Threads share it (a Thread's Worker gets
// the buffer in its workerData), so Lock, RLock, Semaphore, Condition,
// Event, Barrier and Value/Array keep their code and semantics and differ
// only in how a caller sleeps: Atomics.wait (blocking, the main thread
// included) and Atomics.waitAsync (async), driven by the one wait algorithm
// of ../steps.ts. Processes do not share it: across processes the portable
// backend goes through a manager process (../../multiprocessing/managers).
//
// Layout (Int32 words): a header, then blocks. Header: [0] magic, [1]
// allocator lock, [2] bump (byte offset), [3] live blocks, [4..31] the
// free-list heads by size class, then the table of ended threads (a thread
// writes its tid at [tid % DEAD_SLOTS] as it ends; a tid is never reused in
// a process, so a match proves the death, and a slot overwritten by a later
// death only loses a recovery, never fakes one). A block: 16 header bytes [kind, gen, refs,
// size class] and its payload (8-byte aligned); a free block's first payload
// word links the next free block of its class.
import {
  getEnvironmentData,
  isMainThread,
  setEnvironmentData,
  threadId,
} from 'node:worker_threads';
import { OverflowError, RuntimeError } from '../../core/errors';
import type { ArenaInfo, LockResult, SyncBinding } from '../../core/addon';
import { deadline as deadlineOf, FOREVER, remaining } from '../../core/timeout';
import { runAsync, runSync, type Steps, type Wait } from '../steps';

const MAGIC = 0x666b6670; // 'fkfp'
const LOCK = 1;
const BUMP = 2;
const LIVE = 3;
const HEADS = 4;
const DEAD = 32;
const DEAD_SLOTS = 1024;
const HEADER_BYTES = (DEAD + DEAD_SLOTS) * 4;
const MIN_CLASS = 5; // 32-byte blocks
const MAX_CLASS = 26; // 64 MiB blocks
const INITIAL_BYTES = 64 * 1024;
/** The most a process's portable arena grows to. */
export const PORTABLE_ARENA_MAX = 256 * 1024 * 1024;

/** The "someone may sleep on this word" bit of a lock word (as in sync.h). */
export const WAITERS = 1 << 30;
/** A lock word's "moved to the hub" bit (multiprocessing/portable/local.ts):
 * set once, the word is no lock any more; only movable acquires know it. */
export const MOVED = 1 << 29;
/** A semaphore's (or event's) "moved to the hub" bit: its value stays below. */
export const SEM_MOVED = 1 << 30;

// ES2024 pieces that Node 20+ has and this project's TypeScript lib lacks.
interface GrowableSharedArrayBuffer extends SharedArrayBuffer {
  grow(bytes: number): void;
}
const GrowableSAB = SharedArrayBuffer as unknown as new (
  bytes: number,
  options: { maxByteLength: number },
) => GrowableSharedArrayBuffer;
type WaitAsyncResult =
  | { async: false; value: 'not-equal' | 'timed-out' }
  | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (
  Atomics as unknown as {
    waitAsync: (w: Int32Array, i: number, v: number, ms: number) => WaitAsyncResult;
  }
).waitAsync;

/** What the shared primitives call: the arena and sync halves of the addon
 * (the sync half as the addon declares it, less its process-wide calls). */
export interface ArenaBackend extends Omit<SyncBinding, 'syncForkChild' | 'syncAsyncWaits'> {
  arenaInit(): ArenaInfo;
  arenaBuffer(): SharedArrayBuffer;
  arenaAlloc(kind: number, bytes: number): [number, number];
  arenaAdopt(offset: number, gen: number, kind: number): boolean;
  arenaRelease(offset: number): void;
  /** A weak cell on `owner`: arenaCollected() lists it once `owner` is gone. */
  arenaWatch(owner: object): number;
  arenaUnwatch(cell: number): void;
  /** After a full collection, the cells whose owners are gone. */
  arenaCollected(): number[];
  gettid(): number;
}

/** One sleep on word `i` while it holds `expected`, at most `seconds`
 * (FOREVER: no limit): true unless the time ran out. */
export function sleepOn(w: Int32Array, i: number, expected: number, seconds: number): Wait {
  const ms = seconds === FOREVER ? Infinity : seconds * 1000;
  return {
    sync: () => Atomics.wait(w, i, expected, ms) !== 'timed-out',
    async: async () => {
      const r = waitAsync(w, i, expected, ms);
      if (!r.async) return r.value !== 'timed-out';
      // A pending waitAsync does not keep Node's event loop alive: a ref'd
      // timer does, for as long as the wait lasts.
      const keep = setInterval(() => {}, 1 << 30);
      try {
        return (await r.value) !== 'timed-out';
      } finally {
        clearInterval(keep);
      }
    },
  };
}

/** How long a waiter sleeps before it checks that a lock's owner still
 * lives (as kOwnerCheckSeconds in sync.cc). */
const OWNER_CHECK_SECONDS = 0.05;

/** True when thread `tid` of this process has ended. */
function ended(w: Int32Array, tid: number): boolean {
  return Atomics.load(w, DEAD + (tid % DEAD_SLOTS)) === tid;
}

/** native/sync.cc's LockAcquire (Drepper's mutex2): 1 acquired, 2 taken
 * over from a thread that ended holding it, 0 timed out; with `movable`, 3
 * once the word has the MOVED bit. */
function* lockSteps(
  w: Int32Array,
  i: number,
  owner: number,
  timeout: number,
  movable = false,
): Steps<LockResult | 3> {
  const deadline = deadlineOf(timeout);
  for (;;) {
    let v = Atomics.load(w, i);
    if (movable && (v & MOVED) !== 0) return 3;
    if (v === 0) {
      if (Atomics.compareExchange(w, i, 0, owner | WAITERS) === 0) return 1;
      continue;
    }
    const holder = v & (WAITERS - 1);
    if (holder !== owner && ended(w, holder)) {
      if (Atomics.compareExchange(w, i, v, owner | WAITERS) === v) return 2;
      continue;
    }
    if ((v & WAITERS) === 0) {
      if (Atomics.compareExchange(w, i, v, v | WAITERS) !== v) continue;
      v |= WAITERS;
    }
    const left = remaining(deadline);
    const slice = left === FOREVER ? OWNER_CHECK_SECONDS : Math.min(left, OWNER_CHECK_SECONDS);
    if (left === 0 || (!(yield sleepOn(w, i, v, slice)) && slice === left)) {
      return Atomics.compareExchange(w, i, 0, owner | WAITERS) === 0 ? 1 : 0;
    }
  }
}

/** native/sync.cc's SemAcquire: value at i, sleepers at i + 1: 1 taken, 0
 * timed out; with `movable`, 3 once the value has the SEM_MOVED bit. */
function* semSteps(w: Int32Array, i: number, timeout: number, movable = false): Steps<number> {
  const deadline = deadlineOf(timeout);
  const take = (): number => {
    let v = Atomics.load(w, i);
    if (movable && (v & SEM_MOVED) !== 0) return 3;
    while (v > 0) {
      const seen = Atomics.compareExchange(w, i, v, v - 1);
      if (seen === v) return 1;
      if (movable && (seen & SEM_MOVED) !== 0) return 3;
      v = seen;
    }
    return 0;
  };
  for (;;) {
    const got = take();
    if (got !== 0) return got;
    const left = remaining(deadline);
    if (left === 0) return 0;
    Atomics.add(w, i + 1, 1);
    let woken: boolean;
    try {
      const v = Atomics.load(w, i);
      woken = v > 0 || (yield sleepOn(w, i, v, left));
    } finally {
      Atomics.sub(w, i + 1, 1);
    }
    if (!woken) return take();
  }
}

function classOf(bytes: number): number {
  let c = MIN_CLASS;
  while (1 << c < bytes) c++;
  return c;
}

class PortableArena implements ArenaBackend {
  readonly id: string;
  readonly sab: GrowableSharedArrayBuffer;
  readonly w: Int32Array;
  private cells = 0;

  constructor(sab?: SharedArrayBuffer, id?: string) {
    if (sab) {
      this.sab = sab as GrowableSharedArrayBuffer;
      this.id = id!;
    } else {
      this.sab = new GrowableSAB(INITIAL_BYTES, { maxByteLength: PORTABLE_ARENA_MAX });
      this.id = `portable-${process.pid}-${Date.now().toString(36)}`;
    }
    this.w = new Int32Array(this.sab);
    if (!sab) {
      this.w[0] = MAGIC;
      this.w[BUMP] = HEADER_BYTES;
    } else if (this.w[0] !== MAGIC) {
      throw new RuntimeError('the portable arena handed to this thread is not one');
    }
  }

  private lock(): void {
    const w = this.w;
    let c = Atomics.compareExchange(w, LOCK, 0, 1);
    if (c === 0) return;
    if (c !== 2) c = Atomics.exchange(w, LOCK, 2);
    while (c !== 0) {
      Atomics.wait(w, LOCK, 2);
      c = Atomics.exchange(w, LOCK, 2);
    }
  }

  private unlock(): void {
    if (Atomics.exchange(this.w, LOCK, 0) === 2) Atomics.notify(this.w, LOCK, 1);
  }

  arenaInit(): ArenaInfo {
    return {
      id: this.id,
      size: this.sab.byteLength,
      bump: Atomics.load(this.w, BUMP),
      live: Atomics.load(this.w, LIVE),
      path: '',
    };
  }

  arenaBuffer(): SharedArrayBuffer {
    return this.sab;
  }

  arenaAlloc(kind: number, bytes: number): [number, number] {
    const c = classOf(bytes + 16);
    if (c > MAX_CLASS) {
      throw new OverflowError(
        `a shared object of ${bytes} bytes is larger than the portable arena allows`,
      );
    }
    const w = this.w;
    this.lock();
    let offset: number;
    try {
      offset = Atomics.load(w, HEADS + c - MIN_CLASS);
      if (offset !== 0) {
        Atomics.store(w, HEADS + c - MIN_CLASS, Atomics.load(w, offset / 4 + 4));
      } else {
        offset = Atomics.load(w, BUMP);
        const end = offset + (1 << c);
        if (end > this.sab.byteLength) {
          if (end > PORTABLE_ARENA_MAX) {
            throw new OverflowError(
              `forkful's portable arena is full (${PORTABLE_ARENA_MAX} bytes of shared objects ` +
                'alive in this process)',
            );
          }
          this.sab.grow(Math.min(PORTABLE_ARENA_MAX, Math.max(end, this.sab.byteLength * 2)));
        }
        Atomics.store(w, BUMP, end);
      }
      const i = offset / 4;
      w.fill(0, i + 4, i + (1 << c) / 4);
      Atomics.store(w, i, kind);
      Atomics.store(w, i + 2, 1);
      Atomics.store(w, i + 3, c);
      Atomics.add(w, LIVE, 1);
      return [offset, Atomics.load(w, i + 1)];
    } finally {
      this.unlock();
    }
  }

  arenaAdopt(offset: number, gen: number, kind: number): boolean {
    const w = this.w;
    if (offset < HEADER_BYTES || offset % 8 !== 0 || offset >= Atomics.load(w, BUMP)) return false;
    const i = offset / 4;
    this.lock();
    try {
      const refs = Atomics.load(w, i + 2);
      if (refs <= 0 || Atomics.load(w, i + 1) !== gen || Atomics.load(w, i) !== kind) return false;
      Atomics.add(w, i + 2, 1);
      return true;
    } finally {
      this.unlock();
    }
  }

  // No weak cells without the addon (a WeakRef would keep alive every object
  // made in the current job): a full portable arena is not reclaimed early;
  // blocks come back a turn after their objects are collected, through the
  // FinalizationRegistry of synchronize/arena.ts.
  arenaWatch(_owner: object): number {
    return ++this.cells;
  }

  arenaUnwatch(_cell: number): void {}

  arenaCollected(): number[] {
    return [];
  }

  arenaRelease(offset: number): void {
    const w = this.w;
    const i = offset / 4;
    this.lock();
    try {
      if (Atomics.sub(w, i + 2, 1) !== 1) return;
      const c = Atomics.load(w, i + 3);
      Atomics.add(w, i + 1, 1);
      Atomics.store(w, i, 0);
      Atomics.store(w, i + 4, Atomics.load(w, HEADS + c - MIN_CLASS));
      Atomics.store(w, HEADS + c - MIN_CLASS, offset);
      Atomics.sub(w, LIVE, 1);
    } finally {
      this.unlock();
    }
  }

  gettid(): number {
    return threadId + 1;
  }

  /** True when thread `tid` of this process has ended. */
  threadEnded(tid: number): boolean {
    return ended(this.w, tid);
  }

  syncLockAcquire(offset: number, timeout: number, ownerTid: number): LockResult {
    return runSync(lockSteps(this.w, offset / 4, ownerTid, timeout)) as LockResult;
  }

  syncLockAcquireAsync(offset: number, timeout: number, ownerTid: number): Promise<LockResult> {
    return runAsync(lockSteps(this.w, offset / 4, ownerTid, timeout)) as Promise<LockResult>;
  }

  syncLockTryAcquireOrRecover(offset: number, ownerTid: number): LockResult {
    const w = this.w;
    const i = offset / 4;
    for (;;) {
      const v = Atomics.load(w, i);
      if (v === 0) {
        if (Atomics.compareExchange(w, i, 0, ownerTid) === 0) return 1;
        continue;
      }
      const holder = v & (WAITERS - 1);
      if (holder === ownerTid || !ended(w, holder)) return 0;
      if (Atomics.compareExchange(w, i, v, ownerTid | WAITERS) === v) return 2;
    }
  }

  /** syncLockAcquire of a lock word that may move to the hub: 3 once moved. */
  movableLockAcquire(offset: number, timeout: number, ownerTid: number): LockResult | 3 {
    return runSync(lockSteps(this.w, offset / 4, ownerTid, timeout, true));
  }

  movableLockAcquireAsync(
    offset: number,
    timeout: number,
    ownerTid: number,
  ): Promise<LockResult | 3> {
    return runAsync(lockSteps(this.w, offset / 4, ownerTid, timeout, true));
  }

  syncSemAcquire(offset: number, timeout: number): number {
    return runSync(semSteps(this.w, offset / 4, timeout));
  }

  syncSemAcquireAsync(offset: number, timeout: number): Promise<number> {
    return runAsync(semSteps(this.w, offset / 4, timeout));
  }

  /** syncSemAcquire of a semaphore that may move to the hub: 3 once moved. */
  movableSemAcquire(offset: number, timeout: number): number {
    return runSync(semSteps(this.w, offset / 4, timeout, true));
  }

  movableSemAcquireAsync(offset: number, timeout: number): Promise<number> {
    return runAsync(semSteps(this.w, offset / 4, timeout, true));
  }

  syncFutexWait(offset: number, expected: number, timeout: number): number {
    return sleepOn(this.w, offset / 4, expected, timeout).sync() ? 1 : 0;
  }

  async syncFutexWaitAsync(offset: number, expected: number, timeout: number): Promise<number> {
    return (await sleepOn(this.w, offset / 4, expected, timeout).async(null)) ? 1 : 0;
  }

  syncFutexWake(offset: number, count: number): void {
    Atomics.notify(this.w, offset / 4, count < 0 ? Infinity : count);
  }

  /** Nothing to cancel: these waits run on this thread's event loop, so
   * what one takes after an abort reaches its `late` (and is given back)
   * before any other code of this thread runs. */
  syncCancelWait(_ticket: number): boolean {
    return false;
  }
}

/** Where a Worker finds its process's arena: Node clones a thread's
 * environment data into every Worker it starts, and a cloned
 * SharedArrayBuffer is the same memory. */
const ENV_KEY = 'forkful.portableArena';

let arena: PortableArena | null = null;

/** This process's portable arena: the one inherited through the environment
 * data (a Worker), else a new one, published for the Workers to come. A
 * Worker that ends marks its tid in the table of ended threads, so a lock
 * it held is taken over (with a warning) by the next acquirer. */
export function portableArena(): PortableArena {
  if (arena !== null) return arena;
  const inherited = getEnvironmentData(ENV_KEY) as
    { sab: SharedArrayBuffer; id: string } | undefined;
  const a = inherited ? new PortableArena(inherited.sab, inherited.id) : new PortableArena();
  if (!inherited) setEnvironmentData(ENV_KEY, { sab: a.sab, id: a.id });
  if (!isMainThread) {
    const tid = a.gettid();
    // First of the exit listeners: the thread is ended for its locks before
    // a Thread's bootstrap reports it done (a join returns).
    process.prependOnceListener('exit', () => Atomics.store(a.w, DEAD + (tid % DEAD_SLOTS), tid));
  }
  return (arena = a);
}
