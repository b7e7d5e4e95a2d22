// gevent.sleep: wait without blocking the event loop; 0 yields one turn.
import { cancellable, startTimer, toMs } from './scope';

/**
 * Waits `seconds` (default 0: one turn of the event loop, letting every
 * greenlet that is ready run first). Inside a greenlet that is killed, or a
 * Timeout that fires, the sleep rejects with that exception.
 */
export function sleep(seconds = 0): Promise<void> {
  const ms = toMs(seconds, 'sleep(seconds)') ?? 0;
  return cancellable<void>((resolve) => {
    if (ms === 0) {
      const handle = setImmediate(() => resolve());
      return () => clearImmediate(handle);
    }
    return startTimer(() => resolve(), ms);
  });
}
