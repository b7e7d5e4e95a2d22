// Event: a state word and a sleeper count in the shared arena. The state
// word's bit 0 is the flag and its other bits count the set() calls that
// raised it: set() bumps the count with the flag and wakes every sleeper
// (futex) only when there are some; clear() drops the flag only. A waiter
// woken by a set() returns true even if clear() came first (Python's
// Event.wait, which a notify ends), since the count moved.
import { flushQueuedFrames } from '../core/queued-frames';
import { blockingWait } from '../core/pending-writes';
import { kShare, type Revivers, type ShareState } from '../transfer/shareable';
import { slicedWait, throwIfAborted } from '../core/abort';
import { deadlineOf, remaining, waitSignal, waitTimeout, type WaitOptions } from './args';
import { arenaNative, Block, nat, Kind, words, type BlockState } from './arena';
import { Revive } from './lock';
import { runAsync, runSync, type Steps } from './steps';

/** Bit 0 of the state word: the flag. */
const FLAG = 1;

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
    return (Atomics.load(words(), this._i) & FLAG) !== 0;
  }

  set(): void {
    flushQueuedFrames();
    const w = words();
    let state = Atomics.load(w, this._i);
    for (;;) {
      if (state & FLAG) return;
      const seen = Atomics.compareExchange(w, this._i, state, (state + 2) | FLAG);
      if (seen === state) break;
      state = seen;
    }
    if (Atomics.load(w, this._i + 1) > 0) nat().syncFutexWake(this._i * 4, -1);
  }

  clear(): void {
    Atomics.and(words(), this._i, ~FLAG);
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

  /** The wait: counted as a sleeper, sleep on the state word until a set()
   * changes it or the time is up. */
  *#waitSteps(timeout: number): Steps<boolean> {
    const deadline = deadlineOf(timeout);
    const w = words();
    const offset = this._i * 4;
    Atomics.add(w, this._i + 1, 1);
    try {
      const state = Atomics.load(w, this._i);
      if (state & FLAG) return true;
      // The flag is down: any change of the word is a set() (clear() leaves
      // a word whose flag is down as it is).
      while (Atomics.load(w, this._i) === state) {
        const left = remaining(deadline);
        if (left === 0) return false;
        yield {
          sync: () => blockingWait(left, (t) => nat().syncFutexWait(offset, state, t)) !== 0,
          async: async (signal) =>
            (await slicedWait(
              signal,
              'Event.waitAsync',
              left,
              (t) => nat().syncFutexWaitAsync(offset, state, t),
              () => {},
            )) !== 0,
        };
      }
      return true;
    } finally {
      Atomics.sub(w, this._i + 1, 1);
    }
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
