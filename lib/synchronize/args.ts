// Argument checks shared by the primitives: Python's rules and messages.
// Timeouts are read by lib/core/timeout (the one parser).
import { ValueError } from '../core/errors';
import { FOREVER, parseTimeout } from '../core/timeout';

export { deadline as deadlineOf, remaining } from '../core/timeout';

export interface AcquireOptions {
  /** false: return at once when the lock is taken (default true). */
  blocking?: boolean;
  /** Seconds to wait at most; -1, null or undefined: no limit. */
  timeout?: number | null;
}

/** A wait's timeout (Event, Condition, Barrier): seconds, or FOREVER (-1)
 * for null/undefined; a negative one is 0, as in Python. */
export function waitTimeout(timeout: number | null | undefined, what: string): number {
  return parseTimeout(timeout, what);
}

/** acquire(blocking, timeout) or acquire({ blocking, timeout }) -> seconds,
 * 0 for a non-blocking attempt, FOREVER (-1) for no limit (Python's
 * lock.acquire rules). */
export function acquireTimeout(
  blocking: boolean | AcquireOptions | undefined,
  timeout: number | null | undefined,
  what: string,
): number {
  let block = true;
  let t = timeout;
  if (typeof blocking === 'object' && blocking !== null) {
    block = blocking.blocking ?? true;
    t = blocking.timeout;
  } else if (blocking !== undefined) {
    block = Boolean(blocking);
  }
  const seconds = parseTimeout(t, what, { negative: 'acquire' });
  if (seconds === FOREVER) return block ? FOREVER : 0;
  if (!block) {
    throw new ValueError(`${what}: can't specify a timeout for a non-blocking call`);
  }
  return seconds;
}
