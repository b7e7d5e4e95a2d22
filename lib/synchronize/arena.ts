// Access to forkful's shared arena from JS: one SharedArrayBuffer view per
// thread, blocks that objects live on, and the rules that keep a block alive
// while any process or thread may still use it (see docs/synchronize.md).
import { RuntimeError } from '../core/errors';
import { afterFork, atExit, Order } from '../runtime/lifecycle';
import { native } from '../core/native';
import { isMainThread } from 'node:worker_threads';
import { portableArena, type ArenaBackend } from './portable/arena';

/** The environment variable through which spawned children find the arena. */
export const ARENA_ENV = 'FORKFUL_ARENA';

/** Kinds of block, checked when a handle is revived. */
export const enum Kind {
  Lock = 1,
  RLock = 2,
  Semaphore = 3,
  Condition = 4,
  Event = 5,
  Barrier = 6,
  Value = 7,
}

/** What crosses to another thread or process instead of the object. */
export interface BlockState {
  arena: string;
  offset: number;
  gen: number;
}

/** This thread's kernel tid, the owner mark written into lock words. */
export const self = { tid: 0 };

let addon: ArenaBackend | null = null;
let arenaId = '';
let i32: Int32Array | null = null;
let sab: SharedArrayBuffer | null = null;

/** True where the addon's arena (futexes in MAP_SHARED memory, Linux) is
 * absent: the primitives then live in the portable arena (one
 * SharedArrayBuffer per process, shared with its Threads). */
export const portable: boolean = !native || typeof native.arenaInit !== 'function';

function ensure(): ArenaBackend {
  if (i32 !== null) return addon!;
  const n: ArenaBackend = portable ? portableArena() : native!;
  const info = n.arenaInit();
  arenaId = info.id;
  sab = n.arenaBuffer();
  i32 = new Int32Array(sab);
  self.tid = n.gettid();
  addon = n;
  return n;
}

/** The arena's backend, set up on first use (the addon's where it loads,
 * the portable one elsewhere). `what` names the caller, for symmetry with
 * requireNative; every backend serves every primitive. */
export function arenaNative(_what: string): ArenaBackend {
  return addon ?? ensure();
}

/** The backend, once the arena is set up (every object's constructor ensured it). */
export function nat(): ArenaBackend {
  return addon!;
}

/** The Int32Array over the whole arena (index = byte offset / 4). */
export function words(): Int32Array {
  return i32!;
}

/** The SharedArrayBuffer over the whole arena, for typed views. */
export function arenaBuffer(): SharedArrayBuffer {
  return sab!;
}

// Every object holds its block through a record: when the object is
// collected, this thread drops its hold (the block is freed when no thread
// of any process holds it). The FinalizationRegistry does it a turn after
// a collection; reclaim() does it at once when the arena is full (a full
// collection, then every record whose object is gone, told by a native weak
// cell: a WeakRef would keep alive every object made in the current job).
// Either path drops a record's hold once.
interface Hold {
  offset: number;
  cell: number;
  released: boolean;
}
const byCell = new Map<number, Hold>();

function drop(hold: Hold): void {
  if (hold.released) return;
  hold.released = true;
  byCell.delete(hold.cell);
  addon?.arenaUnwatch(hold.cell);
  addon?.arenaRelease(hold.offset);
}

const holds = new FinalizationRegistry<Hold>(drop);

/** Drops now the holds of objects that a full garbage collection finds
 * gone; how many. */
export function reclaim(): number {
  if (addon === null) return 0;
  let n = 0;
  for (const cell of addon.arenaCollected()) {
    const hold = byCell.get(cell);
    if (!hold) continue;
    holds.unregister(hold);
    drop(hold);
    n++;
  }
  return n;
}

function isArenaFull(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith("forkful's shared arena is full");
}

/** The block header's reference count, as a word index from the block's
 * first word: native/arena.h's Block { refs, gen, ... }, the portable
 * arena's [kind, gen, refs, ...]. */
const REFS_WORD = portable ? 2 : 0;

/** A block held by one JS object. `base` is the payload's first word index. */
export class Block {
  readonly offset: number;
  readonly gen: number;
  readonly base: number;
  readonly #hold: Hold;

