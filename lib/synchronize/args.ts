// Argument checks shared by the primitives: Python's rules and messages.
import { ValueError } from '../core/errors';

export interface AcquireOptions {
  /** false: return at once when the lock is taken (default true). */
  blocking?: boolean;
  /** Seconds to wait at most; -1, null or undefined: no limit. */
  timeout?: number | null;
}

/** A timeout in seconds; -1 = forever. Python's Condition/Event style:
 * null/undefined = forever, negative = 0 is NOT Python's rule for waits (a
 * negative wait timeout is an error here, so mistakes show). */
export function waitTimeout(timeout: number | null | undefined, what: string): number {
  if (timeout === undefined || timeout === null) return -1;
  if (typeof timeout !== 'number' || Number.isNaN(timeout)) {
    throw new ValueError(`${what}: timeout must be a number of seconds or null, got ${timeout}`);
  }
  if (timeout < 0) {
    throw new ValueError(`${what}: timeout must be >= 0 seconds (or null to wait forever)`);
  }
  return timeout;
}

/** acquire(blocking, timeout) or acquire({ blocking, timeout }) -> seconds,
 * 0 for a non-blocking attempt, -1 for no limit. */
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
  if (t === undefined || t === null || t === -1) return block ? -1 : 0;
  if (typeof t !== 'number' || Number.isNaN(t)) {
    throw new ValueError(`${what}: timeout must be a number of seconds, got ${t}`);
  }
  if (!block) {
    throw new ValueError(`${what}: can't specify a timeout for a non-blocking call`);
  }
  if (t < 0) throw new ValueError(`${what}: timeout value must be a non-negative number or -1`);
  return t;
}

/** Seconds left before a monotonic deadline (ms), never negative. */
export function remaining(deadlineMs: number): number {
  return deadlineMs < 0 ? -1 : Math.max(0, (deadlineMs - performance.now()) / 1000);
}

/** A monotonic deadline in ms for a timeout in seconds (-1 stays -1). */
export function deadlineOf(seconds: number): number {
  return seconds < 0 ? -1 : performance.now() + seconds * 1000;
}
