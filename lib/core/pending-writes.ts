// Writes this thread owes other processes while it blocks (issue 14).
// Python's Queue feeder thread writes a put item while the main thread
// blocks in Event.wait() or a lock; here the feeder runs on the event loop,
// which a blocking call stops. So every blocking wait of forkful (the locks,
// Event, Condition, Barrier, Semaphore, Connection.poll/recvSync,
// Process.joinSync) goes through blockingWait(): while some items wait for a
// writer lock another process holds, it waits in short slices and gives the
// feeders a try between them, so an item is written as soon as that lock is
// free, whatever the thread blocks on, and the wait still ends on its own
// terms (a writer lock held forever never hangs it). With nothing pending,
// it is one call of the wait itself: the cost is one load of `flush`.
import { FOREVER, deadline, remaining } from './timeout';

/** Writes what can be written now, without waiting; true while some items
 * are still unwritten. Set by the Queue feeders (lib/multiprocessing/queue/
 * feeder.ts) while they hold items, null otherwise. */
let flush: (() => boolean) | null = null;

/** The slices of a wait while items are pending: short at first (a writer
 * lock is mostly held for microseconds), then longer, up to a wait long
 * enough for a native lock wait to check that its holder lives (50 ms in
 * sync.cc). Seconds. */
const FIRST_SLICE = 0.001;
const LONGEST_SLICE = 0.1;

/** The feeders hold items (flush writes them), or none do (null). A forked
 * child calls it (the feeders forget their items after a fork):
 * parenthesised, so V8 compiles it in the parent, not in every child. */
// prettier-ignore
export const setPendingWrites = (function setPendingWrites(fn: (() => boolean) | null): void {
  flush = fn;
});

/** Writes what this thread's feeders can write now; true while some items
 * are still unwritten. */
export function flushPendingWrites(): boolean {
  return flush !== null && flush();
}

/**
 * One blocking wait of at most `timeout` seconds (FOREVER: no limit):
 * `wait(t)` blocks up to t seconds (or FOREVER) and returns its result,
 * which `timedOut` tells apart (by default a result of 0, as the native
 * sync waits return). A wait that returns early when its time is up is the
 * caller's own loop to re-check; a slice that ends is not such a return.
 */
export function blockingWait<R>(
  timeout: number,
  wait: (t: number) => R,
  timedOut: (r: R) => boolean = isZero,
): R {
  if (flush === null) return wait(timeout);
  return waitWhilePending(timeout, wait, timedOut);
}

function isZero(r: unknown): boolean {
  return r === 0 || r === false;
}

function waitWhilePending<R>(
  timeout: number,
  wait: (t: number) => R,
  timedOut: (r: R) => boolean,
): R {
  const until = deadline(timeout);
  let slice = FIRST_SLICE;
  for (;;) {
    const left = remaining(until);
    if (!flushPendingWrites()) return wait(left);
    const t = left === FOREVER ? slice : Math.min(slice, left);
    const r = wait(t);
    if (!timedOut(r) || t === left) return r;
    slice = Math.min(slice * 2, LONGEST_SLICE);
  }
}

/** blockingWait() for a wait whose time is in milliseconds (-1: no limit). */
export function blockingWaitMs<R>(
  ms: number,
  wait: (ms: number) => R,
  timedOut: (r: R) => boolean = isZero,
): R {
  if (flush === null) return wait(ms);
  const toMs = (t: number): number => (t === FOREVER ? -1 : Math.ceil(t * 1000));
  return waitWhilePending(ms < 0 ? FOREVER : ms / 1000, (t) => wait(toMs(t)), timedOut);
}
