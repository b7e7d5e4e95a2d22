// gevent.joinall / wait / iwait / killall over many greenlets (wait and
// iwait also take Events, AsyncResults, Semaphores: gevent's linkables).
import { checkOptions } from '../core/options';
import { ValueError } from '../core/errors';
import { Greenlet, KillOptions, type RawGreenlet } from './greenlet';
import { cancellable, startTimer, toMs } from './scope';

export interface JoinallOptions {
  /** Give up after this many seconds and return the greenlets done so far. */
  timeout?: number | null;
  /** Reject with the first exception (in completion order) as soon as a greenlet fails. */
  raiseError?: boolean;
  /** Return once this many greenlets have finished. */
  count?: number | null;
}

/** What gevent.wait takes besides greenlets: an Event, an AsyncResult, a
 * Semaphore... (anything with ready(), rawlink() and unlink()). */
export interface Waitable {
  ready(): boolean;
  rawlink(callback: (source: unknown) => void): void;
  unlink(callback: (source: unknown) => void): void;
}

type Item = Greenlet<unknown> | Waitable;

function isWaitable(item: unknown): item is Waitable {
  const w = item as Partial<Waitable> | null;
  return (
    typeof w === 'object' &&
    w !== null &&
    typeof w.ready === 'function' &&
    typeof w.rawlink === 'function' &&
    typeof w.unlink === 'function'
  );
}

function toList<T extends Item>(greenlets: Iterable<T>, what: string, greenletsOnly = false): T[] {
  if (
    greenlets === null ||
    typeof (greenlets as Iterable<unknown>)?.[Symbol.iterator] !== 'function'
  ) {
    throw new TypeError(`${what} needs an iterable of greenlets`);
  }
  // A greenlet listed twice is waited for once (gevent's joinall([a, b, a])).
  const list = [...new Set(greenlets)];
  for (const greenlet of list) {
    if (greenletsOnly && !(greenlet instanceof Greenlet)) {
      throw new TypeError(`${what} accepts greenlets only (from spawn()), got ${String(greenlet)}`);
    }
    if (!(greenlet instanceof Greenlet) && !isWaitable(greenlet)) {
      throw new TypeError(
        `${what} accepts greenlets (from spawn()) and objects with ready/rawlink/unlink ` +
          `(Event, AsyncResult, Semaphore), got ${String(greenlet)}`,
      );
    }
  }
  return list;
}

/** Calls `done(item)` once `item` has finished or is ready; returns how to stop. */
function watch<T extends Item>(item: T, done: (item: T) => void): () => void {
  if (item instanceof Greenlet) {
    item.onDone(done);
    return () => item.offDone(done);
  }
  const link = (): void => done(item);
  item.rawlink(link);
  return () => item.unlink(link);
}

/** The exception joinall({ raiseError }) rejects with, if `item` failed. */
function failure(item: Item): { error: unknown } | null {
  const outcome = item as { successful?: () => boolean; exception?: unknown };
  if (typeof outcome.successful !== 'function' || outcome.successful()) return null;
  return { error: outcome.exception };
}

function toCount(count: number | null | undefined, length: number): number {
  if (count === null || count === undefined) return length;
  if (!Number.isInteger(count) || count < 0) {
    throw new ValueError(`count must be an integer >= 0, got ${String(count)}`);
  }
  return Math.min(count, length);
}

/**
 * Waits for the greenlets (all, or `count` of them, or until `timeout`
 * seconds) and returns those that finished, in completion order. With
 * `raiseError`, rejects with the first failure's exception.
 */
