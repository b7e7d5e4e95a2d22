// Event: a flag word and a sleeper count in the shared arena. set() stores
// the flag and wakes every sleeper (futex) only when there are some.
import { kShare, type Revivers, type ShareState } from '../transfer/shareable';
import { slicedWait, throwIfAborted } from '../core/abort';
import { deadlineOf, remaining, waitSignal, waitTimeout, type WaitOptions } from './args';
import { arenaNative, Block, nat, Kind, words, type BlockState } from './arena';
import { Revive } from './lock';
import { runAsync, runSync, type Steps } from './steps';

export class Event {
  /** @internal */ readonly _block: Block;
  /** @internal */ readonly _i: number;

  constructor(revive?: Revive) {
    arenaNative('Event');
    this._block =
      revive instanceof Revive
        ? Block.revive('Event', Kind.Event, revive.state, this)
        : Block.alloc('Event', Kind.Event, 8, this);
    this._i = this._block.base;
  }

  isSet(): boolean {
    return Atomics.load(words(), this._i) !== 0;
  }

  set(): void {
    const w = words();
    Atomics.store(w, this._i, 1);
    if (Atomics.load(w, this._i + 1) > 0) nat().syncFutexWake(this._i * 4, -1);
  }

  clear(): void {
    Atomics.store(words(), this._i, 0);
  }

  /** Blocks until the flag is set or `timeout` seconds pass (null:
   * forever); returns the flag. */
  wait(timeout?: number | null): boolean {
    const t = waitTimeout(timeout, 'Event.wait');
    return this.isSet() || runSync(this.#waitSteps(t));
  }

  /** wait() without blocking the event loop; `{ signal }` cancels it
   * (AbortError). */
  async waitAsync(timeout?: number | null, options?: WaitOptions): Promise<boolean> {
    const t = waitTimeout(timeout, 'Event.waitAsync');
    const signal = waitSignal(options, 'Event.waitAsync');
    throwIfAborted(signal, 'Event.waitAsync');
    return this.isSet() || runAsync(this.#waitSteps(t), signal);
  }

  /** The wait: counted as a sleeper, sleep on the flag word until it is set
   * or the time is up. */
  *#waitSteps(timeout: number): Steps<boolean> {
    const deadline = deadlineOf(timeout);
    const w = words();
    const offset = this._i * 4;
    Atomics.add(w, this._i + 1, 1);
    try {
      while (Atomics.load(w, this._i) === 0) {
        const left = remaining(deadline);
        if (left === 0) break;
        yield {
          sync: () => nat().syncFutexWait(offset, 0, left) !== 0,
          async: async (signal) =>
            (await slicedWait(
              signal,
              'Event.waitAsync',
              left,
              (t) => nat().syncFutexWaitAsync(offset, 0, t),
              () => {},
            )) !== 0,
        };
      }
    } finally {
      Atomics.sub(w, this._i + 1, 1);
    }
    return Atomics.load(w, this._i) !== 0;
  }

  [kShare](): ShareState {
    return { kind: 'forkful.Event', state: this._block.state() };
  }

  toString(): string {
    return `<forkful.Event ${this.isSet() ? 'set' : 'unset'}>`;
  }
}

/** How this module's kinds are revived (installed by lib/shareables.ts). */
export const eventRevivers: Revivers = {
  'forkful.Event': (state) => new Event(new Revive(state as BlockState)),
};
