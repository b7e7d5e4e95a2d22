// A Queue's channel: one pipe, a reader lock (one reader at a time takes one
// whole message), a writer lock (a message goes in whole) and a read buffer
// in shared memory; and the reading side: the shared reader and the two
// drivers of a get (awaiting, blocking) around its one step, SharedReader.next().
// The locks and the buffer are lib/synchronize's shared ones, so readers
// may be any mix of processes (fork or spawn) and threads.
import { checkSignal, throwIfAborted } from '../../core/abort';
import { EOFError, Empty, ItemLostError } from '../../core/errors';
import { checkOptions } from '../../core/options';
import { requireNative } from '../../core/native';
import { deadline, FOREVER, parseTimeout, remaining } from '../../core/timeout';
import { Lock } from '../../synchronize';
import { RawArray } from '../../synchronize/sharedctypes';
import { bodySize, headerSize } from '../../transfer/framing';
import { decodeMessage } from '../../transfer/wire';
import { Connection, nativePipe } from '../connection';
import { ReceiveSlabs } from '../receive-memory';

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

// The shared block: HEAD bytes of state (Int32 words), then the buffer.
/** Words: [START, END) of the unread bytes in the buffer. */
const START = 0;
const END = 1;
/** Word: where the pipe stands in a message larger than the buffer. */
const FRAME = 2;
/** Words: the bytes of that message still in the pipe (high, low 32 bits). */
const LEFT_HIGH = 3;
const LEFT_LOW = 4;
/** Word: a read(2) under way (PEND_END or PEND_LEFT), and the words it
 * sets once its bytes are taken: END's new value, or LEFT's (two words). */
const PENDING = 5;
const PENDING_END = 6;
const PENDING_LEFT_HIGH = 7;
const PENDING_LEFT_LOW = 8;
/** Word: 1 while a writer is in the middle of a batch: set by the writer
 * lock's holder before its first byte, cleared after its last (a live
 * writer holds the lock from one to the other). Found set by whoever takes
 * the lock, it says the holder died in the middle of it: the bytes it wrote
 * end the stream in a torn message, which a reader must drop before anyone
 * writes again (writers wait, see the feeder). */
const WRITING = 9;
const HEAD = 40;

/** PENDING values: the read goes into the shared buffer at END. */
const PEND_END = 1;
/** The read takes bytes of a large message (LEFT counts them). */
const PEND_LEFT = 2;

/** FRAME values. At a message boundary (or inside the buffered bytes). */
const AT_BOUNDARY = 0;
/** The lock holder is reading a large message into its own memory. */
const TAKING = 1;
/** The rest of a large message whose reader died is being discarded. */
const SKIPPING = 2;

