// Leases, the thread's side (lease-table.ts explains them): while this
// thread holds the lease on a hub Lock, RLock or Memory, its calls work on
// the lease words here, in memory; without it (or when the I/O thread has
// just handed it back) they go to the hub as before, and the hub may grant
// the lease with its reply. Leases are per thread, as hub connections are:
// two Threads of a process that share a moved lock pass its lease between
// them as two processes do.
import { hubCallSync, ioEnded, ioPost } from './io';
import { IN_ACCESS, MEMORY_AT, NO_LEASE, STATE } from './lease-table';

export interface LeaseWords {
  readonly w: Int32Array;
  /** A Memory's bytes while leased (null for a lock). */
  readonly memory: Uint8Array | null;
}

/** This thread's lease words, by hub object. */
const mine = new Map<number, LeaseWords>();

/** The lease words of hub object `obj` in this thread (a Memory of
 * `memoryBytes` bytes, else a lock), given to the I/O thread the first
 * time, before the thread's first request on it. */
export function leaseOf(obj: number, memoryBytes?: number): LeaseWords {
  let l = mine.get(obj);
  if (l) return l;
  const words = new SharedArrayBuffer(MEMORY_AT + (memoryBytes ?? 0));
  const w = new Int32Array(words, 0, 2);
  w[STATE] = NO_LEASE;
  l = { w, memory: memoryBytes === undefined ? null : new Uint8Array(words, MEMORY_AT) };
  ioPost({ op: 'lease', obj, words, memory: memoryBytes !== undefined });
  if (mine.size === 0) process.once('exit', handBackAll);
  mine.set(obj, l);
  return l;
}

/** The lease words' state, NO_LEASE once the I/O thread has ended: its
 * connection closed with it, so the hub took every lease of this thread
 * back (and the thread's calls to the hub raise RuntimeError). */
function state(l: LeaseWords): number {
  const s = Atomics.load(l.w, STATE);
  if (s === NO_LEASE || !ioEnded()) return s;
  Atomics.store(l.w, STATE, NO_LEASE);
  return NO_LEASE;
}

/** A leased lock's acquire without waiting: true taken, false held by
 * this thread already (a Lock: it would wait), null not leased here. */
export function leasedAcquire(l: LeaseWords, reentrant: boolean): boolean | null {
  if (state(l) === NO_LEASE) return null;
  for (;;) {
    const level = Atomics.load(l.w, STATE);
    if (level === NO_LEASE) return null;
    if (level > 0 && !reentrant) return false;
    if (Atomics.compareExchange(l.w, STATE, level, level + 1) === level) return true;
  }
}

/** A leased lock's release: true released a level, false it is not held
 * (the lease holds the whole state: nobody holds it), null not leased. */
export function leasedRelease(l: LeaseWords): boolean | null {
  if (state(l) === NO_LEASE) return null;
  for (;;) {
    const level = Atomics.load(l.w, STATE);
    if (level === NO_LEASE) return null;
    if (level === 0) return false;
    if (Atomics.compareExchange(l.w, STATE, level, level - 1) === level) return true;
  }
}

/** The level this thread holds a leased lock at, or null when not leased. */
export function leasedLevel(l: LeaseWords): number | null {
  const level = state(l);
  return level === NO_LEASE ? null : level;
}

export const NOT_LEASED = Symbol('not leased');

/** `fn` on a leased Memory's bytes, or NOT_LEASED (the I/O thread hands
 * the bytes back only between two accesses). */
export function leasedAccess<T>(
  l: LeaseWords,
  fn: (memory: Uint8Array) => T,
): T | typeof NOT_LEASED {
  if (state(l) === NO_LEASE) return NOT_LEASED;
  if (Atomics.compareExchange(l.w, STATE, 0, IN_ACCESS) !== 0) return NOT_LEASED;
  try {
    return fn(l.memory!);
  } finally {
    Atomics.store(l.w, STATE, 0);
    Atomics.notify(l.w, STATE); // an I/O thread waiting to hand it back
  }
}

/** At exit every lease goes back, so what was written under it stays: a
 * request naming the object makes the I/O thread hand it back first, and
 * its reply comes after the hub has taken it. */
function handBackAll(): void {
  for (const [obj, l] of mine) {
    if (Atomics.load(l.w, STATE) === NO_LEASE) continue;
    try {
      hubCallSync({ op: 'state', obj });
    } catch {
      // the hub is gone: nothing to hand back to
    }
  }
}
