// multiprocessing.Pipe and Connection: messages over real file descriptors
// (a socketpair for a duplex pipe, a pipe for a one-way one), framed by
// lib/transfer/framing.ts; objects are encoded by lib/transfer/wire.ts
// (plain data) or serialize.ts (structured clone plus forkful's shareable
// objects by handle). send() blocks until written, as in Python; recv()
// waits on the event loop through a uv_poll watch; recvSync() blocks. Reads
// take what is there in large chunks and split messages in JS, so a stream
// of small messages costs one read per many messages.
//
// One subject past 400 lines: the Connection class. Its sends and receives
// share one fd, one read buffer, the read and write watches and the queue
// of waiters, and every receive (recv, recvSync, recvBytes*, the pollAsync
// waiters) drives the one non-blocking read step, #take().
//
// Received messages of LEND_MIN bytes or more are handed out as views of
// the read buffer, not copies: fresh memory is what receiving costs (see
// receive-memory.ts). A buffer that lent a view is never written again
// there (no compaction); a full one is left to its views, and from the
// first lent view on, the new ones are slabs of huge pages. A kept view
// keeps its buffer (up to 4 MiB) alive, as Node's pooled Buffers keep
// their pool. A stream of small messages reuses one plain buffer.
import { constants as osConstants } from 'node:os';
import { afterFork, Order } from '../runtime/lifecycle';
import { isVirtualFd, receivedFd, receivingFds, transferFd } from '../transfer/fd-transfer';
import { EOFError, NotSupportedError, OSError, RuntimeError, ValueError } from '../core/errors';
import { abortable, checkSignal, throwIfAborted, type SignalOption } from '../core/abort';
import { checkOptions } from '../core/options';
import { noteQueuedFrames } from '../core/queued-frames';
import { blockingWaitMs } from '../core/pending-writes';
import { parseTimeout, timeoutMs } from '../core/timeout';
import type { FdWatch } from '../core/addon';
import { native, type NativeAddon } from '../core/native';
import { LEND_MIN, receiveMemory } from './receive-memory';
import { adoptFd, claimPortableTicket, portableFds, portableTicket } from './portable/io';
import { fdsCarriedBy, serializePassingFds } from '../transfer/serialize';
import { bodySize, header, headerBytesMissing, headerSize } from '../transfer/framing';
import {
  copyBytes,
  decodeCompact,
  decodeMessage,
  encodeFast,
  isCompact,
  scratch,
} from '../transfer/wire';
import { kShare, type Revivers, type ShareState } from '../transfer/shareable';

const CHUNK = 256 * 1024;
const NO_BYTES = Buffer.alloc(0);
/** The read buffer's size; a message larger than half of it is read
 * straight into memory of its own. */
const SLAB = 4 * 1024 * 1024;
const BIG = SLAB / 2;
/** The largest read into the slab (the socket holds about 2 MiB). */
const READ_MAX = 1024 * 1024;

