// The functions a pool's calls run, by id. Fork workers get the registry as
// it is when they are forked (they know ids up to knownMax()); spawn workers
// get each function's reference (module export or source) by message before
// its first task. Ids only grow; a function pruned while unused gets a new
// id when it comes back, so a worker never runs the wrong one.
import type { TargetRef } from '../../transfer/spawn-target';
import type { AnyFunction } from './worker-loop';
import { functionRef } from './worker-process';

// Functions kept for workers forked later; beyond this, unused ones go.
const SOFT_LIMIT = 1000;

/** The spawn initializer's reference is kept under this id. */
export const INITIALIZER_ID = 0;

export class FunctionRegistry {
  readonly #ids = new WeakMap<AnyFunction, number>();
  /** By id: what a fork worker copies. */
  readonly functions = new Map<number, AnyFunction>();
  /** Chunks queued or held per id: an id in use is never pruned. */
  readonly #use = new Map<number, number>();
  readonly #refs = new Map<number, TargetRef>();
  #next = 1;

  /** Spawn: functions must travel, so each gets its reference at once
   * (a NotSupportedError here, in the caller, rather than in a worker). */
  constructor(private readonly travels: boolean) {}

  /** The id of `fn`, registering it if new. */
  idOf(fn: AnyFunction): number {
    let id = this.#ids.get(fn);
    if (id !== undefined) return id;
    const ref = this.travels ? functionRef(fn) : null;
    if (this.functions.size >= SOFT_LIMIT) this.#prune();
    id = this.#next++;
    this.#ids.set(fn, id);
    this.functions.set(id, fn);
    if (ref) this.#refs.set(id, ref);
    return id;
  }

  /** Spawn: how a worker finds function `id`. */
  refOf(id: number): TargetRef | null {
    return this.#refs.get(id) ?? null;
  }

  /** Spawn: keeps the initializer's reference (checked now, used per worker). */
  setInitializer(fn: AnyFunction): void {
    this.#refs.set(INITIALIZER_ID, functionRef(fn));
  }

  /** The highest id so far: what a worker forked now knows. */
  knownMax(): number {
    return this.#next - 1;
  }

  /** `n` more chunks of function `id` are queued. */
  retain(id: number, n: number): void {
    this.#use.set(id, (this.#use.get(id) ?? 0) + n);
  }

  /** One chunk of function `id` is done (answered, failed or dropped). The
   * count stays at 0 rather than leaving the map: a delete then a set for
   * every apply() made V8 shrink and regrow the map's table each time. */
  release(id: number): void {
    const left = (this.#use.get(id) ?? 1) - 1;
    this.#use.set(id, left > 0 ? left : 0);
  }

  #prune(): void {
    for (const [id, fn] of this.functions) {
      if (this.#use.get(id)) continue;
      this.functions.delete(id);
      this.#use.delete(id);
      this.#refs.delete(id);
      this.#ids.delete(fn);
    }
  }
}
