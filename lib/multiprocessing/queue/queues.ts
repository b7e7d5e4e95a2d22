// multiprocessing.Queue, JoinableQueue and SimpleQueue, as Python builds
// them: one pipe, a reader lock (one reader at a time takes one whole
// message), a writer lock (a message goes in whole), and for Queue a
// bounded semaphore counting free slots (maxsize; qsize() derives from it).
// The locks are lib/synchronize's shared ones, so producers and consumers
// may be any mix of processes (fork or spawn) and threads.
//
// Python's Queue.put hands the object to a feeder thread and returns; here
// the feeder is an async loop on the event loop (Feeder below): put() takes a
// slot, queues the encoded item and returns; the feeder writes items in
// order under the writer lock, waiting for room in the pipe without
// blocking. A child flushes its feeders before it ends (as Python joins the
// feeder thread), unless cancelJoinThread() was called.
import { EOFError, Empty, Full, ValueError } from '../../core/errors';
import { deadline, FOREVER, parseTimeout, remaining } from '../../core/timeout';
import { serialize } from '../../transfer/serialize';
import { kShare, type Revivers, type ShareState } from '../../transfer/shareable';
import { BoundedSemaphore, Condition, Lock, Semaphore } from '../../synchronize';
import { RawArray } from '../../synchronize/sharedctypes';
import { Connection, nativePipe } from '../connection';
import {
  bodySize,
  header as frameHeader,
  headerFor,
  headerSize,
  writeHeader,
} from '../../transfer/framing';
import { decodeMessage, encodeFast, scratch } from '../../transfer/wire';
import { requireNative } from '../../core/native';
import { afterFork, beforeChildExit, Order } from '../../runtime/lifecycle';

const SEM_VALUE_MAX = 0x7fffffff;

export interface PutOptions {
  /** Wait for a free slot (default true). */
  block?: boolean;
  /** Seconds to wait at most; null = forever. */
  timeout?: number | null;
}

export type GetOptions = PutOptions;

function options(opts: PutOptions | boolean | undefined, timeout?: number | null): PutOptions {
  if (typeof opts === 'boolean') return { block: opts, timeout };
  return opts ?? {};
}

/** Seconds left before a deadline (lib/core/timeout), as Connection.poll
 * takes them: null for no limit. */
function left(deadlineMs: number): number | null {
  const t = remaining(deadlineMs);
  return t === FOREVER ? null : t;
}

interface FdWatch {
  start(): void;
  stop(): void;
  close(): void;
  unref(): void;
}

interface Channel {
  reader: Connection;
  writer: Connection;
  rlock: Lock;
  wlock: Lock;
  /** Bytes read from the pipe and not yet taken, shared by every reader. */
  shared: RawArray;
}

/** Size of the shared read buffer: one read(2) takes this many bytes. */
const SHARED_CAP = 16 * 1024;

