// multiprocessing.connection.wait: waits until any of several objects is
// ready and returns those that are: Connections (a message or end of file
// to read), Process sentinels (the process ended), plain fds and objects
// with a fileno() (readable). wait() blocks, as Python's; waitAsync() waits
// on the event loop. With the addon the blocking form is one poll(2) over
// every fd; what has no fd (the portable backend's pipes and sentinels, a
// sentinel on a kernel without pidfds) is checked in rounds that grow from
// 1 to 50 ms.
import { native } from '../core/native';
import type { FdWatch } from '../core/addon';
import { afterFork, Order } from '../runtime/lifecycle';
import { NotSupportedError, ValueError } from '../core/errors';
import { abortable, checkSignal, throwIfAborted, type SignalOption } from '../core/abort';
import { checkOptions } from '../core/options';
import { deadline, FOREVER, parseTimeout } from '../core/timeout';
import { blockingWaitMs, flushPendingWrites } from '../core/pending-writes';
import { isVirtualFd } from '../transfer/fd-transfer';
import { Connection } from './connection';
import { kLost, sentinelEnded, sentinelEntry, type SentinelEntry } from './sentinel';

/** What wait() takes: a Connection, a Process sentinel or another fd
 * number, or an object with a fileno() method (Python's file-like objects). */
export type Waitable = Connection | number | { fileno(): number };

type Item<T> =
  /** A Connection; fd: its real fd, null for a portable (virtual) one. */
  | { obj: T; kind: 'connection'; conn: Connection; fd: number | null }
  /** A real fd: a pidfd sentinel, a plain fd, a fileno(). */
  | { obj: T; kind: 'fd'; fd: number }
  /** A sentinel with no pollable fd of its own (see sentinel.ts). */
  | { obj: T; kind: 'sentinel'; entry: SentinelEntry };

const MAX_ROUND_MS = 50;

function classify<T extends Waitable>(objects: Iterable<T>, what: string): Item<T>[] {
  if (objects === null || typeof objects !== 'object' || !(Symbol.iterator in objects)) {
    throw new TypeError(`${what}: the first argument must be a list of objects to wait for`);
  }
  const items: Item<T>[] = [];
  const seen = new Set<T>();
  for (const obj of objects) {
    if (seen.has(obj)) continue; // listed twice, returned once
    seen.add(obj);
    if (obj instanceof Connection) {
      const fd = obj.fileno(); // OSError EBADF once closed
      items.push({ obj, kind: 'connection', conn: obj, fd: isVirtualFd(fd) ? null : fd });
      continue;
    }
    const fd = fdOf(obj, what);
    const entry = sentinelEntry(fd);
    if (entry && entry.kind !== 'pidfd') items.push({ obj, kind: 'sentinel', entry });
    else if (native && !isVirtualFd(fd)) items.push({ obj, kind: 'fd', fd });
    else {
      throw new NotSupportedError(
        `${what}: fd ${fd} is not a Connection or a Process sentinel, and waiting on other ` +
          `fds needs the native addon (this process runs without it): pass the Connection itself`,
      );
    }
  }
  return items;
}

function fdOf(obj: unknown, what: string): number {
  let fd: unknown = obj;
  if (
    typeof obj === 'object' &&
    obj !== null &&
    typeof (obj as { fileno?: unknown }).fileno === 'function'
  ) {
    fd = (obj as { fileno(): unknown }).fileno();
  } else if (typeof obj !== 'number') {
    throw new TypeError(
      `${what}: cannot wait for ${obj === null ? 'null' : typeof obj}: pass Connections, ` +
        `Process sentinels, fd numbers or objects with a fileno() method`,
    );
  }
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
    throw new ValueError(`${what}: invalid file descriptor: ${String(fd)}`);
  }
  return fd;
}

/** The ready objects now, in the order given (a blocking look of 0 s). */
function readyNow<T>(items: Item<T>[]): T[] {
  const ready = new Set<T>();
  const fds: number[] = [];
  const owners: T[] = [];
  for (const item of items) {
    if (item.kind === 'connection') {
      // poll(0): also sees messages already read into the Connection's buffer.
      if (item.conn.poll(0)) ready.add(item.obj);
    } else if (item.kind === 'sentinel') {
      if (sentinelEnded(item.entry)) ready.add(item.obj);
    } else {
      fds.push(item.fd);
      owners.push(item.obj);
    }
  }
  if (fds.length > 0) for (const i of native!.pollReadable(fds, 0)) ready.add(owners[i]);
  return items.filter((item) => ready.has(item.obj)).map((item) => item.obj);
}

/** The fds one poll(2) can wait on, when every item has one; else null. */
function allFds<T>(items: Item<T>[]): number[] | null {
  const fds: number[] = [];
  for (const item of items) {
    if (item.kind === 'sentinel' || (item.kind === 'connection' && item.fd === null)) return null;
    fds.push(item.fd!);
  }
  return fds;
}

function timeoutOf(timeout: number | null | undefined, what: string): number {
  return parseTimeout(timeout, what); // seconds >= 0 (negative reads as 0), or FOREVER
}

