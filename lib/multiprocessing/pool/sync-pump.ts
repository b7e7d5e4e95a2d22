// The blocking wait of AsyncResult.getSync(): with the event loop blocked,
// nothing else reads results or reaps workers, so the wait does it itself.
// It starts the workers the engine asked for, sends what can be sent, then
// alternates taking whatever results are readable with sleeping on one busy
// worker's pipe (at most 20 ms, then it looks at every worker again).
// Callbacks and promise reactions of calls that settle meanwhile are held
// back until it returns (holdNotifications): the pump may fork a worker,
// which must not inherit them.
import type { Connection } from '../connection';
import { holdNotifications } from './async-result';

/** What the pump needs from the pool's engine. */
export interface Pumpable {
  /** Starts the workers requested for the next clean tick, and dispatches. */
  startPending(): void;
  /** Takes the results readable now; reaps workers that closed their pipe. */
  takeReadable(): void;
  /** Sends what can be sent now. */
  dispatch(): void;
  /** The result pipe of a worker that holds work, or null. */
  busyResults(): Connection | null;
  /** True when nothing more can arrive (no work, or the pool stopped). */
  finished(): boolean;
}

const pauseCell = new Int32Array(new SharedArrayBuffer(4));

/** Blocks until `isReady()` or until `deadline` (performance.now() ms). */
export function pumpUntil(pool: Pumpable, isReady: () => boolean, deadline: number): void {
  holdNotifications(() => {
    pool.startPending();
    while (!isReady()) {
      const left = deadline - performance.now();
      if (left <= 0) return;
      pool.takeReadable();
      if (isReady()) return;
      pool.dispatch();
      const busy = pool.busyResults();
      if (!busy) {
        if (pool.finished()) return;
        Atomics.wait(pauseCell, 0, 0, 1); // a worker is starting: do not spin
        continue;
      }
      try {
        busy.poll(Math.min(left, 20) / 1000);
      } catch {
        // closed meanwhile: the next round sees it
      }
    }
  });
}
