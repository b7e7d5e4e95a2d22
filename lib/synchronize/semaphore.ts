// Semaphore and BoundedSemaphore: a counter word and a sleeper count in the
// shared arena. Taking and giving back a unit are Atomics in JS; a caller
// sleeps (futex, native) only when the counter is zero, and release wakes
// sleepers only when there are some.
import { Acquirable } from './acquirable';
import { ValueError } from '../core/errors';
import { flushQueuedFrames } from '../core/queued-frames';
import { blockingWait } from '../core/pending-writes';
import { kShare, type Revivers, type ShareState } from '../transfer/shareable';
import { slicedWait, throwIfAborted } from '../core/abort';
import { acquireSignal, acquireTimeout, type AcquireOptions } from './args';
import { arenaNative, Block, nat, Kind, words, type BlockState } from './arena';
import { Revive } from './lock';

const MAX_VALUE = 0x7fffffff;

function checkValue(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ValueError(`${what}: the initial value must be an integer, got ${String(value)}`);
  }
  if (value < 0) throw new ValueError(`${what}: initial value must be >= 0, got ${value}`);
  if (value > MAX_VALUE) throw new ValueError(`${what}: initial value must be <= ${MAX_VALUE}`);
  return value;
}

/** A counting semaphore shared by threads and processes
 * (payload words: value, sleepers, bound or -1). */
export class Semaphore extends Acquirable {
  /** @internal */ readonly _block: Block;
  /** @internal */ readonly _w: Int32Array;
  /** @internal */ readonly _i: number;

  constructor(value: number | Revive = 1) {
    super();
    arenaNative(new.target.name);
    if (value instanceof Revive) {
      this._block = Block.revive(new.target.name, Kind.Semaphore, value.state, this);
    } else {
      const v = checkValue(value, new.target.name);
      this._block = Block.alloc(new.target.name, Kind.Semaphore, 12, this);
      words()[this._block.base] = v;
      words()[this._block.base + 2] = this._bounded() ? v : -1;
    }
    this._w = words();
    this._i = this._block.base;
  }

  /** @internal */ _bounded(): boolean {
    return false;
  }

  /** Takes one unit: acquire(), acquire(false), acquire(true, 0.5),
   * acquire({ blocking, timeout }) (seconds). True when taken. */
  acquire(blocking?: boolean | AcquireOptions, timeout?: number | null): boolean {
    const w = this._w;
    const i = this._i;
    const t =
      blocking === undefined && timeout === undefined
        ? -1
        : acquireTimeout(blocking, timeout, 'Semaphore.acquire');
    let v = Atomics.load(w, i);
    while (v > 0) {
      const seen = Atomics.compareExchange(w, i, v, v - 1);
      if (seen === v) return true;
      v = seen;
    }
    if (t === 0) return false;
    return blockingWait(t, (s) => nat().syncSemAcquire(i * 4, s)) !== 0;
  }

  /** acquire() that waits without blocking the event loop. */
  async acquireAsync(options?: AcquireOptions): Promise<boolean> {
    const t = acquireTimeout(options, undefined, 'Semaphore.acquireAsync');
    const signal = acquireSignal(options, 'Semaphore.acquireAsync');
    throwIfAborted(signal, 'Semaphore.acquireAsync');
    if (this.acquire(false)) return true;
    if (t === 0) return false;
    const r = await slicedWait(
      signal,
      'Semaphore.acquireAsync',
      t,
      (slice, ticket) => nat().syncSemAcquireAsync(this._i * 4, slice, ticket),
      () => this.release(),
      (ticket) => nat().syncCancelWait(ticket),
    );
    return r !== 0;
  }

  /** Gives back n units (default 1), waking up to n sleepers. */
  release(n = 1): void {
    if (!Number.isInteger(n) || n < 1) {
      throw new ValueError(`${this.constructor.name}.release: n must be an integer >= 1, got ${n}`);
    }
    flushQueuedFrames();
    const w = this._w;
    const i = this._i;
    const bound = w[i + 2];
    if (bound >= 0) {
      let v = Atomics.load(w, i);
      for (;;) {
        if (v + n > bound) throw new ValueError('Semaphore released too many times');
        const seen = Atomics.compareExchange(w, i, v, v + n);
        if (seen === v) break;
        v = seen;
      }
    } else {
      const before = Atomics.add(w, i, n);
      if (before + n > MAX_VALUE || before + n < 0) {
        Atomics.sub(w, i, n);
        throw new ValueError('Semaphore value would overflow 2^31-1');
      }
    }
    if (Atomics.load(w, i + 1) > 0) nat().syncFutexWake(i * 4, n);
  }

  /** The current counter (Python's get_value / _value). */
  getValue(): number {
    return Atomics.load(this._w, this._i);
  }

  [kShare](): ShareState {
    return {
      kind: `forkful.${this._bounded() ? 'Bounded' : ''}Semaphore`,
      state: this._block.state(),
    };
  }

  /** Python's repr: value=N, and value=N/initial for a bounded one. */
  toString(): string {
    const bound = this._bounded() ? `/${words()[this._i + 2]}` : '';
    return `<forkful.${this.constructor.name} value=${this.getValue()}${bound}>`;
  }
}

/** A semaphore whose release() above the initial value is a ValueError. */
export class BoundedSemaphore extends Semaphore {
  /** @internal */ _bounded(): boolean {
    return true;
  }
}

/** How this module's kinds are revived (installed by lib/shareables.ts). */
export const semaphoreRevivers: Revivers = {
  'forkful.Semaphore': (state) => new Semaphore(new Revive(state as BlockState)),
  'forkful.BoundedSemaphore': (state) => new BoundedSemaphore(new Revive(state as BlockState)),
};