function msLeft(end: number): number {
  return end === FOREVER ? FOREVER : Math.max(0, end - performance.now());
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Python's multiprocessing.connection.wait(object_list, timeout=None):
 * blocks until at least one object is ready, or `timeout` seconds passed
 * (null: no limit; negative: 0), and returns the ready ones in the order
 * given ([] after the timeout). Ready: a Connection has a message or end of
 * file to read; a Process sentinel's process has ended; an fd (a number,
 * or an object's fileno()) is readable.
 */
export function wait<T extends Waitable>(
  objectList: Iterable<T>,
  timeout: number | null = null,
): T[] {
  const what = 'connection.wait';
  const items = classify(objectList, what);
  const end = deadline(timeoutOf(timeout, what));
  const fds = allFds(items);
  let round = 1;
  for (;;) {
    const ready = readyNow(items);
    const left = msLeft(end);
    if (ready.length > 0 || left === 0) return ready;
    if (fds && native) {
      // Everything has an fd: one poll(2) until something is ready.
      blockingWaitMs(
        left,
        (ms) => native!.pollReadable(fds, ms),
        (r) => r.length === 0,
      );
      continue;
    }
    // Something can only be looked at: wait on the fds there are for a
    // round, then look again.
    const slice = left === FOREVER ? round : Math.min(left, round);
    round = Math.min(round * 2, MAX_ROUND_MS);
    const some = items.flatMap((item) =>
      item.kind === 'fd' || (item.kind === 'connection' && item.fd !== null) ? [item.fd!] : [],
    );
    flushPendingWrites(); // (the rounds are short: one try each)
    if (native && some.length > 0) native.pollReadable(some, slice);
    else Atomics.wait(sleeper, 0, 0, slice);
  }
}

/**
 * wait() on the event loop: resolves with the ready objects, or [] after
 * `timeout` seconds, without blocking the thread. `{ signal }` cancels the
 * wait (AbortError).
 */
export async function waitAsync<T extends Waitable>(
  objectList: Iterable<T>,
  timeout: number | null = null,
  options?: SignalOption,
): Promise<T[]> {
  const what = 'connection.waitAsync';
  const signal = checkSignal(checkOptions(options, ['signal'], what).signal, what);
  const items = classify(objectList, what);
  const end = deadline(timeoutOf(timeout, what));
  throwIfAborted(signal, what);
  for (;;) {
    const ready = readyNow(items);
    const left = msLeft(end);
    if (ready.length > 0 || left === 0) return ready;
    await abortable(signal, what, ...nextEvent(items, left));
  }
}

/** A promise that settles at the first sign that an item may be ready
 * (or after `ms`), and the function that stops every watch it started. */
function nextEvent<T>(items: Item<T>[], ms: number): [Promise<void>, () => void] {
  const stops: Array<() => void> = [];
  const stop = () => {
    for (const s of stops.splice(0)) s();
  };
  let fire = () => {};
  const event = new Promise<void>((resolve) => {
    fire = () => {
      stop();
      resolve();
    };
  });
  try {
    for (const item of items) {
      if (item.kind === 'connection') {
        const inner = new AbortController();
        // A failure (the Connection closed meanwhile) shows in the next look.
        item.conn.pollAsync(null, { signal: inner.signal }).then(fire, fire);
        stops.push(() => inner.abort());
      } else if (item.kind === 'fd') {
        stops.push(watchReadable(item.fd, fire));
      } else {
        const owner = item.entry.owner.deref();
        if (!owner) {
          queueMicrotask(fire);
          continue;
        }
        owner.once('exit', fire);
        owner.once(kLost, fire); // the next look raises why
        stops.push(() => {
          owner.removeListener('exit', fire);
          owner.removeListener(kLost, fire);
        });
      }
    }
  } catch (err) {
    stop(); // an fd libuv cannot watch: undo the watches already started
    throw err;
  }
  if (ms !== FOREVER) {
    const timer = setTimeout(fire, ms);
    stops.push(() => clearTimeout(timer));
  } else if (items.some((item) => item.kind === 'sentinel')) {
    // A daemonic child's exit watch does not keep the loop alive; the wait does.
    const keepAlive = setInterval(() => {}, 2 ** 30);
    stops.push(() => clearInterval(keepAlive));
  }
  return [event, stop];
}

/** One libuv watch per fd, shared by the waitAsync calls on it (libuv
 * takes one watch per fd: a second one on the same fd is EEXIST). */
const fdWatches = new Map<number, { watch: FdWatch; listeners: Set<() => void> }>();

// The watches belong to the parent's waits: a forked child drops them.
// prettier-ignore
afterFork('connection.wait: drop the parent\'s fd watches', Order.multiprocessing, (function dropFdWatches() {
  for (const { watch } of fdWatches.values()) watch.close();
  fdWatches.clear();
}));

/** Calls `listener` while `fd` is readable; returns the function that stops. */
function watchReadable(fd: number, listener: () => void): () => void {
  let shared = fdWatches.get(fd);
  if (!shared) {
    const listeners = new Set<() => void>();
    const watch = new native!.FdWatch(fd, () => {
      for (const l of [...listeners]) l();
    });
    watch.start();
    shared = { watch, listeners };
    fdWatches.set(fd, shared);
  }
  const { watch, listeners } = shared;
  listeners.add(listener);
  return () => {
    if (!listeners.delete(listener) || listeners.size > 0) return;
    watch.close();
    if (fdWatches.get(fd)?.watch === watch) fdWatches.delete(fd);
  };
}
