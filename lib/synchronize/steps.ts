// One wait algorithm, two drivers: a primitive writes its wait once, as a
// generator that yields each time it must sleep (take a lock word, sleep on
// a futex, wait on a condition), and the blocking form and the async form
// drive the same generator. Each yield names both ways to do that one wait;
// the sync driver blocks in it, the async driver awaits it. An error thrown
// by a wait is thrown back into the generator at its yield, so its finally
// blocks (give the lock word back, leave the sleeper count) still run.
// The async driver takes an AbortSignal and hands it to each wait (a sleep
// then waits in slices, lib/core/abort's slicedWait); an aborted wait
// rejects with AbortError, thrown into the generator like any error.
// (Connection's #take is the same idea for reads: one non-blocking step,
// two drivers.)

/** One wait: how to block in it, and how to await it. */
export interface Wait {
  sync(): boolean;
  async(signal: AbortSignal | null): Promise<boolean>;
}

/** A wait algorithm: yields Waits, receives each one's result. */
export type Steps<R> = Generator<Wait, R, boolean>;

export function runSync<R>(steps: Steps<R>): R {
  let next = steps.next();
  while (!next.done) {
    let result: boolean;
    try {
      result = next.value.sync();
    } catch (err) {
      next = steps.throw(err);
      continue;
    }
    next = steps.next(result);
  }
  return next.value;
}

export async function runAsync<R>(steps: Steps<R>, signal: AbortSignal | null = null): Promise<R> {
  let next = steps.next();
  while (!next.done) {
    let result: boolean;
    try {
      result = await next.value.async(signal);
    } catch (err) {
      next = steps.throw(err);
      continue;
    }
    next = steps.next(result);
  }
  return next.value;
}
