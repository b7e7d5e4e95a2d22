// Argument checks shared by the primitives: Python's rules and messages.
// Timeouts are read by lib/core/timeout (the one parser).
import { checkSignal } from '../core/abort';
import { ValueError } from '../core/errors';
import { checkOptions } from '../core/options';
import { FOREVER, parseTimeout } from '../core/timeout';

export { deadline as deadlineOf, remaining } from '../core/timeout';

export interface AcquireOptions {
  /** false: return at once when the lock is taken (default true). */
  blocking?: boolean;
  /** Seconds to wait at most; -1, null or undefined: no limit. */
  timeout?: number | null;
  /** acquireAsync only: cancels the wait (AbortError, cause: signal.reason). */
  signal?: AbortSignal | null;
}

const SYNC_ACQUIRE_OPTIONS = ['blocking', 'timeout'] as const;
const ASYNC_ACQUIRE_OPTIONS = ['blocking', 'timeout', 'signal'] as const;

/** The options of a wait of Event/Condition/Barrier (waitAsync). */
export interface WaitOptions {
  /** Cancels the wait (AbortError, cause: signal.reason). */
  signal?: AbortSignal | null;
}

/** The signal of a waitAsync's options ({ signal }), checked. */
export function waitSignal(options: WaitOptions | undefined, what: string): AbortSignal | null {
  return checkSignal(checkOptions(options, ['signal'], what).signal, what);
}

/** The signal of acquireAsync's options, checked. */
export function acquireSignal(
  options: AcquireOptions | undefined,
  what: string,
): AbortSignal | null {
  if (typeof options !== 'object' || options === null) return null;
  return checkSignal(options.signal, what);
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
    // A blocking acquire cannot be cancelled: `signal` is acquireAsync's.
    checkOptions(
      blocking,
      what.endsWith('Async') ? ASYNC_ACQUIRE_OPTIONS : SYNC_ACQUIRE_OPTIONS,
      what,
    );
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