export function joinall<G extends Item>(
  greenlets: Iterable<G>,
  options: JoinallOptions = {},
): Promise<G[]> {
  const list = toList(greenlets, 'joinall()');
  checkOptions(options, ['timeout', 'raiseError', 'count'], 'joinall');
  const count = toCount(options.count, list.length);
  const ms = toMs(options.timeout, 'joinall timeout');
  const raiseError = options.raiseError ?? false;
  const done: G[] = [];
  for (const greenlet of list) {
    if (raiseError && greenlet instanceof Greenlet) greenlet.markObserved();
    if (greenlet.ready() && done.length < count) {
      const failed = raiseError ? failure(greenlet) : null;
      if (failed) return Promise.reject(failed.error);
      done.push(greenlet);
    }
  }
  if (done.length >= count) return Promise.resolve(done);
  return cancellable<G[]>((resolve, reject) => {
    const pending = list.filter((greenlet) => !greenlet.ready());
    const onDone = (greenlet: G): void => {
      const failed = raiseError ? failure(greenlet) : null;
      if (failed) {
        reject(failed.error);
        return;
      }
      done.push(greenlet);
      if (done.length >= count) resolve(done);
    };
    const stops = pending.map((greenlet) => watch(greenlet, onDone));
    const cancelTimer = ms === null ? null : startTimer(() => resolve(done.slice()), ms);
    return () => {
      for (const stop of stops) stop();
      cancelTimer?.();
    };
  });
}

/** gevent.wait: joinall without raiseError; returns the finished greenlets
 * (and the Events, AsyncResults... that became ready). */
export function wait<G extends Item>(
  greenlets: Iterable<G>,
  options: { timeout?: number | null; count?: number | null } = {},
): Promise<G[]> {
  return joinall(greenlets, { timeout: options.timeout, count: options.count });
}

/**
 * Yields the greenlets as they finish (gevent.iwait), at most `count`, until
 * `timeout` seconds have passed since the call. (Not an async generator:
 * those would await each greenlet and yield its value instead. TypeScript
 * types a `for await` variable as the greenlet's value for the same reason:
 * it is the greenlet at run time; cast it, `g as Greenlet<T>`.)
 */
export function iwait<G extends Item>(
  greenlets: Iterable<G>,
  options: { timeout?: number | null; count?: number | null } = {},
): AsyncIterableIterator<G> {
  const list = toList(greenlets, 'iwait()');
  checkOptions(options, ['timeout', 'count'], 'iwait');
  const count = toCount(options.count, list.length);
  const ms = toMs(options.timeout, 'iwait timeout');
  const deadline = ms === null ? null : Date.now() + ms;
  const ready: G[] = [];
  let given = 0;
  let closed = false;
  let wake: (() => void) | null = null;
  const onDone = (greenlet: G): void => {
    ready.push(greenlet);
    wake?.();
  };
  const stops = list.map((greenlet) => watch(greenlet, onDone));
  const finish = (): IteratorResult<G, undefined> => {
    if (!closed) {
      closed = true;
      for (const stop of stops) stop();
    }
    return { done: true, value: undefined };
  };
  const iterator: AsyncIterableIterator<G> = {
    async next() {
      if (closed || given >= count) return finish();
      if (ready.length === 0) {
        const left = deadline === null ? null : deadline - Date.now();
        if (left !== null && left <= 0) return finish();
        const arrived = await cancellable<boolean>((resolve) => {
          wake = () => resolve(true);
          const cancelTimer = left === null ? null : startTimer(() => resolve(false), left);
          return () => {
            wake = null;
            cancelTimer?.();
          };
        });
        if (!arrived || closed) return finish();
      }
      given += 1;
      return { done: false, value: ready.shift()! };
    },
    async return() {
      return finish();
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/** Kills every greenlet (gevent.killall); by default waits until all have finished. */
export async function killall(
  greenlets: Iterable<Greenlet<unknown> | RawGreenlet>,
  options: KillOptions = {},
): Promise<void> {
  // A RawGreenlet is a Greenlet typed down (spawnRaw).
  const list = toList(greenlets as Iterable<Greenlet<unknown>>, 'killall()', true);
  const { block = true, timeout } = checkOptions(
    options,
    ['exception', 'block', 'timeout'],
    'killall',
  );
  for (const greenlet of list) void greenlet.kill({ ...options, block: false });
  if (block) await joinall(list, { timeout });
}