export function newChannel(): Channel {
  const [r, w] = nativePipe();
  return {
    reader: new Connection(r, { writable: false, exact: true }),
    writer: new Connection(w, { readable: false }),
    rlock: new Lock(),
    wlock: new Lock(),
    shared: new RawArray('B', HEAD + SHARED_CAP),
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

const stateWords = new WeakMap<Channel, Int32Array>();

function stateOf(ch: Channel): Int32Array {
  let st = stateWords.get(ch);
  if (!st) {
    const v = ch.shared.view;
    st = new Int32Array(v.buffer, v.byteOffset, HEAD / 4);
    stateWords.set(ch, st);
  }
  return st;
}

/** With the writer lock just taken: false when its last holder died in the
 * middle of a batch (the stream ends in a torn message a reader has not
 * dropped yet: nothing may be written after it); else the batch is begun. */
export function beginBatch(ch: Channel): boolean {
  const st = stateOf(ch);
  if (Atomics.load(st, WRITING) !== 0) return false;
  Atomics.store(st, WRITING, 1);
  return true;
}

/** With the writer lock held: the batch's last byte is written. */
export function endBatch(ch: Channel): void {
  Atomics.store(stateOf(ch), WRITING, 0);
}

/** How often a reader waiting for more of a message looks whether the
 * writer in the middle of it still lives (seconds). */
const WRITER_CHECK = 0.2;

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
 *
 * That one private read is where a reader can die with the stream's
 * position: so the shared block also says that a large message is being
 * taken (FRAME) and how many of its bytes are still in the pipe. The lock
 * holder who finds a message being taken that is not its own knows its
 * reader died (a killed holder's lock passes on): it reports the item lost
 * (ItemLostError) and the next gets discard the rest of it, in any process
 * and within their timeouts, before reading on.
 *
 * A reader can also die inside read(2), the bytes taken and their count
 * lost with it (a kill is delivered when the call returns). So every read
 * asks for at most what the pipe holds (FIONREAD: it then takes exactly
 * that many, since only the lock holder reads) and first writes in shared
 * memory what the state will be once they are taken (PENDING): the next
 * holder completes a read it finds announced (settle()). Small reads go
 * straight into the shared buffer, so their bytes survive the reader. What
 * is left: a reader killed between the announcement and the system call
 * (a few instructions) makes the next one count bytes that are still there.
 */
let skipped: Buffer | null = null;

/** Where the rest of a lost item is read to be dropped: one buffer for the
 * thread, made on first use (only the reader lock's holder reads, and a
 * skip is rare: a buffer per queue was 16 KiB of malloc'd memory each). */
function skipScratch(): Buffer {
  return (skipped ??= Buffer.allocUnsafeSlow(SHARED_CAP));
}

class SharedReader {
  readonly #ch: Channel;
  readonly #native = requireNative('Queue');
  // Large items' memory (huge pages: see receive-memory.ts).
  readonly #memory = new ReceiveSlabs(this.#native);
  readonly #state: Int32Array; // the HEAD words
  readonly #buf: Buffer;
  /** A message too large for the shared buffer, being read (lock held). */
  big: Buffer | null = null;
  #bigFilled = 0;

  constructor(ch: Channel) {
    this.#ch = ch;
    const v = ch.shared.view;
    this.#state = new Int32Array(v.buffer, v.byteOffset, HEAD / 4);
    this.#buf = Buffer.from(v.buffer, v.byteOffset + HEAD, SHARED_CAP);
  }

  /** Bytes waiting in the shared buffer (approximate without the lock). */
  buffered(): boolean {
    return this.#state[END] > this.#state[START];
  }

  #left(): number {
    return (this.#state[LEFT_HIGH] >>> 0) * 2 ** 32 + (this.#state[LEFT_LOW] >>> 0);
  }

  #setLeft(n: number, at = LEFT_HIGH): void {
    this.#state[at] = Math.floor(n / 2 ** 32);
    this.#state[at + 1] = n % 2 ** 32;
  }

  /** A read its reader did not live to count: done now, as announced. */
  #settle(): void {
    const st = this.#state;
    if (st[PENDING] === PEND_END) st[END] = st[PENDING_END];
    else if (st[PENDING] === PEND_LEFT) {
      st[LEFT_HIGH] = st[PENDING_LEFT_HIGH];
      st[LEFT_LOW] = st[PENDING_LEFT_LOW];
    }
    st[PENDING] = 0;
  }

  /**
   * One announced read(2) (see the class comment) of at most `max` bytes
   * into `into` at `at`: PEND_END reads into the shared buffer at END,
   * PEND_LEFT reads bytes of a large message. The bytes read; 0 at end of
   * file; -1 when nothing is there now.
   */
  #read(into: Uint8Array, at: number, max: number, pend: number): number {
    const native = this.#native;
    const st = this.#state;
    const fd = this.#ch.reader.fileno();
    const waiting = native.pipeBytes(fd);
    if (waiting === 0) {
      // Readable with nothing in it: every writer is gone.
      return native.waitReadable(fd, 0) && native.pipeBytes(fd) === 0 ? 0 : -1;
    }
    const k = Math.min(waiting, max);
    const left = pend === PEND_LEFT ? this.#left() : 0;
    if (pend === PEND_END) st[PENDING_END] = at + k;
    else this.#setLeft(left - k, PENDING_LEFT_HIGH);
    st[PENDING] = pend;
    let n: number;
    try {
      n = native.readInto(fd, into, at, k);
    } catch (err) {
      st[PENDING] = 0; // nothing was taken
      throw err;
    }
    if (n < 0) n = 0; // (cannot happen: k bytes were there)
    if (pend === PEND_END) st[END] = at + n;
    else this.#setLeft(left - n);
    st[PENDING] = 0;
    return n;
  }

  /** With the reader lock held: the next message, or NONE when the pipe
   * has no more bytes now. EOFError once every writer is gone;
   * ItemLostError when a reader died in the middle of a large message. */
  next(): unknown {
    const st = this.#state;
    const buf = this.#buf;
    if (st[PENDING] !== 0) this.#settle();
    for (;;) {
      if (this.big) {
        const big = this.big;
        while (this.#bigFilled < big.length) {
          const n = this.#read(big, this.#bigFilled, big.length - this.#bigFilled, PEND_LEFT);
          if (n < 0) return NONE;
          if (n === 0) throw eofError(true);
          this.#bigFilled += n;
        }
        st[FRAME] = AT_BOUNDARY;
        this.big = null;
        return decodeMessage(big);
      }
      if (st[FRAME] === TAKING) {
        // Not this reader's message: its reader is gone. What the buffer
        // holds is that message's beginning.
        st[START] = st[END] = 0;
        st[FRAME] = SKIPPING;
        throw new ItemLostError(
          `an item of this queue was lost: the reader taking it (another process or thread) ` +
            `died in the middle of it (${this.#left()} of its bytes were still to come); the ` +
            `queue skips them and goes on with the next item`,
        );
      }
      if (st[FRAME] === SKIPPING) {
        if (this.#left() > 0) {
          const n = this.#read(skipScratch(), 0, Math.min(this.#left(), SHARED_CAP), PEND_LEFT);
          if (n < 0) return NONE;
          if (n === 0) throw eofError(true);
        }
        if (this.#left() === 0) st[FRAME] = AT_BOUNDARY;
        continue;
      }
      let start = st[START];
      let end = st[END];
      const avail = end - start;
      const header = headerSize(buf, start, avail);
      if (header > 0) {
        const len = bodySize(buf, start, header);
        if (avail - header >= len) {
          const frame = buf.subarray(start + header, start + header + len);
          // Not the message's own memory: what the value keeps is copied.
          const value = len === 0 ? WAKE : decodeMessage(frame, true, false);
          start += header + len;
          if (start === end) start = end = 0;
          st[START] = start;
          st[END] = end;
          return value;
        }
        if (header + len > SHARED_CAP) {
          const big = this.#memory.take(len);
          buf.copy(big, 0, start + header, end);
          this.#bigFilled = avail - header;
          // Said in shared memory before the buffered beginning is dropped.
          this.#setLeft(len - this.#bigFilled);
          st[FRAME] = TAKING;
          st[START] = st[END] = 0;
          this.big = big;
          continue;
        }
      }
      // An incomplete message: move it to the front, then read more.
      if (start > 0) {
        buf.copy(buf, 0, start, end);
        start = 0;
        end = avail;
        st[START] = 0;
        st[END] = end;
      }
      const n = this.#read(buf, end, SHARED_CAP - end, PEND_END);
      if (n < 0) return NONE;
      if (n === 0) throw eofError(avail > 0);
    }
  }

  /** A writer is in the middle of a batch (maybe a dead one). */
  writing(): boolean {
    return Atomics.load(this.#state, WRITING) !== 0;
  }

  /**
   * With the reader lock and the writer lock held, nothing left in the
   * pipe: if the writer lock's last holder died in the middle of a batch,
   * the stream ends here, in the middle of a message when one was begun.
   * The batch is closed (writers go on) and a begun message is dropped:
   * ItemLostError. Else nothing.
   */
  checkTornWrite(): void {
    const st = this.#state;
    if (Atomics.load(st, WRITING) === 0) return;
    if (this.#native.pipeBytes(this.#ch.reader.fileno()) > 0) return; // read on first
    const begun = this.big !== null || st[END] > st[START] || st[FRAME] !== AT_BOUNDARY;
    const had = this.big ? this.#bigFilled : st[END] - st[START];
    this.big = null;
    st[START] = st[END] = 0;
    st[FRAME] = AT_BOUNDARY;
    this.#setLeft(0);
    Atomics.store(st, WRITING, 0);
    if (begun) {
      throw new ItemLostError(
        `an item of this queue was lost: the writer putting it (another process or thread) ` +
          `died in the middle of it (${had} of its bytes had arrived); the queue goes on ` +
          `with the next item`,
      );
    }
  }

  /** The reader lock is let go: a large message this reader had begun is
   * no longer its own (the next holder reports it lost). */
  letGo(): void {
    this.big = null;
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
  const r = readerOf(ch);
  const got =
    ch.rlock.acquire(false) ||
    (block && timeout !== 0 && (await ch.rlock.acquireAsync({ blocking: true, timeout, signal })));
  if (!got) throw new Empty();
  try {
    for (;;) {
      const value = r.next();
      if (value === WAKE) continue;
      if (value !== NONE) return value;
      if (!r.big) onDry?.();
      // A message begun is read whole whatever the timeout or the signal
      // (the next reader, maybe in another process, must find a boundary),
      // unless its writer died: looked at every WRITER_CHECK meanwhile.
      const wait = r.big ? null : block ? left(until) : 0;
      if (wait === 0) throw new Empty();
      const slice = r.writing() ? Math.min(wait ?? WRITER_CHECK, WRITER_CHECK) : wait;
      const ready = await ch.reader.pollAsync(slice, r.big ? undefined : { signal });
      if (ready) continue;
      if (slice === wait) throw new Empty();
      // Taken now or not at all: an acquireAsync() could complete in the
      // background while this thread blocks in putSync() on this queue,
      // whose flush would then wait for a lock its own thread holds.
      if (ch.wlock._tryAcquireOrRecover()) {
        try {
          r.checkTornWrite();
        } finally {
          ch.wlock.release();
        }
      }
    }
  } finally {
    r.letGo();
    ch.rlock.release();
  }
}

/** Blocking get. The wait is the reader's poll(), which, like every
 * blocking wait of forkful, writes this thread's pending Queue items first
 * and between its slices (lib/core/pending-writes.ts): they may be the ones
 * awaited. `onDry` as in getAsync. */
export function getSync(ch: Channel, opts: GetOptions, what: string, onDry?: () => void): unknown {
  checkGetOptions(opts, what, false);
  const block = opts.block ?? true;
  const timeout = parseTimeout(opts.timeout, what);
  const until = deadline(timeout);
  const r = readerOf(ch);
  if (!(block ? ch.rlock.acquire(true, timeout) : ch.rlock.acquire(false))) throw new Empty();
  try {
    for (;;) {
      const value = r.next();
      if (value === WAKE) continue;
      if (value !== NONE) return value;
      if (!r.big) onDry?.();
      const wait = r.big ? null : block ? left(until) : 0;
      if (wait === 0) throw new Empty();
      // Wait in short slices while a writer is in the middle of an item (it
      // may have died there).
      let slice = wait;
      if (r.writing() && (slice === null || slice > WRITER_CHECK)) slice = WRITER_CHECK;
      if (ch.reader.poll(slice)) continue;
      if (slice === wait) throw new Empty();
      if (r.writing() && ch.wlock._tryAcquireOrRecover()) {
        try {
          r.checkTornWrite();
        } finally {
          ch.wlock.release();
        }
      }
    }
  } finally {
    r.letGo();
    ch.rlock.release();
  }
}

/** Nothing to read now (approximate, as in Python). After
 * releaseChannel(), only the pipe is looked at. */
export function isEmpty(ch: Channel): boolean {
  const buffered = !released.has(ch) && readerOf(ch).buffered();
  return !buffered && !ch.reader.poll(0);
}

/** Channels whose blocks this process gave back (releaseChannel). */
const released = new WeakSet<Channel>();

/**
 * Gives back now this object's holds on the channel's locks and shared
 * buffer (and drops the reader's private buffer), instead of when the
 * object is collected: for a closed queue with nothing in flight. The
 * blocks themselves are freed only when no thread of any process holds
 * them: each forked child took its own reference at the fork, and each
 * object revived from a handle holds its own. A handle sent from this
 * process may still be on its way to a receiver that has not taken its
 * reference yet, so the caller keeps the holds of a channel it sent (they
 * go when it is collected, as the arena's rule says). The caller must not
 * touch the locks or the buffer afterwards.
 */
export function releaseChannel(ch: Channel): void {
  if (released.has(ch)) return;
  released.add(ch);
  readers.delete(ch);
  ch.rlock._block.release();
  ch.wlock._block.release();
  ch.shared._block.release();
}