interface Waiter {
  /** Turns the frame into the result while the frame is still valid (a
   * frame may be a view into the read buffer, which later reads reuse);
   * absent for pollAsync waiters, which take no message. */
  decode?: (frame: Buffer) => unknown;
  /** Where a large message may be read straight in (recvBytesInto). */
  into?: Buffer;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/** Connections whose watch is armed: a forked child disarms them (the
 * waits belong to the parent, and the child must not steal its messages). */
const watching = new Set<Connection>();
// prettier-ignore
afterFork("connection: disarm the parent's waits", Order.multiprocessing, (function disarmParentWaits() {
  for (const conn of watching) conn._forgetParentWaits();
  watching.clear();
}));

/** What Connection calls on the addon: the addon's functions, or the
 * portable backend's for the virtual fds of its pipes where the addon is
 * absent (portable/io.ts). */
type ConnectionBackend = Pick<
  NativeAddon,
  | 'sendFrame'
  | 'readInto'
  | 'waitReadable'
  | 'writeSome'
  | 'FdWatch'
  | 'close'
  | 'socketpair'
  | 'nbPipe'
> &
  // The addon's queue of send()'s frames (the portable backend writes at once).
  // fds over Unix sockets (SCM_RIGHTS; the portable backend has none);
  // recvSlab: huge-page memory for received messages (plain memory without).
  Partial<
    Pick<
      NativeAddon,
      | 'queueFrame'
      | 'flushFrames'
      | 'sendFds'
      | 'recvFdsInto'
      | 'isUnixSocket'
      | 'recvSlab'
      | 'pipeCapacity'
    >
  >;

function addon(): ConnectionBackend {
  return native ?? portableFds;
}

/** @internal What owners of raw pipe ends (Pool's workers) call: the
 * addon, or the portable backend's virtual fds without it. */
export const pipeBackend = addon;

/** Where recvBytesInto reads straight in; a bad offset is a ValueError
 * before anything is read (Python checks it first too). */
function intoView(buf: ArrayBufferView, offset: number): Buffer {
  if (!ArrayBuffer.isView(buf)) {
    throw new TypeError('recvBytesInto(buf, offset): buf must be a Buffer, TypedArray or DataView');
  }
  if (!Number.isInteger(offset) || offset < 0 || offset > buf.byteLength) {
    throw new ValueError(`offset ${offset} is outside the buffer of ${buf.byteLength} bytes`);
  }
  return Buffer.from(buf.buffer, buf.byteOffset + offset, buf.byteLength - offset);
}

/** maxlength of recvBytes: checked before anything is read (Python's
 * "negative maxlength" ValueError). */
function checkMaxlength(maxlength: number | undefined): void {
  if (maxlength === undefined) return;
  if (typeof maxlength !== 'number' || Number.isNaN(maxlength)) {
    throw new TypeError(`maxlength must be a number, got ${typeof maxlength}`);
  }
  if (maxlength < 0) throw new ValueError(`negative maxlength: ${maxlength}`);
}

/** Whether an fd carries fds (a Unix socket): asked once per Connection,
 * on its first read or its first message holding fds. */
function carriesFds(fd: number): boolean {
  return addon().isUnixSocket?.(fd) ?? false;
}

/** The error of a message holding fds on a channel that cannot carry them. */
export function cannotCarryFds(what: string): NotSupportedError {
  return new NotSupportedError(
    `${what} is not a Unix socket, so it cannot carry file descriptors: a Connection, ` +
      `a Queue or anything else that owns one cannot travel on it. Only a Connection on ` +
      `a Unix socket carries them (a duplex Pipe(), or Listener/Client with family ` +
      `AF_UNIX); or pass the object in a Process's args`,
  );
}

function handlesNeedAddon(): NotSupportedError {
  return new NotSupportedError(
    "passing a file descriptor needs forkful's native addon (SCM_RIGHTS on a Unix " +
      'socket): the portable backend has none',
  );
}

function closedError(): OSError {
  const err = new OSError('the connection is closed (call Pipe() for a new one)');
  err.code = 'EBADF';
  return err;
}

function signalOf(options: SignalOption | undefined, what: string): AbortSignal | null {
  return checkSignal(checkOptions(options, ['signal'], what).signal, what);
}

/** A poll timeout in ms (FOREVER: -1). */
function pollMs(timeout: number | null | undefined, what: string): number {
  return timeoutMs(parseTimeout(timeout, what));
}

export interface ConnectionOptions {
  readable?: boolean;
  writable?: boolean;
  /** Never read past the end of one message: for fds that several
   * processes read in turn (Queue). Costs two reads per message. */
  exact?: boolean;
}

/** Connection[kSendHandle](fd) and [kRecvHandle]() (reduction.ts). */
export const kSendHandle = Symbol('forkful.Connection.sendHandle');
export const kRecvHandle = Symbol('forkful.Connection.recvHandle');

/** Connection[kRecvNow] (forkful's pool). */
export const kRecvNow = Symbol('forkful.Connection.recvNow');

/** Connection[kBlockingReads]() (a pool worker's task pipe). */
export const kBlockingReads = Symbol('forkful.Connection.blockingReads');

/** One end of a Pipe: sends `TSend`, receives `TRecv` (both `unknown`
 * unless typed: `Pipe<Job, Result>()`). */
export class Connection<TSend = unknown, TRecv = unknown> {
  #fd: number;
  readonly #readable: boolean;
  readonly #writable: boolean;
  readonly #exact: boolean;
  // Bytes read but not yet consumed: #buf[#start, #end).
  #buf: Buffer = Buffer.allocUnsafe(0);
  #start = 0;
  #end = 0;
  // A view of #buf was handed out: its bytes up to #start are never
  // written again (no compaction; a new buffer when this one is full).
  #lent = false;
  // It lent a view once: the stream carries large messages, so its next
  // buffers are slabs of huge pages (a stream of small messages keeps
  // reusing one plain buffer).
  #lends = false;
  // The message #take() found: #frameBuf[#frameStart, #frameEnd), in #buf
  // or in a buffer of its own. recv() decodes the compact form where it lies
  // (a view per message was a third of a small message's receive).
  #frameBuf: Buffer = NO_BYTES;
  #frameStart = 0;
  #frameEnd = 0;
  // A message too large for #buf is read straight into its own buffer.
  #big: Buffer | null = null;
  #bigFilled = 0;
  #eof = false;
  #watch: FdWatch | null = null;
  #waiters: Waiter[] = [];
  #refed = true;
  // The last read found nothing and no readable event came since: recv()
  // goes straight to waiting instead of trying a read that would fail.
  #drained = false;
  // The last read took less than it asked for: the fd was empty then, so a
  // blocking receive polls before it reads again (a read that would fail
  // is one system call of three in a ping-pong).
  #shortRead = false;
  // Whether the armed watch currently keeps the event loop alive.
  #watchRefed = true;
  // A pipe put in blocking mode by [kBlockingReads]: every read may wait.
  #pipeBlocks = false;
  // Async sends: one at a time, in order; a sync send() waits for none.
  #sending: Promise<void> | null = null;
  #writeWatch: FdWatch | null = null;
  #onWritable: (() => void) | null = null;
  // Whether the fd is a Unix socket, which carries fds (null: not asked yet).
  #carriesFds: boolean | null = null;
  // A blocking receive waits in one blocking read (Pipe()'s sockets are in
  // blocking mode); false once a read found the fd in non-blocking mode,
  // or without the addon: then it polls before it reads.
  #blockingReads = true;
  // fds that came with the bytes read and no message has taken yet.
  #inbox: number[] = [];

