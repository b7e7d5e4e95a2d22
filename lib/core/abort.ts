// The one handling of `{ signal }` (an AbortSignal) for every wait in
// forkful. A wait given a signal that aborts rejects with AbortError (name
// 'AbortError', code 'ABORT_ERR', cause: the signal's reason) and undoes
// what it started (a waiter removed, a lock taken late given back, pending
// pool tasks dropped). The wait's own rules say what "undo" is; this module
// only checks the signal, races it against the wait, and removes its
// listener once the wait is over.
import { AbortError } from './errors';
import { ArgumentTypeError } from './options';

export interface SignalOption {
  /** Cancels the wait: it rejects with AbortError (cause: signal.reason). */
  signal?: AbortSignal | null;
}

/** The signal of an options object, checked: an AbortSignal or null. */
export function checkSignal(signal: unknown, what: string): AbortSignal | null {
  if (signal === undefined || signal === null) return null;
  if (!(signal instanceof AbortSignal)) {
    throw new ArgumentTypeError(`${what}: signal must be an AbortSignal, not ${typeof signal}`);
  }
  return signal;
}

/** The error a wait rejects with once `signal` aborted. */
export function abortError(signal: AbortSignal, what: string): AbortError {
  return new AbortError(`${what} was aborted`, { cause: signal.reason });
}

/** Throws AbortError when `signal` has already aborted. */
export function throwIfAborted(signal: AbortSignal | null | undefined, what: string): void {
  if (signal?.aborted) throw abortError(signal, what);
}

/**
 * Races `promise` (a wait already begun) against `signal`. When the signal
 * aborts first, `cancel()` runs (it undoes what the wait started) and the
 * result rejects with AbortError; the wait's own outcome is then ignored,
 * apart from `late`, which receives a value it produced anyway (a lock
 * acquired just too late, to give back). Without a signal: `promise`.
 */
export function abortable<T>(
  signal: AbortSignal | null | undefined,
  what: string,
  promise: Promise<T>,
  cancel: () => void,
  late?: (value: T) => void,
): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    cancel();
    promise.then(late, () => {});
    return Promise.reject(abortError(signal, what));
  }
  return new Promise<T>((resolve, reject) => {
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      try {
        cancel();
      } finally {
        reject(abortError(signal, what));
      }
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (aborted) late?.(value);
        else resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (!aborted) reject(err);
      },
    );
  });
}

/** How long one slice of a sliced wait lasts, in seconds. */
export const SLICE_SECONDS = 0.1;

/** Names one slice of a sliced wait to its `withdraw` (never 0: "none"). */
let lastTicket = 0;
function nextTicket(): number {
  lastTicket = (lastTicket % 0x7fffffff) + 1;
  return lastTicket;
}

/**
 * A wait done by a thread that cannot be interrupted (a native futex wait
 * on a thread of its own), made cancellable: with a signal, it waits in
 * slices of SLICE_SECONDS (`waitFor(seconds, ticket)` resolves 0 when the
 * slice ran out) until it succeeds, `timeout` passes (seconds, -1 for none)
 * or the signal aborts. An abort rejects at once and calls `withdraw(ticket)`
 * for the slice in flight, which ends it and gives back what it took (the
 * native waits: syncCancelWait), so that nothing stays taken for an aborted
 * wait while this thread goes on (a blocking acquire after the abort would
 * wait for the event loop, which it blocks). What a slice still returns
 * after that (it succeeded before the abort, or there is no `withdraw`)
 * reaches `late`, which gives it back. Without a signal: one wait of
 * `timeout`.
 */
export function slicedWait(
  signal: AbortSignal | null | undefined,
  what: string,
  timeout: number,
  waitFor: (seconds: number, ticket: number) => Promise<number>,
  late: (result: number) => void,
  withdraw?: (ticket: number) => void,
): Promise<number> {
  if (!signal) return waitFor(timeout, 0);
  throwIfAborted(signal, what);
  const until = timeout < 0 ? Infinity : performance.now() + timeout * 1000;
  let stopped = false;
  let inFlight = 0;
  const loop = async (): Promise<number> => {
    for (;;) {
      const left = until === Infinity ? SLICE_SECONDS : (until - performance.now()) / 1000;
      inFlight = nextTicket();
      const r = await waitFor(Math.max(0, Math.min(SLICE_SECONDS, left)), inFlight);
      inFlight = 0;
      if (stopped) {
        if (r !== 0) late(r);
        return 0;
      }
      // Without a timeout, only success or the signal ends the wait.
      if (r !== 0 || (until !== Infinity && left <= SLICE_SECONDS)) return r;
    }
  };
  return abortable(signal, what, loop(), () => {
    stopped = true;
    if (inFlight !== 0) withdraw?.(inFlight);
  });
}
