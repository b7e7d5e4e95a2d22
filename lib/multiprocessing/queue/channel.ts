// A Queue's channel: one pipe, a reader lock (one reader at a time takes one
// whole message), a writer lock (a message goes in whole) and a read buffer
// in shared memory; and the reading side: the shared reader and the two
// drivers of a get (awaiting, blocking) around its one step, SharedReader.next().
// The locks and the buffer are lib/synchronize's shared ones, so readers
// may be any mix of processes (fork or spawn) and threads.
import { checkSignal, throwIfAborted } from '../../core/abort';
import { EOFError, Empty } from '../../core/errors';
import { checkOptions } from '../../core/options';
import { requireNative } from '../../core/native';
import { deadline, FOREVER, parseTimeout, remaining } from '../../core/timeout';
import { Lock } from '../../synchronize';
import { RawArray } from '../../synchronize/sharedctypes';
import { bodySize, headerSize } from '../../transfer/framing';
import { decodeMessage } from '../../transfer/wire';
import { Connection, nativePipe } from '../connection';

export interface GetOptions {
  /** Wait for an item (default true). */
  block?: boolean;
  /** Seconds to wait at most; null = forever. */
  timeout?: number | null;
  /** get()/put() only (not the Sync forms): cancels the wait (AbortError). */
  signal?: AbortSignal | null;
}

const ASYNC_OPTIONS = ['block', 'timeout', 'signal'] as const;
const SYNC_OPTIONS = ['block', 'timeout'] as const;

/** Checks a get/put's options: `signal` only where the call awaits. */
export function checkGetOptions(opts: GetOptions, what: string, async: boolean): GetOptions {
  checkOptions(opts, async ? ASYNC_OPTIONS : SYNC_OPTIONS, what);
  checkSignal(opts.signal, what);
  return opts;
}

/** Seconds left before a deadline (lib/core/timeout), as Connection.poll
 * takes them: null for no limit. */
function left(deadlineMs: number): number | null {
  const t = remaining(deadlineMs);
  return t === FOREVER ? null : t;
}

export interface Channel {
  reader: Connection;
  writer: Connection;
  rlock: Lock;
  wlock: Lock;
  /** Bytes read from the pipe and not yet taken, shared by every reader. */
  shared: RawArray;
}

/** Size of the shared read buffer: one read(2) takes this many bytes. */
const SHARED_CAP = 16 * 1024;

export function newChannel(): Channel {
  const [r, w] = nativePipe();
  return {
    reader: new Connection(r, { writable: false, exact: true }),
    writer: new Connection(w, { readable: false }),
    rlock: new Lock(),
    wlock: new Lock(),
    shared: new RawArray('B', 8 + SHARED_CAP),
  };
}

/** What crosses to another process (the local views stay here). */
export function channelState(ch: Channel): Channel {
  return {
    reader: ch.reader,
    writer: ch.writer,
    rlock: ch.rlock,
    wlock: ch.wlock,
    shared: ch.shared,
  };
}

/**
 * The reading side. Several processes read the pipe in turn, so no reader
 * may keep bytes to itself: whoever holds the reader lock reads as much as
 * the pipe has (up to SHARED_CAP) into a buffer in shared memory, takes its
 * one message from there and leaves the rest for the next holder, of any
 * process. A stream of small messages then costs one read(2) per many
 * messages instead of two per message. A message larger than the buffer is
 * read straight into its own buffer, and the reader lock is kept until it is
 * whole (as Python reads a message whole once it has begun, whatever the
 * timeout).
 */
class SharedReader {
  readonly #ch: Channel;
  readonly #native = requireNative('Queue');
  readonly #pos: Int32Array; // [start, end) of the unread bytes in #buf
  readonly #buf: Buffer;
  readonly #tmp = Buffer.allocUnsafeSlow(SHARED_CAP);
  /** A message too large for the shared buffer, being read (lock held). */
  big: Buffer | null = null;
  #bigFilled = 0;

  constructor(ch: Channel) {
    this.#ch = ch;
    const v = ch.shared.view;
    this.#pos = new Int32Array(v.buffer, v.byteOffset, 2);
    this.#buf = Buffer.from(v.buffer, v.byteOffset + 8, SHARED_CAP);
  }

  /** Bytes waiting in the shared buffer (approximate without the lock). */
  buffered(): boolean {
    return this.#pos[1] > this.#pos[0];
  }

