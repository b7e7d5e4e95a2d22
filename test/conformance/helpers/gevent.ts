// What the ports of gevent's tests share: gevent.testing.timing's ticks and
// its AbstractGenericWaitTestCase / AbstractGenericGetTestCase checks.
import { Timeout, spawn } from '../../../lib/coroutine';
import { monotonic } from './common';

export const SMALLEST_RELIABLE_DELAY = 0.001;
export const SMALL_TICK = 0.01;
export const SMALL_TICK_MAX_ADJ = 0.11;
export const LARGE_TICK = 0.2;
export const LARGE_TICK_MIN_ADJ = LARGE_TICK / 2.0;
/** Python's bound is LARGE_TICK + 0.11; wider here (a shared 2-core
 * machine), never narrower. */
export const LARGE_TICK_MAX = 2.0;

/** gevent.testing.ExpectedException */
export class ExpectedException extends Error {
  constructor(message?: string) {
    super(message);
    this.name = 'ExpectedException';
  }
}

/** Runs `fn` inside a greenlet and gives what it returned or threw (gevent's
 * tests run in the main greenlet; a forkful Timeout.start() needs one). */
export async function inGreenlet<T>(fn: () => Promise<T> | T): Promise<T> {
  return (await spawn(fn)) as T;
}

/**
 * AbstractGenericWaitTestCase: `wait(timeout)` returns (undefined) after
 * about LARGE_TICK; a Timeout started outside the wait is not lost.
 */
export function genericWaitTests(name: string, wait: (timeout: number) => Promise<unknown>): void {
  test(`${name}.test_returns_none_after_timeout`, async () => {
    const start = monotonic();
    const result = await wait(LARGE_TICK);
    const delay = monotonic() - start;
    expect(delay).toBeGreaterThanOrEqual(LARGE_TICK - LARGE_TICK_MIN_ADJ);
    expect(delay).toBeLessThanOrEqual(LARGE_TICK_MAX);
    expect(result ?? undefined).toBeUndefined();
  });
  outerTimeoutTest(name, wait);
}

/** AbstractGenericGetTestCase: `wait(timeout)` raises Timeout after about
 * SMALL_TICK. (test_raises_timeout_Timeout and
 * test_raises_timeout_Timeout_exc_customized pass a Timeout object as the
 * timeout: forkful's timeouts are numbers of seconds.) */
export function genericGetTests(
  name: string,
  wait: (timeout: number) => Promise<unknown>,
  // What the test case's `Timeout` is (gevent.queue's tests: Empty, Full).
  expected: abstract new (...args: never[]) => unknown = Timeout,
): void {
  test(`${name}.test_raises_timeout_number`, async () => {
    const start = monotonic();
    await expect(wait(SMALL_TICK)).rejects.toBeInstanceOf(expected);
    const delay = monotonic() - start;
    expect(delay).toBeGreaterThanOrEqual(SMALL_TICK - SMALLEST_RELIABLE_DELAY);
    expect(delay).toBeLessThanOrEqual(LARGE_TICK_MAX);
  });
  outerTimeoutTest(name, wait);
}

function outerTimeoutTest(name: string, wait: (timeout: number) => Promise<unknown>): void {
  test(`${name}.test_outer_timeout_is_not_lost`, async () => {
    await inGreenlet(async () => {
      const timeout = Timeout.startNew(SMALLEST_RELIABLE_DELAY);
      try {
        let caught: unknown = null;
        try {
          await wait(1);
        } catch (err) {
          caught = err;
        }
        expect(caught).toBe(timeout);
      } finally {
        timeout.close();
      }
    });
  });
}

/** What gevent's hub does with a link callback that raises: prints it and
 * goes on. forkful rethrows it from a microtask (an uncaught exception);
 * this collects those instead, so the test can look at them. */
export function captureLinkErrors(): { errors: unknown[]; restore(): void } {
  const errors: unknown[] = [];
  const real = globalThis.queueMicrotask;
  globalThis.queueMicrotask = (cb: () => void) =>
    real(() => {
      try {
        cb();
      } catch (err) {
        errors.push(err);
      }
    });
  return { errors, restore: () => (globalThis.queueMicrotask = real) };
}
