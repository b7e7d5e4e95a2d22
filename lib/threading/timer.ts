// Timer: a Thread that calls a function after `interval` seconds, unless
// cancel() comes first. The thread sleeps on a shared flag (Atomics.wait),
// so cancel() from any thread wakes it at once.
import { ValueError } from '../core/errors';
import { Slot, TIMEOUT_MAX, Thread, ThreadData } from './thread';
import { Target } from './target';

export class Timer extends Thread {
  readonly interval: number;
  private _cancelled = false;

  /** Python's Timer(interval, function, args): `fn` is a self-contained
   * function (sent by source) or { module, export }. */
  constructor(interval: number, fn: Target, args: unknown[] = []) {
    if (typeof interval !== 'number' || !(interval >= 0) || interval > TIMEOUT_MAX) {
      throw new ValueError(
        `Timer interval must be a number of seconds between 0 and ${TIMEOUT_MAX}, not ${interval}`,
      );
    }
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