function newChannel(): Channel {
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
function channelState(ch: Channel): Channel {
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
          const n: number = native.readInto(fd, big, this.#bigFilled, big.length - this.#bigFilled);
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
          const value = decodeMessage(len > 0 && frame[0] === 0xff ? Buffer.from(frame) : frame);
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
      const n: number = native.readInto(fd, this.#tmp, 0, SHARED_CAP - end);
      if (n < 0) return NONE;
      if (n === 0) throw eofError(avail > 0);
      this.#tmp.copy(buf, end, 0, n);
      pos[1] = end + n;
    }
  }
}

const NONE: unique symbol = Symbol('none');

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

/** Reads one message under the reader lock, waiting without blocking the loop. */
async function getAsync(ch: Channel, opts: GetOptions, what: string): Promise<unknown> {
  const block = opts.block ?? true;
  const timeout = parseTimeout(opts.timeout, what);
  const until = deadline(timeout);
  const got =
    ch.rlock.acquire(false) ||
    (block && timeout !== 0 && (await ch.rlock.acquireAsync({ blocking: true, timeout })));
  if (!got) throw new Empty();
  try {
    const r = readerOf(ch);
    for (;;) {
      const value = r.next();
      if (value !== NONE) return value;
      // A message begun is read whole whatever the timeout.
      const wait = r.big ? null : block ? left(until) : 0;
      if (wait === 0 || !(await ch.reader.pollAsync(wait))) throw new Empty();
    }
  } finally {
    ch.rlock.release();
  }
}

function getSync(ch: Channel, opts: GetOptions, what: string): unknown {
  const block = opts.block ?? true;
  const timeout = parseTimeout(opts.timeout, what);
  const until = deadline(timeout);
  if (!(block ? ch.rlock.acquire(true, timeout) : ch.rlock.acquire(false))) throw new Empty();
  try {
    const r = readerOf(ch);
    for (;;) {
      const value = r.next();
      if (value !== NONE) return value;
      const wait = r.big ? null : block ? left(until) : 0;
      if (wait !== 0) flushFeedersSync(); // this process's items may be the ones awaited
      if (wait === 0 || !ch.reader.poll(wait)) throw new Empty();
    }
  } finally {
    ch.rlock.release();
  }
}

/** Nothing to read now (approximate, as in Python). */
function isEmpty(ch: Channel): boolean {
  return !readerOf(ch).buffered() && !ch.reader.poll(0);
}

/** Feeders with items still to write (or a write under way). */
const active = new Set<Feeder>();

// A forked child's copy of a feeder holds the parent's items: the parent
// writes them, the copy forgets them.
afterFork("queue: feeders forget the parent's items", Order.multiprocessing, () => {
  for (const feeder of active) feeder.forget();
  active.clear();
});
beforeChildExit('queue: feeders write what they hold', Order.multiprocessing, () =>
  Promise.all([...active].filter((f) => f.joinAtExit).map((feeder) => feeder.drain())),
);

/** Small frames are copied into one buffer and go out in one write. */
const ACC_SIZE = 64 * 1024;
/** A body this large is written from its own buffer rather than copied. */
const OWN_SEGMENT = 8 * 1024;
/** Queued bytes that make put() write at once rather than at the next turn. */
const HIGH_WATER = 32 * 1024;
/** flushSync() naps on this while the pipe is full. */
const napTime = new Int32Array(new SharedArrayBuffer(4));

/** Before this thread blocks: writes what its feeders hold. */
function flushFeedersSync(): void {
  for (const feeder of active) feeder.flushSync();
}

/**
 * Python's feeder thread, on the event loop. put() appends the framed item
 * (lib/transfer/framing.ts) to a buffer; the first put of an event-loop turn writes at once
 * when the writer lock is free (low latency), later ones in the same turn
 * are batched and written together at the next turn (setImmediate) or when
 * HIGH_WATER bytes are queued: one lock round trip and one write(2) for many
 * items. The writer lock is held from the first byte of a batch to its
 * last, so items from several processes never interleave; when the pipe is
 * full or the lock is taken, the feeder waits on the event loop.
 */
class Feeder {
  joinAtExit = true;
  readonly #native = requireNative('Queue');
  // Sealed segments, oldest first, from #head on (#headOff bytes of the
  // first already written); then #acc[#accOff, #accLen), the newest bytes.
  #segs: Buffer[] = [];
  #head = 0;
  #headOff = 0;
  #acc: Buffer | null = null;
  #accOff = 0;
  #accLen = 0;
  #queued = 0; // bytes not yet written
  #running: Promise<void> | null = null;
  #holding = false; // this feeder holds the writer lock
  #turn: NodeJS.Immediate | null = null;
  #keepAlive: NodeJS.Timeout | null = null;
  #room: FdWatch | null = null;
  #onRoom: (() => void) | null = null;

  constructor(private readonly ch: Channel) {}

  /** Queues one item: `body` (its own buffer), or scratch[0, n) when body
   * is null (valid only until the next encodeFast: copied now). */
  push(body: Buffer | null, n: number): void {
    const size = body ? body.length : n;
    const header = headerFor(size);
    if (body && size >= OWN_SEGMENT) {
      this.#seal();
      this.#segs.push(frameHeader(size), body);
    } else {
      const need = header + size;
      let acc = this.#acc;
      if (!acc || acc.length - this.#accLen < need) {
        this.#seal();
        acc = this.#acc = Buffer.allocUnsafeSlow(Math.max(ACC_SIZE, need));
      }
      writeHeader(acc, this.#accLen, size);
      if (body) body.copy(acc, this.#accLen + header);
      else scratch.copy(acc, this.#accLen + header, 0, n);
      this.#accLen += need;
    }
    this.#queued += header + size;
    active.add(this);
    if (this.#running) return; // the running write takes it
    if (!this.#turn) {
      this.#turn = setImmediate(this.#onTurn);
      this.#flush();
    } else if (this.#queued >= HIGH_WATER) {
      this.#flush();
    }
  }

  #onTurn = (): void => {
    this.#turn = null;
    if (this.#queued > 0 && !this.#running) this.#flush();
  };

  /** Moves the accumulated bytes into #segs (a later large item or a fresh
   * accumulation buffer must come after them). */
  #seal(): void {
    const acc = this.#acc;
    if (!acc || this.#accLen === this.#accOff) {
      this.#accOff = this.#accLen = 0;
      return;
    }
    this.#segs.push(acc.subarray(this.#accOff, this.#accLen));
    this.#acc = null;
    this.#accOff = this.#accLen = 0;
  }

  /** Writes what the pipe takes; true when everything queued is written. */
  #writeOut(fd: number): boolean {
    const native = this.#native;
    const segs = this.#segs;
    while (this.#head < segs.length) {
      const seg = segs[this.#head];
      const n: number = native.writeSome(fd, seg, this.#headOff, seg.length - this.#headOff);
      if (n < 0) return false;
      this.#queued -= n;
      this.#headOff += n;
      if (this.#headOff === seg.length) {
        this.#head++;
        this.#headOff = 0;
      }
    }
    if (this.#head > 0) {
      segs.length = 0;
      this.#head = 0;
    }
    while (this.#accLen > this.#accOff) {
      const acc = this.#acc as Buffer;
      const n: number = native.writeSome(fd, acc, this.#accOff, this.#accLen - this.#accOff);
      if (n < 0) return false;
      this.#queued -= n;
      this.#accOff += n;
    }
    this.#accOff = this.#accLen = 0; // the accumulation buffer is reused
    return true;
  }

  /** Writes now if the writer lock is free and the pipe takes it all;
   * otherwise continues on the event loop. */
  #flush(): void {
    if (!this.ch.wlock.acquire(false)) {
      this.#start();
      return;
    }
    this.#holding = true;
    let done: boolean;
    try {
      done = this.#writeOut(this.ch.writer.fileno());
    } catch (err) {
      this.#unlock();
      this.#failed(err);
      return;
    }
    if (!done) {
      this.#start(); // the pipe is full mid-batch: the run keeps the lock
      return;
    }
    this.#unlock();
    this.#idle();
  }

  #unlock(): void {
    this.#holding = false;
    this.ch.wlock.release();
  }

  /**
   * Writes everything queued before this thread blocks (putSync() waiting
   * for a slot, getSync() waiting for an item): a blocked event loop cannot
   * run the feeder, and a batch it left half written (the writer lock held,
   * waiting for room) would stall every reader and writer of the queue.
   * Python's feeder thread runs on meanwhile; this does its work first.
   */
  flushSync(): void {
    if (this.#queued === 0 && !this.#holding) return;
    const { wlock, writer } = this.ch;
    if (!this.#holding) {
      wlock.acquire();
      this.#holding = true;
    }
    try {
      while (!this.#writeOut(writer.fileno())) Atomics.wait(napTime, 0, 0, 0.2);
    } finally {
      this.#unlock();
    }
    if (!this.#running) this.#idle();
  }

  #start(): void {
    if (!this.#keepAlive) {
      // A lock wait does not hold the event loop open by itself: this does,
      // so a process never ends with items unwritten.
      this.#keepAlive = setTimeout(() => {}, 0x7fffffff);
      if (!this.joinAtExit) this.#keepAlive.unref();
    }
    const run = this.#run().then(
      () => {
        if (this.#running !== run) return; // forgotten (forked copy)
        this.#running = null;
        // Items put after the run's last look (before this callback) go now.
        if (this.#queued > 0) this.#flush();
        else this.#idle();
      },
      (err) => {
        if (this.#running !== run) return;
        this.#running = null;
        this.#failed(err);
      },
    );
    this.#running = run;
  }

  async #run(): Promise<void> {
    const pid = process.pid;
    const { wlock, writer } = this.ch;
    while (this.#queued > 0) {
      if (!this.#holding) {
        // Retried on the event loop rather than awaited with acquireAsync: an
        // acquire completing in the background while this thread blocks in
        // putSync()/getSync() would leave the lock held by nobody running.
        for (let tries = 0; !wlock.acquire(false); tries++) {
          await new Promise<void>((resolve) => {
            if (tries < 4) setImmediate(resolve);
            else if (this.joinAtExit) setTimeout(resolve, 1);
            else setTimeout(resolve, 1).unref();
          });
          if (process.pid !== pid) return;
        }
        if (process.pid !== pid) return; // a forked copy: the items are the parent's
        this.#holding = true;
      }
      try {
        while (this.#holding && !this.#writeOut(writer.fileno())) {
          await this.#roomToWrite();
          if (process.pid !== pid) return;
        }
      } finally {
        // (flushSync may have finished the batch and let go meanwhile)
        if (this.#holding && process.pid === pid) this.#unlock();
      }
    }
  }

  #roomToWrite(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (!this.#room) {
        const room = new this.#native.FdWatch(
          this.ch.writer.fileno(),
          () => {
            room.stop();
            const wake = this.#onRoom;
            this.#onRoom = null;
            wake?.();
          },
          true,
        ) as FdWatch;
        if (!this.joinAtExit) room.unref();
        this.#room = room;
      }
      this.#onRoom = resolve;
      this.#room.start();
    });
  }

  /** Everything written: stop holding the loop. */
  #idle(): void {
    if (this.#queued > 0) return;
    if (this.#keepAlive) clearTimeout(this.#keepAlive);
    this.#keepAlive = null;
    this.#room?.close();
    this.#room = null;
    active.delete(this);
  }

  /** A write failed (the reading ends are all closed, or the queue was
   * closed): the queued items cannot be delivered. Python's feeder thread
   * reports the error and goes on; so does this one. */
  #failed(err: unknown): void {
    this.#drop();
    this.#idle();
    process.emitWarning(
      `a Queue's feeder could not write queued items, which are lost: ${
        err instanceof Error ? err.message : String(err)
      }`,
      { code: 'FORKFUL_QUEUE_FEEDER' },
    );
  }

  #drop(): void {
    this.#segs = [];
    this.#head = this.#headOff = 0;
    this.#accOff = this.#accLen = 0;
    this.#queued = 0;
  }

  /** Resolves when every queued item is written. */
  async drain(): Promise<void> {
    while (this.#queued > 0 || this.#running) {
      if (!this.#running) this.#flush();
      if (this.#running) await this.#running;
    }
  }

  cancelJoin(): void {
    this.joinAtExit = false;
    this.#keepAlive?.unref();
    this.#room?.unref();
  }

  forget(): void {
    this.#drop();
    this.#holding = false;
    this.#running = null;
    this.#turn = null;
    this.#keepAlive = null;
    this.#room?.close();
    this.#room = null;
    this.#onRoom = null;
  }
}

interface QueueState extends Channel {
  maxsize: number;
  sem: BoundedSemaphore;
}

/** Python's multiprocessing.Queue(maxsize=0). */
export class Queue {
  protected readonly _ch: Channel;
  readonly #maxsize: number;
  readonly #sem: BoundedSemaphore;
  #feeder: Feeder | null = null;
  #closed = false;

  constructor(maxsize = 0, revive?: QueueState) {
    if (revive) {
      this._ch = channelState(revive);
      this.#maxsize = revive.maxsize;
      this.#sem = revive.sem;
      return;
    }
    if (typeof maxsize !== 'number' || !Number.isInteger(maxsize)) {
      throw new TypeError('Queue: maxsize must be an integer');
    }
    this.#maxsize = maxsize <= 0 ? SEM_VALUE_MAX : maxsize;
    this._ch = newChannel();
    this.#sem = new BoundedSemaphore(this.#maxsize);
  }

  /** Puts obj, waiting (without blocking the event loop) for a free slot
   * when the queue is full; Full if none within timeout seconds (or at once
   * with block: false). put(obj, false) and put(obj, true, 2) also work. */
  async put(obj: unknown, opts?: PutOptions | boolean, timeout?: number | null): Promise<void> {
    const o = options(opts, timeout);
    this.#checkOpen();
    const block = o.block ?? true;
    const t = parseTimeout(o.timeout, 'Queue.put');
    // Encoded first: an item that cannot travel fails before a slot is taken.
    const n = encodeFast(obj);
    let body = n < 0 ? serialize(obj) : null;
    if (!this.#sem.acquire(false)) {
      if (!block || t === 0) throw new Full();
      body ??= Buffer.from(scratch.subarray(0, n)); // scratch is reused meanwhile
      if (!(await this.#sem.acquireAsync({ blocking: true, timeout: t }))) throw new Full();
    }
    this._beforeWrite();
    this.#feed(body, n);
  }

  /** put() that blocks. */
  putSync(obj: unknown, opts?: PutOptions | boolean, timeout?: number | null): void {
    const o = options(opts, timeout);
    this.#checkOpen();
    const block = o.block ?? true;
    const t = parseTimeout(o.timeout, 'Queue.putSync');
    const n = encodeFast(obj);
    const body = n < 0 ? serialize(obj) : null;
    if (!this.#sem.acquire(false)) {
      if (!block || t === 0) throw new Full();
      flushFeedersSync(); // readers may need what this process still holds
      if (!this.#sem.acquire(true, t)) throw new Full();
    }
    this._beforeWrite();
    this.#feed(body, n);
  }

  #feed(body: Buffer | null, n: number): void {
    this.#feeder ??= new Feeder(this._ch);
    this.#feeder.push(body, n);
  }

  /** put(obj, { block: false }), synchronous: Full at once when full. */
  putNowait(obj: unknown): void {
    this.putSync(obj, { block: false });
  }

  /** Takes the next item, waiting without blocking the event loop; Empty if
   * none within timeout seconds (or at once with block: false). */
  async get(opts?: GetOptions | boolean, timeout?: number | null): Promise<unknown> {
    this.#checkOpen();
    const value = await getAsync(this._ch, options(opts, timeout), 'Queue.get');
    this.#sem.release();
    return value;
  }

  /** get() that blocks. */
  getSync(opts?: GetOptions | boolean, timeout?: number | null): unknown {
    this.#checkOpen();
    const value = getSync(this._ch, options(opts, timeout), 'Queue.getSync');
    this.#sem.release();
    return value;
  }

  /** get(false), synchronous: Empty at once when nothing is there. */
  getNowait(): unknown {
    return this.getSync({ block: false });
  }

  /** Approximate number of items (Python's qsize()). */
  qsize(): number {
    return this.#maxsize - this.#sem.getValue();
  }

  /** True when nothing is ready to read now (approximate, as in Python). */
  empty(): boolean {
    this.#checkOpen();
    return isEmpty(this._ch);
  }

  /** True when maxsize items are in the queue (approximate). */
  full(): boolean {
    return this.#sem.getValue() === 0;
  }

  /** This process will put or get no more: closes its ends of the pipe
   * (the writing end once the feeder has written what it holds). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this._ch.reader.close();
    const writer = this._ch.writer;
    if (this.#feeder) {
      void this.#feeder.drain().finally(() => writer.close());
    } else {
      writer.close();
    }
  }

  /** Resolves when every item this process put is written to the pipe
   * (Python's join_thread(): waits for the feeder). */
  joinThread(): Promise<void> {
    return this.#feeder ? this.#feeder.drain() : Promise.resolve();
  }

  /** Python's cancel_join_thread(): this process may end with items still
   * unwritten (they are lost) instead of waiting for a reader. */
  cancelJoinThread(): void {
    this.#feeder ??= new Feeder(this._ch);
    this.#feeder.cancelJoin();
  }

  /** Lets the process exit while a get() waits. */
  unref(): this {
    this._ch.reader.unref();
    return this;
  }

  [kShare](): ShareState {
    this.#checkOpen();
    return { kind: 'forkful.Queue', state: this._state() };
  }

  protected _state(): Record<string, unknown> {
    return { ...channelState(this._ch), maxsize: this.#maxsize, sem: this.#sem };
  }

  /** Hook for JoinableQueue: runs after a slot is taken, before the write. */
  protected _beforeWrite(): void {}

  #checkOpen(): void {
    if (this.#closed) throw new ValueError('this Queue is closed in this process');
  }
}

interface JoinableState extends QueueState {
  cond: Condition;
  unfinished: Semaphore;
}

/** Queue with taskDone() and join(): join waits until every item put has
 * been marked done. */
export class JoinableQueue extends Queue {
  readonly #cond: Condition;
  readonly #unfinished: Semaphore;

  constructor(maxsize = 0, revive?: JoinableState) {
    super(maxsize, revive);
    if (revive) {
      this.#cond = revive.cond;
      this.#unfinished = revive.unfinished;
    } else {
      this.#cond = new Condition(new Lock());
      this.#unfinished = new Semaphore(0);
    }
  }

  protected override _beforeWrite(): void {
    // Counted before the item is readable, so a fast consumer's taskDone()
    // always finds it (Python counts before its feeder thread writes).
    this.#cond.acquire();
    try {
      this.#unfinished.release();
    } finally {
      this.#cond.release();
    }
  }

  /** Marks one item taken by get() as processed. */
  taskDone(): void {
    this.#cond.acquire();
    try {
      if (!this.#unfinished.acquire(false)) {
        throw new ValueError('taskDone() called too many times');
      }
      if (this.#unfinished.getValue() === 0) this.#cond.notifyAll();
    } finally {
      this.#cond.release();
    }
  }

  /** Resolves when every item put has been marked done. */
  async join(): Promise<void> {
    await this.#cond.acquireAsync();
    try {
      while (this.#unfinished.getValue() !== 0) await this.#cond.waitAsync();
    } finally {
      this.#cond.release();
    }
  }

  joinSync(): void {
    this.#cond.acquire();
    try {
      while (this.#unfinished.getValue() !== 0) this.#cond.wait();
    } finally {
      this.#cond.release();
    }
  }

  override [kShare](): ShareState {
    return {
      kind: 'forkful.JoinableQueue',
      state: {
        ...this._state(),
        cond: this.#cond,
        unfinished: this.#unfinished,
      },
    };
  }
}

/** Python's SimpleQueue: unbounded, no timeouts, put writes at once. */
export class SimpleQueue {
  readonly #ch: Channel;
  #closed = false;

  constructor(revive?: Channel) {
    this.#ch = revive ? channelState(revive) : newChannel();
  }

  async get(): Promise<unknown> {
    this.#checkOpen();
    return getAsync(this.#ch, {}, 'SimpleQueue.get');
  }

  getSync(): unknown {
    this.#checkOpen();
    return getSync(this.#ch, {}, 'SimpleQueue.getSync');
  }

  /** Writes obj now (blocks only while the pipe is full). */
  put(obj: unknown): void {
    this.#checkOpen();
    // send() encodes (plain data compactly) before it writes a byte.
    this.#ch.wlock.acquire();
    try {
      this.#ch.writer.send(obj);
    } finally {
      this.#ch.wlock.release();
    }
  }

  empty(): boolean {
    this.#checkOpen();
    return isEmpty(this.#ch);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ch.reader.close();
    this.#ch.writer.close();
  }

  [kShare](): ShareState {
    this.#checkOpen();
    return { kind: 'forkful.SimpleQueue', state: { ...this.#ch } };
  }

  #checkOpen(): void {
    if (this.#closed) throw new ValueError('SimpleQueue is closed');
  }
}

/** How this module's kinds are revived (installed by lib/shareables.ts). */
export const queueRevivers: Revivers = {
  'forkful.Queue': (s) => new Queue(0, s as QueueState),
  'forkful.JoinableQueue': (s) => new JoinableQueue(0, s as JoinableState),
  'forkful.SimpleQueue': (s) => new SimpleQueue(s as Channel),
};
