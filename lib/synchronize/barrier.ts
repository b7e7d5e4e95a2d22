// Barrier: Python's algorithm (threading.Barrier) on words of the shared
// arena: an internal lock word, a condition (sequence + sleepers), the
// state, the count of threads inside, the parties, and a default timeout.
// The action runs in the participant that arrives last, from that
// participant's copy of the Barrier (forks copy it; a Barrier revived in a
// Thread or spawned child has none unless given one: see docs).
import { checkOptions } from '../core/options';
import { BrokenBarrierError, ValueError } from '../core/errors';
import { kShare, type Revivers, type ShareState } from '../transfer/shareable';
import { throwIfAborted } from '../core/abort';
import { deadlineOf, remaining, waitSignal, waitTimeout, type WaitOptions } from './args';
import { arenaBuffer, arenaNative, Block, Kind, words, type BlockState } from './arena';
import { CondWords } from './condition';
import { Revive, wordAcquire, wordAcquireAsync, wordRelease } from './lock';
import { runAsync, runSync, type Steps, type Wait } from './steps';

const FILLING = 0;
const DRAINING = 1;
const RESETTING = -1;
const BROKEN = -2;

// Word offsets inside the payload.
const LOCK = 0;
const COND = 1; // and 2
const STATE = 3;
const COUNT = 4;
const PARTIES = 5;
const TIMEOUT_BYTE = 32; // float64 seconds, -1 = none

export interface BarrierOptions {
  /** Called by one participant (the last to arrive) before all are released. */
  action?: (() => void) | null;
  /** Default timeout of wait(), seconds. */
  timeout?: number | null;
}

export class Barrier {
  /** @internal */ readonly _block: Block;
  /** @internal */ readonly _i: number;
  private readonly cond: CondWords;
  private readonly timeoutView: Float64Array;
  /** The action this copy runs when it arrives last. */
  action: (() => void) | null;

  /** new Barrier(parties, action?, timeout?) or new Barrier(parties, { action, timeout }). */
  constructor(
    parties: number | Revive,
    action?: (() => void) | BarrierOptions | null,
    timeout?: number | null,
  ) {
    arenaNative('Barrier');
    let opts: BarrierOptions =
      typeof action === 'object' && action !== null
        ? checkOptions(action, ['action', 'timeout'], 'Barrier')
        : { action: action ?? null, timeout };
    if (parties instanceof Revive) {
      this._block = Block.revive('Barrier', Kind.Barrier, parties.state, this);
      opts = { action: null };
    } else {
      if (typeof parties !== 'number' || !Number.isInteger(parties) || parties < 1) {
        throw new ValueError(`Barrier: parties must be an integer >= 1, got ${String(parties)}`);
      }
      if (parties > 0x7fffffff) throw new ValueError('Barrier: parties must be < 2^31');
      if (opts.action !== undefined && opts.action !== null && typeof opts.action !== 'function') {
        throw new TypeError('Barrier: action must be a function');
      }
      const t = waitTimeout(opts.timeout, 'Barrier');
      this._block = Block.alloc('Barrier', Kind.Barrier, 40, this);
      words()[this._block.base + PARTIES] = parties;
      new Float64Array(arenaBuffer(), this._block.offset + 16 + TIMEOUT_BYTE, 1)[0] = t;
    }
    this._i = this._block.base;
    this.cond = new CondWords(this._i + COND);
    this.timeoutView = new Float64Array(arenaBuffer(), this._block.offset + 16 + TIMEOUT_BYTE, 1);
    this.action = opts.action ?? null;
  }

  get parties(): number {
    return words()[this._i + PARTIES];
  }

  /** Threads waiting at the barrier now. */
  get nWaiting(): number {
    const w = words();
    return Atomics.load(w, this._i + STATE) === FILLING ? Atomics.load(w, this._i + COUNT) : 0;
  }

  get broken(): boolean {
    return Atomics.load(words(), this._i + STATE) === BROKEN;
  }

  private get state(): number {
    return Atomics.load(words(), this._i + STATE);
  }
  private set state(v: number) {
    Atomics.store(words(), this._i + STATE, v);
  }
  private get count(): number {
    return Atomics.load(words(), this._i + COUNT);
  }
  private set count(v: number) {
    Atomics.store(words(), this._i + COUNT, v);
  }

  private lock(): void {
    wordAcquire(this._i + LOCK, -1, 'Barrier');
  }
  private unlock(): void {
    wordRelease(this._i + LOCK);
  }

  /** Taking the internal lock word, as a step of a wait. */
  private lockStep(): Wait {
    return {
      sync: () => wordAcquire(this._i + LOCK, -1, 'Barrier'),
      // The internal lock is held only for a few instructions: not cancelled.
      async: () => wordAcquireAsync(this._i + LOCK, -1, 'Barrier'),
    };
  }

