// Timer: a Thread that calls a function after `interval` seconds, unless
// cancel() comes first. The thread sleeps on a shared flag (Atomics.wait),
// so cancel() from any thread wakes it at once.
import { parseTimeout } from '../core/timeout';
import { Slot, Thread, ThreadData } from './thread';
import { Target } from './target';

export class Timer extends Thread {
  readonly interval: number;
  private _cancelled = false;

  /** Python's Timer(interval, function, args): `fn` is a self-contained
   * function (sent by source) or { module, export }. */
  constructor(interval: number, fn: Target, args: unknown[] = []) {
    // A timeout like any other (lib/core/timeout): a negative one is 0, as
    // Python's Timer waits on an Event; there is no "never" interval.
    if (interval === null || interval === undefined) {
      throw new TypeError(`Timer interval must be a number of seconds, not ${interval}`);
    }
    parseTimeout(interval, 'Timer interval');
    super({ target: fn, args });
    this.interval = interval;
  }

  /** Stops the timer if it has not fired yet: the function then never runs. */
  cancel(): void {
    this._cancelled = true;
    if (this._state) {
      Atomics.store(this._state, Slot.Cancelled, 1);
      Atomics.notify(this._state, Slot.Cancelled);
    }
  }

  protected override _threadData(): ThreadData {
    const data = super._threadData();
    data.fireAt = Date.now() + this.interval * 1000;
    if (this._cancelled) Atomics.store(this._state!, Slot.Cancelled, 1);
    return data;
  }
}