  /** Wraps an fd this process owns (Pipe() is the usual way to get one). */
  constructor(fd: number, options: ConnectionOptions = {}) {
    if (!Number.isInteger(fd) || fd < 0) throw new ValueError(`invalid file descriptor: ${fd}`);
    checkOptions(options, ['readable', 'writable', 'exact'], 'Connection');
    // Without the addon a raw fd (a socket or pipe) is bridged to the
    // portable pipes; fileno() is then the bridge's virtual fd.
    this.#fd = native || isVirtualFd(fd) ? fd : adoptFd(fd);
    this.#readable = options.readable ?? true;
    this.#writable = options.writable ?? true;
    this.#exact = options.exact ?? false;
    if (!this.#readable && !this.#writable) {
      throw new ValueError('a Connection must be readable, writable or both');
    }
  }

  get closed(): boolean {
    return this.#fd < 0;
  }
  get readable(): boolean {
    return this.#readable;
  }
  get writable(): boolean {
    return this.#writable;
  }

  /** The file descriptor (Python's fileno()). */
  fileno(): number {
    this.#checkOpen();
    return this.#fd;
  }

  /** Sends an object: structured clone plus forkful objects by handle; a
   * Connection or Queue in it travels with its fds (SCM_RIGHTS) on a Unix
   * socket, and is refused (NotSupportedError) on any other fd.
   * The messages sent in one turn of the event loop go out in one write,
   * in order, before this thread next waits: at the end of the turn, or
   * first thing in any forkful call that blocks (a recvSync(), a lock, a
   * join), forks or exits, when it releases or signals a forkful lock,
   * semaphore, condition, barrier or event, before a message sent on another
   * connection (the order of all sends is kept), or when 64 KiB are waiting
   * (then it blocks until there is room, as Python's send()). A loop that
   * waits for the peer's answer without blocking (spinning on a shared
   * Value) must call flush() first. */
  send(obj: TSend): void {
    this.#checkWritable();
    this.#checkNoAsyncSend();
    const native = addon();
    const n = encodeFast(obj);
    let body: Buffer = scratch;
    if (n < 0) {
      const encoded = serializePassingFds(obj);
      if (encoded.fds.length > 0) return this.#sendWithFds(encoded.body, encoded.fds);
      body = encoded.body;
    }
    const size = n >= 0 ? n : body.length;
    if (native.queueFrame) {
      native.queueFrame(this.#fd, body, 0, size);
      noteQueuedFrames();
    } else native.sendFrame(this.#fd, body, 0, size);
  }

  /** A message whose fds travel with it (SCM_RIGHTS): after what send()
   * queued, in one blocking write as sendFrame. */
  #sendWithFds(body: Buffer, fds: number[]): void {
    const native = addon();
    if (!native.sendFds || !(this.#carriesFds ??= carriesFds(this.#fd))) {
      throw cannotCarryFds('this connection');
    }
    native.sendFds(this.#fd, body, fds, true); // after what send() queued
  }

  /** reduction.sendHandle: one byte (1, the number of fds, as Python's
   * sendfds) with `handle` attached, outside the message framing. */
  [kSendHandle](handle: number): void {
    this.#checkWritable();
    this.#checkNoAsyncSend();
    const native = addon();
    if (!native.sendFds) throw handlesNeedAddon();
    if (!(this.#carriesFds ??= carriesFds(this.#fd))) throw cannotCarryFds('this connection');
    native.sendFds(this.#fd, Buffer.from([1]), [handle], false);
  }

  /** reduction.recvHandle's step: the fd sent with the next byte, null
   * while no byte is there; throws EOFError at end of data and
   * RuntimeError when the byte came without exactly one fd (closing any
   * that came). */
  [kRecvHandle](): number | null {
    this.#checkReadable();
    if (this.#waiters.length > 0) {
      throw new ValueError('recvHandle() while a recv() is pending on this connection');
    }
    const native = addon();
    if (!native.recvFdsInto) throw handlesNeedAddon();
    if (!(this.#carriesFds ??= carriesFds(this.#fd))) throw cannotCarryFds('this connection');
    let byte: number;
    if (this.#end > this.#start) {
      byte = this.#buf[this.#start++];
    } else {
      const one = Buffer.alloc(1);
      const n = this.#read(one, 0, 1);
      if (n < 0) return null;
      if (n === 0 && this.#inbox.length === 0) throw this.#eofError(false);
      byte = one[0];
    }
    const fds = this.#inbox.splice(0);
    if (fds.length === 1 && byte === 1 && fds[0] >= 0) return fds[0];
    for (const fd of fds) if (fd >= 0) native.close(fd);
    if (fds.includes(-1)) {
      throw new RuntimeError(
        'the file descriptor sent was lost on the way (MSG_CTRUNC: this process may be ' +
          'out of file descriptors, see ulimit -n)',
      );
    }
    throw new RuntimeError(
      `invalid data received: a byte (${byte}) with ${fds.length} file descriptors, ` +
        `where reduction.sendHandle sends the byte 1 with one`,
    );
  }

  /** Writes the messages send() has queued now (send() says when they go
   * out by themselves); throws the error a queued write met. */
  flush(): void {
    this.#checkWritable();
    addon().flushFrames?.(this.#fd);
  }

  /** send() that waits for room in the pipe without blocking the event
   * loop (send() blocks while the pipe is full). Sends made this way go out
   * in call order; a send() meanwhile throws rather than mix its bytes in. */
  sendAsync(obj: TSend): Promise<void> {
    try {
      this.#checkWritable();
      const n = encodeFast(obj);
      if (n >= 0) return this.#queueFrame(Buffer.from(scratch.subarray(0, n)));
      const { body, fds } = serializePassingFds(obj);
      if (fds.length === 0) return this.#queueFrame(body);
      // In order after the async sends before it; written blocking (fds
      // are rare, and their message is small).
      const previous = this.#sending ?? Promise.resolve();
      const mine: Promise<void> = previous
        .catch(() => {})
        .then(() => {
          this.#checkOpen();
          this.#sendWithFds(body, fds);
        })
        .finally(() => {
          if (this.#sending === mine) this.#sending = null;
        });
      this.#sending = mine;
      return mine;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** sendBytes() that waits for room without blocking the event loop. */
  sendBytesAsync(buf: ArrayBufferView | ArrayBuffer): Promise<void> {
    try {
      this.#checkWritable();
      const bytes =
        buf instanceof ArrayBuffer
          ? Buffer.from(buf)
          : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
      return this.#queueFrame(bytes);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Sends raw bytes; recvBytes() on the other end gets exactly them. */
  sendBytes(buf: ArrayBufferView | ArrayBuffer, offset = 0, size?: number): void {
    this.#checkWritable();
    this.#checkNoAsyncSend();
    const bytes =
      buf instanceof ArrayBuffer
        ? Buffer.from(buf)
        : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    if (!Number.isInteger(offset) || offset < 0 || offset > bytes.length) {
      throw new ValueError(`offset ${offset} is outside the buffer of ${bytes.length} bytes`);
    }
    const n = size ?? bytes.length - offset;
    if (!Number.isInteger(n) || n < 0 || offset + n > bytes.length) {
      throw new ValueError(
        `size ${n} from offset ${offset} overruns the buffer of ${bytes.length} bytes`,
      );
    }
    addon().sendFrame(this.#fd, bytes, offset, n);
  }

  /** Receives the next object; rejects with EOFError once the peer closed.
   * `{ signal }` cancels the wait (AbortError; no message is consumed). */
  recv(options?: SignalOption): Promise<TRecv> {
    return this.#next(this.#decode, undefined, options, 'Connection.recv') as Promise<TRecv>;
  }

  /** Blocking recv(). */
  recvSync(): TRecv {
    this.#waitFrameSync();
    return this.#decodeTaken() as TRecv;
  }

  /** The message #take() found, decoded: the compact form where it lies,
   * any other through #decode (a message with fds too: they join it there). */
  #decodeTaken(): unknown {
    const buf = this.#frameBuf;
    if (this.#inbox.length === 0 && isCompact(buf, this.#frameStart, this.#frameEnd)) {
      this.#frameBuf = NO_BYTES; // (nothing of it is kept)
      return decodeCompact(buf, this.#frameStart, this.#frameEnd);
    }
    return this.#decode(this.#frameView());
  }

  /** The message #take() found, as a Buffer (a view when it lies in #buf). */
  #frameView(): Buffer {
    const buf = this.#frameBuf;
    this.#frameBuf = NO_BYTES; // a message of its own is not kept here
    return buf !== this.#buf && this.#frameStart === 0 && this.#frameEnd === buf.length
      ? buf
      : buf.subarray(this.#frameStart, this.#frameEnd);
  }

  /** The message #take() found, given to a receive's decode. */
  #deliver(decode: (frame: Buffer) => unknown): unknown {
    return decode === this.#decode ? this.#decodeTaken() : decode(this.#frameView());
  }

  /** The message in a frame; a frame in the read buffer, which later reads
   * reuse, is not the message's own memory (decodeMessage copies what it
   * would keep of it: a received Buffer must not change under its owner). */
  readonly #decode = (frame: Buffer): unknown =>
    this.#inbox.length === 0
      ? decodeMessage(frame, true, this.#ownsMemory(frame))
      : receivingFds(this.#inbox, addon().close, () =>
          decodeMessage(frame, true, this.#ownsMemory(frame)),
        );

  /** Whether `frame` is its message's own memory: outside the read buffer,
   * or a large frame in it handed out as a view (that part of the buffer is
   * then never overwritten); small frames in the read buffer are copied. */
  #ownsMemory(frame: Buffer): boolean {
    return frame.buffer !== this.#buf.buffer || this.#lend(frame);
  }

  /** Whether `frame`, in the read buffer, may be handed out as a view. */
  #lend(frame: Buffer): boolean {
    if (frame.length < LEND_MIN) return false;
    this.#lent = this.#lends = true;
    return true;
  }

  /** Receives the next message as bytes (Python's recv_bytes). A message
   * longer than maxlength is an error and the connection is then closed. */
  recvBytes(maxlength?: number, options?: SignalOption): Promise<Buffer> {
    try {
      checkMaxlength(maxlength);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#next(
      (frame) => this.#ownBytes(frame, maxlength),
      undefined,
      options,
      'Connection.recvBytes',
    ) as Promise<Buffer>;
  }

  recvBytesSync(maxlength?: number): Buffer {
    checkMaxlength(maxlength);
    this.#waitFrameSync();
    return this.#ownBytes(this.#frameView(), maxlength);
  }

  /** The pool's reader: the next message if a whole one can be had
   * without waiting, else null. `readable`: the fd was just reported
   * readable; otherwise a read is tried only when the last one filled its
   * buffer (after a short read the pipe was empty: another read would most
   * likely fail, and the fd's watch reports what comes next). */
  [kRecvNow](readable: boolean): Buffer | null {
    this.#checkReadable();
    if (!this.#take(undefined, readable || !this.#shortRead)) return null;
    return this.#ownBytes(this.#frameView());
  }

  /** For a pipe that only this process reads, only with the sync receives,
   * and that nothing watches (a pool worker's task pipe): puts it in
   * blocking mode, so that each wait of recvBytesSync() is one read()
   * instead of poll() then read(). Not on the portable backend's virtual
   * fds (they stay as they are). */
  [kBlockingReads](): void {
    this.#checkReadable();
    if (!native || isVirtualFd(this.#fd)) return;
    native.setBlocking(this.#fd, true);
    this.#pipeBlocks = true;
  }

  /** Reads the next message into `buf` at byte `offset`; returns its size.
   * A message that does not fit throws ValueError with the bytes in `.data`. */
  recvBytesInto(buf: ArrayBufferView, offset = 0): Promise<number> {
    let view: Buffer;
    try {
      view = intoView(buf, offset);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#next((frame) => this.#into(frame, buf, offset), view) as Promise<number>;
  }

  recvBytesIntoSync(buf: ArrayBufferView, offset = 0): number {
    this.#waitFrameSync(intoView(buf, offset));
    return this.#into(this.#frameView(), buf, offset);
  }

  /** True when data is ready to read; waits up to `timeout` seconds
   * (0 = just look, null = wait until data or end of file). Blocks. */
  poll(timeout: number | null = 0): boolean {
    this.#checkReadable();
    if (this.#hasBuffered()) return true;
    const native = addon();
    return blockingWaitMs(pollMs(timeout, 'Connection.poll'), (ms) =>
      native.waitReadable(this.#fd, ms),
    );
  }

  /** poll() without blocking the event loop: resolves true when data is
   * ready (or the peer closed), false after `timeout` seconds. `{ signal }`
   * cancels the wait (AbortError). */
  pollAsync(timeout: number | null = null, options?: SignalOption): Promise<boolean> {
    const signal = signalOf(options, 'Connection.pollAsync');
    this.#checkReadable();
    throwIfAborted(signal, 'Connection.pollAsync');
    if (this.#hasBuffered() || addon().waitReadable(this.#fd, 0)) return Promise.resolve(true);
    const ms = pollMs(timeout, 'Connection.pollAsync');
    if (ms === 0) return Promise.resolve(false);
    let cancel = () => {};
    const polled = new Promise<boolean>((resolve, reject) => {
      let timer: NodeJS.Timeout | null = null;
      const waiter: Waiter = {
        resolve: () => {
          if (timer) clearTimeout(timer);
          resolve(true);
        },
        reject: (err) => {
          if (timer) clearTimeout(timer);
          reject(err);
        },
      };
      // A waiter without decode takes no message: it is resolved (and
      // removed) on the first readable event without consuming anything.
      this.#waiters.push(waiter);
      this.#arm();
      cancel = () => {
        if (timer) clearTimeout(timer);
        this.#dropWaiter(waiter);
      };
      if (ms > 0) {
        timer = setTimeout(() => {
          this.#dropWaiter(waiter);
          resolve(false);
        }, ms);
        if (!this.#refed) timer.unref();
      }
    });
    return abortable(signal, 'Connection.pollAsync', polled, () => cancel());
  }

  /** `for await (const msg of conn)`: every message until the other end
   * closes (EOF) or this end is closed; `break` leaves the connection open. */
  async *[Symbol.asyncIterator](): AsyncGenerator<TRecv, void, undefined> {
    for (;;) {
      let msg: TRecv;
      try {
        msg = await this.recv();
      } catch (err) {
        if (err instanceof EOFError || this.closed) return;
        throw err;
      }
      yield msg;
    }
  }

  #dropWaiter(waiter: Waiter): void {
    const i = this.#waiters.indexOf(waiter);
    if (i >= 0) this.#waiters.splice(i, 1);
    this.#syncRef();
  }

  /** Closes the fd. Pending recv() calls reject with OSError EBADF. */
  close(): void {
    if (this.#fd < 0) return;
    this.#disarm();
    this.#watch?.close();
    this.#watch = null;
    this.#writeWatch?.close();
    this.#writeWatch = null;
    const wake = this.#onWritable;
    this.#onWritable = null;
    const fd = this.#fd;
    this.#fd = -1;
    this.#big = null;
    this.#frameBuf = NO_BYTES;
    this.#buf = Buffer.allocUnsafe(0);
    this.#start = this.#end = 0;
    this.#lent = false;
    const waiters = this.#waiters.splice(0);
    let unsent: unknown = null;
    try {
      if (this.#writable) addon().flushFrames?.(fd, true); // what send() queued goes out first
    } catch (err) {
      unsent = err;
    }
    addon().close(fd);
    for (const received of this.#inbox.splice(0)) if (received >= 0) addon().close(received);
    for (const w of waiters) w.reject(closedError());
    wake?.(); // a pending async send finds the connection closed
    // A queued message could not be written (the peer is gone): said, not lost.
    if (unsent) throw unsent;
  }

  /** Lets the process exit while a recv() waits (the default keeps it). */
  unref(): this {
    this.#refed = false;
    this.#syncRef();
    this.#writeWatch?.unref();
    return this;
  }

  ref(): this {
    this.#refed = true;
    this.#syncRef();
    this.#writeWatch?.ref();
    return this;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** `await using conn = ...`: waits for the async sends in flight, then
   * closes. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#sending?.catch(() => {});
    this.close();
  }

  [kShare](): ShareState {
    this.#checkOpen();
    if (this.#writable) addon().flushFrames?.(this.#fd); // sent before the fd travels
    return {
      kind: 'forkful.Connection',
      state: {
        fd: transferFd(this.#fd),
        ticket: portableTicket(this.#fd),
        readable: this.#readable,
        writable: this.#writable,
        exact: this.#exact,
      },
    };
  }

  /** @internal Called in a forked child for each armed connection. */
  _forgetParentWaits(): void {
    this.#watch?.close();
    this.#watch = null;
    this.#waiters = [];
    this.#writeWatch?.close();
    this.#writeWatch = null;
    this.#onWritable = null;
    this.#sending = null;
  }

  #checkOpen(): void {
    if (this.#fd < 0) throw closedError();
  }
  #checkReadable(): void {
    this.#checkOpen();
    if (!this.#readable) throw new OSError('this connection is write-only (Pipe(false) end 1)');
  }
  #checkWritable(): void {
    this.#checkOpen();
    if (!this.#writable) throw new OSError('this connection is read-only (Pipe(false) end 0)');
  }

  #checkNoAsyncSend(): void {
    if (this.#sending) {
      throw new ValueError('an async send is in progress on this connection: await it first');
    }
  }

  #queueFrame(body: Buffer): Promise<void> {
    const previous = this.#sending ?? Promise.resolve();
    const mine: Promise<void> = previous
      .catch(() => {})
      .then(() => this.#writeFrameAsync(body))
      .finally(() => {
        if (this.#sending === mine) this.#sending = null;
      });
    this.#sending = mine;
    return mine;
  }

  async #writeFrameAsync(body: Buffer): Promise<void> {
    const native = addon();
    const head = header(body.length);
    // Small frames go out in one write (a reader never sees half of one
    // unless the pipe is nearly full).
    const parts = body.length <= 64 * 1024 ? [Buffer.concat([head, body])] : [head, body];
    for (const part of parts) {
      let offset = 0;
      while (offset < part.length) {
        this.#checkOpen();
        const n = native.writeSome(
          this.#fd,
          part,
          offset,
          part.length - offset,
          (this.#carriesFds ??= carriesFds(this.#fd)),
        );
        if (n < 0) await this.#roomToWrite();
        else offset += n;
      }
    }
  }

  #roomToWrite(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (!this.#writeWatch) {
        this.#writeWatch = new (addon().FdWatch)(
          this.#fd,
          () => {
            this.#writeWatch?.stop();
            watching.delete(this);
            const wake = this.#onWritable;
            this.#onWritable = null;
            wake?.();
          },
          true,
        );
        if (!this.#refed) this.#writeWatch.unref();
      }
      this.#onWritable = resolve;
      this.#writeWatch.start();
      watching.add(this);
    });
  }

  #hasBuffered(): boolean {
    return this.#end > this.#start || this.#big !== null;
  }

  /** A message taken as bytes leaves the fds that came with it: closed, as
   * the kernel closes those of a message Python reads with recv_bytes (a
   * plain read). Else the next message decoded would take them as its own. */
  #dropFds(frame: Buffer): void {
    if (this.#inbox.length === 0) return;
    const count = Math.min(fdsCarriedBy(frame), this.#inbox.length);
    for (const fd of this.#inbox.splice(0, count)) if (fd >= 0) addon().close(fd);
  }

  #ownBytes(frame: Buffer, maxlength?: number): Buffer {
    this.#dropFds(frame);
    if (maxlength !== undefined && frame.length > maxlength) {
      this.close();
      const err = new OSError(
        `bad message length: ${frame.length} bytes exceed maxlength ${maxlength} ` +
          `(the connection is now closed)`,
      );
      err.code = 'EMSGSIZE';
      err.errno = osConstants.errno.EMSGSIZE;
      err.syscall = 'recvBytes';
      throw err;
    }
    // A small frame in the read buffer is copied (the next read reuses
    // that part of the buffer); a large one is lent.
    return frame.buffer === this.#buf.buffer && !this.#lend(frame) ? copyBytes(frame) : frame;
  }

  #into(frame: Buffer, buf: ArrayBufferView, offset: number): number {
    this.#dropFds(frame);
    const target = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    if (!Number.isInteger(offset) || offset < 0 || offset > target.length) {
      throw new ValueError(`offset ${offset} is outside the buffer of ${target.length} bytes`);
    }
    if (frame.length > target.length - offset) {
      const err = new ValueError(
        `buffer too short: the message has ${frame.length} bytes, ` +
          `${target.length - offset} fit after offset ${offset} (the bytes are in error.data)`,
      );
      (err as ValueError & { data: Buffer }).data = Buffer.from(frame);
      throw err;
    }
    // Already in place when the message was read straight into target.
    if (frame.buffer !== target.buffer || frame.byteOffset !== target.byteOffset + offset) {
      frame.copy(target, offset);
    }
    return frame.length;
  }

  // The next whole message, from the buffer and non-blocking reads: true
  // with its bytes in #frameBuf[#frameStart, #frameEnd), false when more
  // bytes must arrive first. Throws EOFError at end of data.
  // `block`: a read may wait for bytes (recvSync's; see #blockingReads).
  #take(into?: Buffer, mayRead = true, block = false): boolean {
    for (;;) {
      if (this.#big) {
        const big = this.#big;
        while (this.#bigFilled < big.length) {
          if (!mayRead) return false;
          const want = big.length - this.#bigFilled;
          const n = this.#read(big, this.#bigFilled, want, block);
          this.#shortRead = n < want;
          if (n < 0) {
            this.#drained = true;
            return false;
          }
          if (n === 0) throw this.#eofError(true);
          this.#bigFilled += n;
        }
        this.#big = null;
        this.#frameBuf = big;
        this.#frameStart = 0;
        this.#frameEnd = big.length;
        return true;
      }
      const avail = this.#end - this.#start;
      const header = headerSize(this.#buf, this.#start, avail);
      // The bytes the message being read still needs, when it is read here.
      let rest = 0;
      if (header > 0) {
        const len = bodySize(this.#buf, this.#start, header);
        if (avail - header >= len) {
          // (The caller decides whether it lends the frame: the buffer is
          // rewound, if at all, on the next read.)
          this.#frameBuf = this.#buf;
          this.#frameStart = this.#start + header;
          this.#frameEnd = this.#start = this.#frameStart + len;
          return true;
        }
        const intoFits = into !== undefined && into.length >= len;
        if (len > BIG || this.#exact || (intoFits && len > CHUNK)) {
          // Read the rest straight into the message's own buffer.
          // recvBytesInto: a large message goes straight to its destination
          // (no second copy, and the caller's pages are already mapped).
          const big = intoFits
            ? into.subarray(0, len)
            : len > BIG
              ? receiveMemory(addon(), len)
              : Buffer.allocUnsafe(len);
          const have = avail - header;
          this.#buf.copy(big, 0, this.#start + header, this.#end);
          // (From the start again, unless views of the buffer are out.)
          this.#start = this.#end = this.#lent ? this.#end : 0;
          this.#big = big;
          this.#bigFilled = have;
          continue;
        }
        rest = header + len - avail;
      }
      if (this.#eof) throw this.#eofError(avail > 0);
      if (avail === 0 && !this.#lent) this.#start = this.#end = 0;
      // Make room at the end of the buffer, then read what is there.
      const need = this.#exact
        ? headerBytesMissing(this.#buf, this.#start, avail)
        : Math.max(CHUNK, rest);
      if (this.#buf.length - this.#end < need) {
        if (this.#start > 0 && !this.#lent && this.#buf.length - avail >= need) {
          this.#buf.copy(this.#buf, 0, this.#start, this.#end);
        } else {
          // A lent buffer is left to its views: the unread bytes move.
          const grown = this.#exact
            ? Buffer.allocUnsafe(16)
            : this.#lends
              ? receiveMemory(addon(), Math.max(SLAB, avail + need))
              : Buffer.allocUnsafe(Math.max(CHUNK * 2, avail + need));
          this.#buf.copy(grown, 0, this.#start, this.#end);
          this.#buf = grown;
          this.#lent = false;
        }
        this.#end = avail;
        this.#start = 0;
      }
      const room = this.#exact ? need : Math.min(this.#buf.length - this.#end, READ_MAX);
      if (!mayRead) return false;
      const n = this.#read(this.#buf, this.#end, room, block);
      this.#shortRead = n < room;
      if (n < 0) {
        this.#drained = true;
        return false;
      }
      if (n === 0) {
        this.#eof = true;
        continue;
      }
      this.#end += n;
    }
  }

  /** One non-blocking read; on a Unix socket it also takes the fds sent
   * with the bytes (they wait in #inbox for their message). */
  #read(into: Buffer, at: number, length: number, block = false): number {
    const native = addon();
    if (native.recvFdsInto && (this.#carriesFds ??= carriesFds(this.#fd))) {
      const n = native.recvFdsInto(this.#fd, into, at, length, this.#inbox, block);
      if (n < 0 && block) this.#blockingReads = false; // a non-blocking fd
      return n;
    }
    return native.readInto(this.#fd, into, at, length);
  }

  /** Whether a blocking receive may wait in a blocking read (a pipe put in
   * blocking mode, or a Unix socket not yet found in non-blocking mode). */
  #mayBlock(): boolean {
    if (this.#pipeBlocks) return true;
    return (
      this.#blockingReads &&
      addon().recvFdsInto !== undefined &&
      (this.#carriesFds ??= carriesFds(this.#fd))
    );
  }

  #eofError(partial: boolean): EOFError {
    return new EOFError(
      partial
        ? 'the other end closed the connection in the middle of a message'
        : 'the other end of the connection is closed: no more messages will arrive',
    );
  }

  /** Blocks until #take() finds a message. */
  #waitFrameSync(into?: Buffer): void {
    this.#checkReadable();
    if (this.#waiters.length > 0) {
      throw new ValueError(
        'recvSync() while a recv() is pending on this connection: await it first',
      );
    }
    const native = addon();
    let mayRead = !this.#shortRead;
    for (;;) {
      const block = this.#mayBlock();
      if (this.#take(into, mayRead || block, block)) return;
      blockingWaitMs(-1, (ms) => native.waitReadable(this.#fd, ms));
      mayRead = true;
    }
  }

  #next(
    decode: (frame: Buffer) => unknown,
    into?: Buffer,
    options?: SignalOption,
    what = 'Connection.recvBytesInto',
  ): Promise<unknown> {
    let signal: AbortSignal | null;
    try {
      signal = signalOf(options, what);
      this.#checkReadable();
      throwIfAborted(signal, what);
      if (this.#waiters.length === 0 && this.#take(into, !this.#drained)) {
        return Promise.resolve(this.#deliver(decode));
      }
    } catch (err) {
      return Promise.reject(err);
    }
    let waiter: Waiter | null = null;
    const received = new Promise<unknown>((resolve, reject) => {
      waiter = { decode, into, resolve, reject };
      this.#waiters.push(waiter);
      this.#arm();
    });
    // A cancelled waiter leaves the queue before it took a message: the
    // next recv() gets the message it would have had.
    return abortable(signal, what, received, () => this.#dropWaiter(waiter!));
  }

  // The watch stays armed between recv() calls (re-arming costs two
  // epoll_ctl calls per message); with no waiter it only stops holding the
  // event loop open, and the first event that finds no waiter disarms it.
  #arm(): void {
    if (!this.#watch) {
      const native = addon();
      this.#watch = new native.FdWatch(this.#fd, () => this.#onReadable());
      this.#watchRefed = true;
    }
    this.#watch.start();
    watching.add(this);
    this.#syncRef();
  }

  #disarm(): void {
    this.#watch?.stop();
    watching.delete(this);
  }

  #syncRef(): void {
    if (!this.#watch) return;
    const want = this.#refed && this.#waiters.length > 0;
    if (want === this.#watchRefed) return;
    this.#watchRefed = want;
    if (want) this.#watch.ref();
    else this.#watch.unref();
  }

  #onReadable(): void {
    this.#drained = false;
    if (this.#waiters.length === 0) {
      this.#disarm(); // nobody waits: stop watching until someone does
      return;
    }
    while (this.#waiters.length > 0) {
      const waiter = this.#waiters[0];
      if (!waiter.decode) {
        this.#waiters.shift();
        waiter.resolve(true);
        continue;
      }
      let found: boolean;
      try {
        found = this.#take(waiter.into);
      } catch (err) {
        // End of data (or a read error): every waiter learns it.
        const waiters = this.#waiters.splice(0);
        this.#disarm();
        for (const w of waiters) w.reject(err);
        return;
      }
      if (!found) return; // more bytes to come: stay armed
      this.#waiters.shift();
      let value: unknown;
      try {
        value = this.#deliver(waiter.decode);
      } catch (err) {
        waiter.reject(err);
        continue;
      }
      waiter.resolve(value);
    }
    this.#syncRef(); // stays armed for the next recv(), not holding the loop
  }
}

/** How this module's kinds are revived (installed by lib/shareables.ts). */
export const connectionRevivers: Revivers = {
  'forkful.Connection': (state) => {
    const s = state as {
      fd: number;
      ticket?: number;
      readable: boolean;
      writable: boolean;
      exact: boolean;
    };
    if (s.ticket !== undefined) claimPortableTicket(s.ticket);
    return new Connection(receivedFd(s.fd), {
      readable: s.readable,
      writable: s.writable,
      exact: s.exact,
    });
  },
};

/** @internal A raw non-blocking pipe for Queue: [readFd, writeFd]. */
export function nativePipe(): [number, number] {
  return addon().nbPipe();
}

/**
 * Python's multiprocessing.Pipe(duplex=True): two connected Connections.
 * Duplex: both ends send and receive (a socketpair). One-way
 * (`Pipe(false)`): the first end only receives, the second only sends.
 * Typed: `Pipe<T>()` carries T both ways; `Pipe<A, B>()` gives an end that
 * sends A and receives B, and its peer that sends B and receives A.
 */
export function Pipe<A = unknown, B = A>(duplex = true): [Connection<A, B>, Connection<B, A>] {
  const native = addon();
  if (duplex) {
    const [a, b] = native.socketpair();
    return [new Connection<A, B>(a), new Connection<B, A>(b)];
  }
  const [r, w] = native.nbPipe();
  return [
    new Connection<A, B>(r, { writable: false }),
    new Connection<B, A>(w, { readable: false }),
  ];
}
