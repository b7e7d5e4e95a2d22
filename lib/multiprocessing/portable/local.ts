// Promote on share: on the portable backend, multiprocessing's Lock, RLock
// and Value/Array start local to their process, in its portable arena (a
// SharedArrayBuffer its Threads share), so that the Threads of one process
// use them at memory speed, as Python users use multiprocessing.Lock in
// threads. The first time one is sent beyond the process's Threads (to a
// spawned child, a Connection or a Queue: see ShareScope), or a hub object
// needs it (a Condition's lock), it moves to the hub with its state (the
// lock's holder and level, the bytes), once for every thread of the
// process: a shared word says where it lives, and no copy acts locally
// after it moved.
//
// A local object's block (Int32 words): [HUB] 0 while local, PROMOTING
// while one thread moves it, then the hub object's id; [KEY] the secret
// with which the process's other threads attach to that hub object; [COPIES]
// how many live copies (any thread) hold the block; then the kind's words.
// The hub keeps a moved object pinned until the last copy is collected.
import { randomInt } from 'node:crypto';
import { Block, Kind, arenaNative, self, words, type BlockState } from '../../synchronize/arena';
import { hubCall, hubCallSync } from './io';

const HUB = 0;
const KEY = 1;
const COPIES = 2;
/** The first word a kind's own state uses. */
export const LOCAL_WORDS = 4;
const PROMOTING = -1;
/** How long a thread that finds the object moving sleeps between looks. */
const MOVING_SLICE_MS = 50;

/** The hub's name for thread `tid` of this process (the thread that held a
 * lock when it moved owns it in the hub once it attaches). */
export function localTag(tid: number = self.tid): string {
  return `${process.pid}/${tid}`;
}

interface Kept {
  block: Block;
  /** The hub object this copy holds (0: none). */
  hub: number;
  /** The Block's owner: kept alive by this record until the copy's own
   * finalization has run (so the block outlives what that does). */
  keeper: object;
}

const copies = new FinalizationRegistry<Kept>((kept) => {
  const w = words();
  const i = kept.block.base;
  if (kept.hub !== 0) void hubCall({ op: 'unref', obj: kept.hub }, false).catch(() => {});
  if (Atomics.sub(w, i + COPIES, 1) === 1) {
    const hub = Atomics.load(w, i + HUB);
    if (hub > 0) {
      const key = Atomics.load(w, i + KEY);
      void hubCall({ op: 'unpin', obj: hub, key }, false).catch(() => {});
    }
  }
  kept.block.release();
});

/** The travelling state of a local object. */
export type LocalState = BlockState;

/** One copy's view of a local object's block. */
export class LocalHome {
  readonly w: Int32Array;
  /** The index of the kind's first word. */
  readonly i: number;
  readonly #base: number;
  readonly #kept: Kept;

  constructor(what: string, kind: Kind, bytes: number, owner: object, revive?: LocalState) {
    arenaNative(what);
    const keeper = {};
    const block = revive
      ? Block.revive(what, kind, revive, keeper)
      : Block.alloc(what, kind, LOCAL_WORDS * 4 + bytes, keeper);
    this.w = words();
    this.#base = block.base;
    this.i = block.base + LOCAL_WORDS;
    if (!revive) Atomics.store(this.w, this.#base + KEY, randomInt(1, 0x7fffffff));
    Atomics.add(this.w, this.#base + COPIES, 1);
    this.#kept = { block, hub: 0, keeper };
    copies.register(owner, this.#kept);
  }

  /** True while the object lives here (not yet moved, nor moving). */
  isLocal(): boolean {
    return Atomics.load(this.w, this.#base + HUB) === 0;
  }

  /** The hub object's id once the object moved (this copy attached), else
   * 0. `count`: the level at which this thread held the lock when it moved. */
  hub(count?: number): number {
    const h = Atomics.load(this.w, this.#base + HUB);
    return h === 0 ? 0 : this.#attach(h, count);
  }

  #attach(h: number, count?: number): number {
    if (this.#kept.hub !== 0) return this.#kept.hub;
    while (h === PROMOTING) {
      Atomics.wait(this.w, this.#base + HUB, PROMOTING, MOVING_SLICE_MS);
      h = Atomics.load(this.w, this.#base + HUB);
    }
    if (h === 0) return 0; // the move failed: still local
    hubCallSync({ op: 'attach', obj: h, key: this.key, tag: localTag(), count });
    this.#kept.hub = h;
    return h;
  }

  get key(): number {
    return Atomics.load(this.w, this.#base + KEY);
  }

  /** Moves the object to the hub, once for every copy: `move` captures its
   * state and makes the hub object (with this key, from this thread);
   * returns the hub object's id. */
  promote(move: () => number): number {
    const w = this.w;
    const at = this.#base + HUB;
    for (;;) {
      const h = Atomics.load(w, at);
      if (h !== 0) {
        const id = this.#attach(h);
        if (id !== 0) return id;
        continue;
      }
      if (Atomics.compareExchange(w, at, 0, PROMOTING) === 0) break;
    }
    let id: number;
    try {
      id = move();
    } catch (err) {
      Atomics.store(w, at, 0);
      Atomics.notify(w, at);
      throw err;
    }
    this.#kept.hub = id; // made by this thread: this copy holds it
    Atomics.store(w, at, id);
    Atomics.notify(w, at);
    return id;
  }

  state(): LocalState {
    return this.#kept.block.state();
  }
}