  /** With the reader lock held: the next message, or NONE when the pipe
   * has no more bytes now. EOFError once every writer is gone. */
  next(): unknown {
    const native = this.#native;
    const fd = this.#ch.reader.fileno();
    const pos = this.#pos;
    const buf = this.#buf;
    for (;;) {
      if (this.big) {
        const big = this.big;
        while (this.#bigFilled < big.length) {
          const n = native.readInto(fd, big, this.#bigFilled, big.length - this.#bigFilled);
          if (n < 0) return NONE;
          if (n === 0) throw eofError(true);
          this.#bigFilled += n;
        }
        this.big = null;
        return decodeMessage(big);
      }
      let start = pos[0];
      let end = pos[1];
      const avail = end - start;
      const header = headerSize(buf, start, avail);
      if (header > 0) {
        const len = bodySize(buf, start, header);
        if (avail - header >= len) {
          const frame = buf.subarray(start + header, start + header + len);
          // v8's deserializer gets a private copy, not shared memory.
          const value =
            len === 0 ? WAKE : decodeMessage(frame[0] === 0xff ? Buffer.from(frame) : frame);
          start += header + len;
          if (start === end) start = end = 0;
          pos[0] = start;
          pos[1] = end;
          return value;
        }
        if (header + len > SHARED_CAP) {
          const big = Buffer.allocUnsafe(len);
          buf.copy(big, 0, start + header, end);
          this.big = big;
          this.#bigFilled = avail - header;
          pos[0] = pos[1] = 0;
          continue;
        }
      }
      // An incomplete message: move it to the front, then read more.
      if (start > 0) {
        buf.copy(buf, 0, start, end);
        start = 0;
        end = avail;
        pos[0] = 0;
        pos[1] = end;
      }
      // (read(2) into a private buffer: the addon takes no shared memory)
      const n = native.readInto(fd, this.#tmp, 0, SHARED_CAP - end);
      if (n < 0) return NONE;
      if (n === 0) throw eofError(avail > 0);
      this.#tmp.copy(buf, end, 0, n);
      pos[1] = end + n;
    }
  }
}

const NONE: unique symbol = Symbol('none');
/** An empty frame, which no put writes: Queue.shutdown() writes one to wake
 * the reader waiting on the pipe, which then asks `onDry` again. */
const WAKE: unique symbol = Symbol('wake');

function eofError(partial: boolean): EOFError {
  return new EOFError(
    partial
      ? 'the queue was closed by every writer in the middle of a message'
      : 'every process that could put on this queue has closed it',
  );
}

const readers = new WeakMap<Channel, SharedReader>();

function readerOf(ch: Channel): SharedReader {
  let r = readers.get(ch);
  if (!r) {
    r = new SharedReader(ch);
    readers.set(ch, r);
  }
  return r;
}

/** Reads one message under the reader lock, waiting without blocking the
 * loop. `onDry` runs whenever nothing is readable now, before any wait (a
 * shut-down Queue throws ShutDown from it). */
export async function getAsync(
  ch: Channel,
  opts: GetOptions,
  what: string,
  onDry?: () => void,
): Promise<unknown> {
  checkGetOptions(opts, what, true);
  const block = opts.block ?? true;
  const timeout = parseTimeout(opts.timeout, what);
  const signal = opts.signal ?? null;
  throwIfAborted(signal, what);
  const until = deadline(timeout);
  const got =
    ch.rlock.acquire(false) ||
    (block && timeout !== 0 && (await ch.rlock.acquireAsync({ blocking: true, timeout, signal })));
  if (!got) throw new Empty();
  try {
    const r = readerOf(ch);
    for (;;) {
      const value = r.next();
      if (value === WAKE) continue;
      if (value !== NONE) return value;
      if (!r.big) onDry?.();
      // A message begun is read whole whatever the timeout or the signal
      // (the next reader, maybe in another process, must find a boundary).
      const wait = r.big ? null : block ? left(until) : 0;
      if (wait === 0) throw new Empty();
      const ready = await ch.reader.pollAsync(wait, r.big ? undefined : { signal });
      if (!ready) throw new Empty();
    }
  } finally {
    ch.rlock.release();
  }
}

/** Blocking get. `beforeBlocking` runs before each wait: the caller's
 * feeders write what this process holds (its items may be the ones awaited);
 * `onDry` as in getAsync. */
export function getSync(
  ch: Channel,
  opts: GetOptions,
  what: string,
  beforeBlocking: () => void,
  onDry?: () => void,
): unknown {
  checkGetOptions(opts, what, false);
  const block = opts.block ?? true;
  const timeout = parseTimeout(opts.timeout, what);
  const until = deadline(timeout);
  if (!(block ? ch.rlock.acquire(true, timeout) : ch.rlock.acquire(false))) throw new Empty();
  try {
    const r = readerOf(ch);
    for (;;) {
      const value = r.next();
      if (value === WAKE) continue;
      if (value !== NONE) return value;
      if (!r.big) onDry?.();
      const wait = r.big ? null : block ? left(until) : 0;
      if (wait !== 0) beforeBlocking();
      if (wait === 0 || !ch.reader.poll(wait)) throw new Empty();
    }
  } finally {
    ch.rlock.release();
  }
}

/** Nothing to read now (approximate, as in Python). */
export function isEmpty(ch: Channel): boolean {
  return !readerOf(ch).buffered() && !ch.reader.poll(0);
}