  /** Sleeping on the condition with the internal lock held (given up while
   * asleep, taken back after), as a step of a wait: false on timeout. */
  private condStep(timeout: number): Wait {
    return {
      sync: () => {
        const ticket = this.cond.enter();
        this.unlock();
        try {
          return this.cond.sleep(ticket, timeout);
        } finally {
          this.lock();
        }
      },
      async: async (signal) => {
        const ticket = this.cond.enter();
        this.unlock();
        try {
          return await this.cond.sleepAsync(ticket, timeout, signal, 'Barrier.waitAsync');
        } finally {
          await wordAcquireAsync(this._i + LOCK, -1, 'Barrier');
        }
      },
    };
  }

  private timeoutFor(timeout: number | null | undefined, what: string): number {
    if (timeout === undefined || timeout === null) return this.timeoutView[0];
    return waitTimeout(timeout, what);
  }

  private breakLocked(): void {
    this.state = BROKEN;
    this.cond.notify(-1);
  }

  private releaseLocked(): void {
    try {
      if (this.action) this.action();
      this.state = DRAINING;
      this.cond.notify(-1);
    } catch (err) {
      this.breakLocked();
      throw err;
    }
  }

  private exitLocked(): void {
    if (this.count === 0 && (this.state === RESETTING || this.state === DRAINING)) {
      this.state = FILLING;
      this.cond.notify(-1);
    }
  }

  /** Python's Barrier.wait, written once: the sync and async forms drive it. */
  private *waitSteps(t: number): Steps<number> {
    yield this.lockStep();
    try {
      while (this.state === DRAINING || this.state === RESETTING) yield this.condStep(-1);
      if (this.state < 0) throw new BrokenBarrierError('the Barrier is broken');
      const index = this.count;
      this.count = index + 1;
      try {
        if (index + 1 === this.parties) {
          this.releaseLocked();
        } else {
          const deadline = deadlineOf(t);
          while (this.state === FILLING) {
            const left = remaining(deadline);
            if (left === 0) {
              this.breakLocked();
              throw new BrokenBarrierError('the Barrier timed out and is now broken');
            }
            try {
              yield this.condStep(left);
            } catch (err) {
              // Python breaks the barrier when a wait is interrupted (an
              // AbortError here): the other parties must not wait forever.
              this.breakLocked();
              throw err;
            }
          }
          if (this.state < 0) throw new BrokenBarrierError('the Barrier was aborted or reset');
        }
        return index;
      } finally {
        this.count = this.count - 1;
        this.exitLocked();
      }
    } finally {
      this.unlock();
    }
  }

  /** Waits until `parties` participants have called wait(); returns this
   * participant's arrival index (0 .. parties-1). BrokenBarrierError when
   * the barrier is (or gets) broken, reset, or the wait times out. */
  wait(timeout?: number | null): number {
    return runSync(this.waitSteps(this.timeoutFor(timeout, 'Barrier.wait')));
  }

  /** wait() without blocking the event loop. `{ signal }` cancels it: the
   * barrier is then broken (as in Python when a wait is interrupted) and
   * the call rejects with AbortError. */
  waitAsync(timeout?: number | null, options?: WaitOptions): Promise<number> {
    try {
      const signal = waitSignal(options, 'Barrier.waitAsync');
      throwIfAborted(signal, 'Barrier.waitAsync');
      return runAsync(this.waitSteps(this.timeoutFor(timeout, 'Barrier.waitAsync')), signal);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Back to the empty state; current waiters get BrokenBarrierError. */
  reset(): void {
    this.lock();
    try {
      if (this.count > 0) {
        if (this.state === FILLING || this.state === BROKEN) this.state = RESETTING;
      } else {
        this.state = FILLING;
      }
      this.cond.notify(-1);
    } finally {
      this.unlock();
    }
  }

  /** Breaks the barrier: current and future waits get BrokenBarrierError
   * until reset(). */
  abort(): void {
    this.lock();
    try {
      this.breakLocked();
    } finally {
      this.unlock();
    }
  }

  /** Python's repr: waiters=N/parties, or broken. */
  toString(): string {
    const what = this.broken ? 'broken' : `waiters=${this.nWaiting}/${this.parties}`;
    return `<forkful.Barrier ${what}>`;
  }

  [kShare](): ShareState {
    return { kind: 'forkful.Barrier', state: this._block.state() };
  }
}

/** How this module's kinds are revived (installed by lib/shareables.ts). */
export const barrierRevivers: Revivers = {
  'forkful.Barrier': (state) => new Barrier(new Revive(state as BlockState)),
};