  private constructor(offset: number, gen: number, owner: object) {
    this.offset = offset;
    this.gen = gen;
    this.base = (offset + 16) / 4;
    this.#hold = { offset, cell: addon!.arenaWatch(owner), released: false };
    byCell.set(this.#hold.cell, this.#hold);
    holds.register(owner, this.#hold, this.#hold);
  }

  /** A new zeroed block of `bytes` payload bytes, held by `owner`. When
   * the arena is full, the blocks of collected objects are reclaimed first. */
  static alloc(what: string, kind: Kind, bytes: number, owner: object): Block {
    const n = arenaNative(what);
    let got: [number, number];
    try {
      got = n.arenaAlloc(kind, bytes);
    } catch (err) {
      if (!isArenaFull(err) || reclaim() === 0) throw err;
      got = n.arenaAlloc(kind, bytes);
    }
    return new Block(got[0], got[1], owner);
  }

  /** This object's hold, dropped now rather than when it is collected (its
   * owner must not touch the block afterwards). Idempotent. */
  release(): void {
    if (this.#hold.released) return;
    holds.unregister(this.#hold);
    drop(this.#hold);
  }

  /** True while this process is the only one holding the block (the
   * addon's arena counts processes, a forked child included once it took
   * its reference; the portable one counts objects). Other objects of this
   * process on the block (revived from a handle) are the caller's to know
   * about. */
  soleProcess(): boolean {
    if (this.#hold.released) return false;
    return Atomics.load(words(), this.offset / 4 + REFS_WORD) === 1;
  }

  /** The block a handle names, held by `owner`; a RuntimeError when it is
   * gone or lives in another process tree's arena. */
  static revive(what: string, kind: Kind, state: BlockState, owner: object): Block {
    const n = arenaNative(what);
    if (state.arena !== arenaId && portable) {
      throw new RuntimeError(
        `this ${what} lives in another process's memory (${state.arena}): without forkful's ` +
          `native addon, locks and shared values are shared by the Threads of one process ` +
          `only`,
      );
    }
    if (state.arena !== arenaId) {
      throw new RuntimeError(
        `this ${what} lives in another forkful arena (${state.arena}; this process uses ` +
          `${arenaId}): create shared objects in the parent before starting children, and ` +
          `start spawned children with arenaEnvironment() in their env`,
      );
    }
    if (!n.arenaAdopt(state.offset, state.gen, kind)) {
      throw new RuntimeError(
        `this ${what} was freed before it arrived: keep a reference to it in the sender ` +
          `until the receiver has it`,
      );
    }
    return new Block(state.offset, state.gen, owner);
  }

  state(): BlockState {
    return { arena: arenaId, offset: this.offset, gen: this.gen };
  }
}

/** The environment a launcher gives a spawned child so that it attaches to
 * this process's arena (creating the arena if needed). Empty where there is
 * no native arena. */
export function arenaEnvironment(): Record<string, string> {
  if (!native || typeof native.arenaInit !== 'function') return {};
  const info = ensure().arenaInit(); // idempotent: the arena's facts
  return { [ARENA_ENV]: `${info.path}#${info.id}` };
}

/** Facts about the arena, for tests and diagnostics (null before first use). */
export function arenaInfo(): {
  id: string;
  size: number;
  bump: number;
  live: number;
  path: string;
} | null {
  if (portable) return i32 === null ? null : addon!.arenaInit();
  return native!.arenaInfo();
}

// A process that attached to its parent's arena (a spawned child) or was
// forked gives its holds back at exit: the arena outlives it.
let releaseAtExit = false;
atExit("arena: give this process's holds back", Order.synchronize + 90, () => {
  if (releaseAtExit) native?.arenaReleaseAll();
});

// On the portable backend the main thread makes its arena at load, so that
// every Worker started later (a forkful Thread or any other) finds it in its
// environment data and shares it.
if (portable && isMainThread) ensure();

// A spawned child started with arenaEnvironment(): attach at load, and give
// the blocks back when this process ends (its parent's arena outlives it).
const wanted = process.env[ARENA_ENV];
// Read once and taken out of the environment: programs this child runs
// (child_process, exec) must not attach to this tree's arena by accident; a
// child that should is given arenaEnvironment() explicitly.
delete process.env[ARENA_ENV];
if (wanted && native && typeof native.arenaAttach === 'function') {
  const hash = wanted.lastIndexOf('#');
  const info = native.arenaInfo();
  if (info === null || info.id !== wanted.slice(hash + 1)) {
    try {
      native.arenaAttach(wanted.slice(0, hash), wanted.slice(hash + 1));
      ensure();
      releaseAtExit = true;
    } catch (err) {
      process.emitWarning(
        `could not attach to the parent's forkful arena (${ARENA_ENV}=${wanted}): ` +
          `${err instanceof Error ? err.message : String(err)}; shared objects received from ` +
          `the parent will not work in this process`,
        { code: 'FORKFUL_ARENA_ATTACH' },
      );
    }
  }
}

// Right after a fork: the arena's per-process state (this process's slot and
// ledger, the holds of threads that were not copied) is the parent's, even
// when this thread never used the arena itself (a Worker may have).
// prettier-ignore
afterFork("arena: this process's slot, ledger and holds", Order.synchronize, (function arenaAfterFork() {
  if (!native || typeof native.arenaForkChild !== 'function') return;
  if (addon !== null) self.tid = addon.gettid();
  native.syncForkChild();
  const lost: number[] = native.arenaForkChild();
  if (lost.length > 0) {
    process.emitWarning(
      `${lost.length} shared object(s) were freed by the parent right after fork(); ` +
        `their copies in this child must not be used`,
      { code: 'FORKFUL_ARENA_LOST' },
    );
  }
  releaseAtExit = true;
}));
