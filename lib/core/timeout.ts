// The one reading of a timeout argument, for every wait in forkful. Seconds,
// as in Python; null or undefined wait without limit. The same mistake is
// the same error everywhere, with Python's classes:
//
//   not a number (a string, a bigint...)   TypeError      (Python: TypeError)
//   NaN                                     ValueError     (lock.acquire: "Invalid value NaN")
//   above TIMEOUT_MAX, Infinity included    OverflowError  (lock.acquire: "timeout value is too large")
//   negative                                by the wait's own rule, as in Python:
//     'wait'     Process.join, Thread.join, Connection.poll, Queue.get/put,
//                Event.wait, Condition.wait, Barrier.wait, AsyncResult.get:
//                a negative timeout is 0 (Python's selectors and
//                Condition.wait treat it so)
//     'acquire'  Lock/RLock/Semaphore.acquire: -1 is no limit, another
//                negative value a ValueError (Python's lock.acquire)
//     'strict'   the coroutine module (gevent's rules): a ValueError
//
// A parsed timeout is seconds >= 0, or FOREVER (-1), the value the native
// waits take for "no limit". deadline() and remaining() carry a timeout
// across the rounds of a wait that may wake early.
import { OverflowError, ValueError } from './errors';

/** The largest timeout a wait accepts, in seconds (Python's
 * threading.TIMEOUT_MAX; here the longest timer Node can arm: 2^31-1 ms). */
export const TIMEOUT_MAX = 2147483;

/** No limit: what parseTimeout returns for null/undefined (and -1 in an
 * acquire), and what the native waits take. */
export const FOREVER = -1;

export type NegativeRule = 'wait' | 'acquire' | 'strict';

export interface TimeoutRules {
  /** How a negative value reads (default 'wait'). */
  negative?: NegativeRule;
  /** The largest accepted value (default TIMEOUT_MAX). */
  max?: number;
}

/** Reads a timeout argument: seconds >= 0, or FOREVER. `what` names the
 * call in error messages ('Process.join'). */
export function parseTimeout(value: unknown, what: string, rules: TimeoutRules = {}): number {
  if (value === null || value === undefined) return FOREVER;
  if (typeof value !== 'number') {
    throw new TypeError(
      `${what}: timeout must be a number of seconds or null, not ${describe(value)}`,
    );
  }
  if (Number.isNaN(value)) {
    throw new ValueError(`${what}: timeout must be a number of seconds or null, not NaN`);
  }
  const max = rules.max ?? TIMEOUT_MAX;
  if (value > max) {
    throw new OverflowError(
      `${what}: timeout ${value} s is too large (at most ${max} s; null waits without limit)`,
    );
  }
  if (value >= LOOKS_LIKE_MS) warnMillisecondsOnce(value, what);
  if (value >= 0) return value;
  switch (rules.negative ?? 'wait') {
    case 'wait':
      return 0;
    case 'acquire':
      if (value === -1) return FOREVER;
      throw new ValueError(
        `${what}: timeout must be a non-negative number of seconds, or -1 or null for no limit`,
      );
    case 'strict':
      throw new ValueError(
        `${what}: timeout must be a number of seconds >= 0, got ${value} (null for no limit)`,
      );
  }
}

/** A timeout this large (16.7 minutes) is more often milliseconds typed
 * out of Node habit (setTimeout) than seconds: warn once per process. */
const LOOKS_LIKE_MS = 1000;
let warnedMilliseconds = false;

// A warning, not an error: an hour-long join(3600) is legitimate, so the
// value is obeyed; production runs (NODE_ENV=production) stay quiet, and
// `--disable-warning=FORKFUL_TIMEOUT_SECONDS` silences it anywhere.
function warnMillisecondsOnce(value: number, what: string): void {
  if (warnedMilliseconds || process.env.NODE_ENV === 'production') return;
  warnedMilliseconds = true;
  const minutes = (value / 60).toFixed(1);
  process.emitWarning(
    `${what}: timeout ${value} is read as ${value} seconds (${minutes} minutes): ` +
      `forkful's timeouts are in seconds, as in Python. For ${value} ms pass ${value / 1000}.`,
    { type: 'TimeoutWarning', code: 'FORKFUL_TIMEOUT_SECONDS' },
  );
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `the string '${value}'`;
  if (typeof value === 'object') return value === null ? 'null' : 'an object';
  return `a ${typeof value}`;
}

/** The same timeout in milliseconds (FOREVER stays FOREVER). */
export function timeoutMs(timeout: number): number {
  return timeout === FOREVER ? FOREVER : timeout * 1000;
}

/** A monotonic deadline (performance.now() ms) for a parsed timeout;
 * FOREVER stays FOREVER. */
export function deadline(timeout: number): number {
  return timeout === FOREVER ? FOREVER : performance.now() + timeout * 1000;
}

/** Seconds left before a deadline, never negative; FOREVER stays FOREVER. */
export function remaining(deadlineMs: number): number {
  return deadlineMs === FOREVER ? FOREVER : Math.max(0, (deadlineMs - performance.now()) / 1000);
}
