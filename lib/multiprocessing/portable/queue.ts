// multiprocessing's Queue, JoinableQueue and SimpleQueue on the portable
// backend: the items live in the hub (hub.ts), which serves put and get
// with their waits and timeouts, so producers and consumers may be any mix
// of spawned processes and threads, without the addon. An item is encoded
// as Connection.send encodes it (plain data compactly, else structured
// clone with forkful's objects by handle) before put() returns, and put()
// returns once the hub holds it: nothing is left to flush at exit
// (joinThread() resolves at once, cancelJoinThread() has nothing to drop).
// shutdown() (Python 3.13) is the hub's too, so it holds for every process.
import { checkSignal, type SignalOption } from '../../core/abort';
import { checkOptions } from '../../core/options';
import { Empty, Full, OSError, ShutDown, ValueError } from '../../core/errors';
import { parseTimeout } from '../../core/timeout';
import { serialize } from '../../transfer/serialize';
import { kShare, type Revivers, type ShareState } from '../../transfer/shareable';
import { decodeMessage, encodeFast, scratch } from '../../transfer/wire';
import { checkGetOptions, type GetOptions } from '../queue/channel';
import type { PutOptions } from '../queue/queues';
import type { HubReply } from './hub';
import { hubCall, hubCallSync, hubWait } from './io';
import { hubHandle, hubMs, hubObject } from './managed';

const SEM_VALUE_MAX = 0x7fffffff;

interface QueueHandle {
  obj: number;
  ticket: number;
  maxsize: number;
}

/** A get/put's options, checked as the native queues check them (an
 * unknown name is a TypeError; `signal` only where the call awaits). */
function options(
  opts: PutOptions | boolean | undefined,
  timeout: number | null | undefined,
  what: string,
): PutOptions {
  if (typeof opts === 'boolean') return { block: opts, timeout };
  return checkGetOptions(opts ?? {}, what, !what.endsWith('Sync'));
}

/** The hub's wait for a put or get: 0 without blocking, -1 forever. */
function waitMs(o: PutOptions, what: string): number {
  const t = parseTimeout(o.timeout, what);
  return (o.block ?? true) ? hubMs(t) : 0;
}

/** An item as its own bytes (moved to this thread's I/O thread). */
function encode(obj: unknown): Uint8Array {
  const n = encodeFast(obj);
  const body = n >= 0 ? scratch.subarray(0, n) : serialize(obj);
  const out = Buffer.allocUnsafeSlow(body.length);
  out.set(body);
  return out;
}

/** A put's reply: Full, or ShutDown. */
function putDone(r: HubReply, what: string): void {
  if (r.shut) throw new ShutDown(`${what}: the queue is shut down`);
  if (!r.ok) throw new Full();
}

function item(r: HubReply, what: string): unknown {
  if (r.shut) throw new ShutDown(`${what}: the queue is shut down and empty`);
  if (!r.ok) throw new Empty();
  return decodeMessage(Buffer.from(r.bytes!.buffer, r.bytes!.byteOffset, r.bytes!.length));
}

/** Python's multiprocessing.Queue(maxsize=0), items kept by the hub. */
export class PortableQueue {
  /** @internal */ readonly _obj: number;
  readonly #maxsize: number;
  #closed = false;
  /** This process put an item (Python: close() then closes the reader). */
  #used = false;
  readonly #closing = new AbortController();

  constructor(maxsize: number | QueueHandle = 0, kind: 'Queue' | 'JoinableQueue' = 'Queue') {
    if (typeof maxsize === 'object') {
      this.#maxsize = maxsize.maxsize;
      this._obj = hubObject(this, kind, {}, maxsize);
      return;
    }
    if (typeof maxsize !== 'number' || !Number.isInteger(maxsize)) {
      throw new TypeError('Queue: maxsize must be an integer');
    }
    this.#maxsize = maxsize <= 0 ? SEM_VALUE_MAX : maxsize;
    this._obj = hubObject(this, kind, { maxsize: maxsize <= 0 ? 0 : maxsize });
  }

  /** `{ signal }` cancels the wait (AbortError): the hub drops it, so an
   * aborted put puts nothing. */
  async put(obj: unknown, opts?: PutOptions | boolean, timeout?: number | null): Promise<void> {
    this.#checkOpen();
    const o = options(opts, timeout, 'Queue.put');
    const ms = waitMs(o, 'Queue.put');
    const signal = checkSignal(o.signal, 'Queue.put');
    const r = await hubWait(
      { op: 'qput', obj: this._obj, bytes: this.#encodeUsed(obj), ms },
      signal,
      'Queue.put',
    );
    putDone(r, 'Queue.put');
  }

  putSync(obj: unknown, opts?: PutOptions | boolean, timeout?: number | null): void {
    this.#checkOpen();
    const ms = waitMs(options(opts, timeout, 'Queue.putSync'), 'Queue.putSync');
    putDone(
      hubCallSync({ op: 'qput', obj: this._obj, bytes: this.#encodeUsed(obj), ms }),
      'Queue.putSync',
    );
  }

  putNowait(obj: unknown): void {
    this.putSync(obj, { block: false });
  }

  /** `{ signal }` cancels the wait (AbortError); an item the hub hands
   * over after the abort goes back to the queue (at its end: the hub has no
   * put-at-front), so none is lost. */
  async get(opts?: GetOptions | boolean, timeout?: number | null): Promise<unknown> {
    this.#checkOpen();
    const o = options(opts, timeout, 'Queue.get');
    const ms = waitMs(o, 'Queue.get');
    const signal = checkSignal(o.signal, 'Queue.get');
    // An item the hub handed over after the abort goes back, marked as a
    // requeue (not counted unfinished again; a plain shutdown keeps it).
    const r = await hubWait({ op: 'qget', obj: this._obj, ms }, signal, 'Queue.get', (late) => {
      if (!late.ok) return;
      void hubCall({ op: 'qput', obj: this._obj, bytes: late.bytes!, ms: -1, requeue: true });
    });
    return item(r, 'Queue.get');
  }

  /** `for await (const item of queue)`: takes items as get() does until
   * this process closes the queue (close() ends a loop waiting in get()) or
   * the queue is shut down and empty. */
  async *[Symbol.asyncIterator](): AsyncGenerator<unknown, void, undefined> {
    const signal = this.#closing.signal;
    for (;;) {
      if (this.#closed) return;
      let value: unknown;
      try {
        value = await this.get({ signal });
      } catch (err) {
        if (this.#closed || err instanceof ShutDown) return;
        throw err;
      }
      yield value;
    }
  }

  getSync(opts?: GetOptions | boolean, timeout?: number | null): unknown {
    this.#checkOpen();
    const ms = waitMs(options(opts, timeout, 'Queue.getSync'), 'Queue.getSync');
    return item(hubCallSync({ op: 'qget', obj: this._obj, ms }), 'Queue.getSync');
  }

  getNowait(): unknown {
    return this.getSync({ block: false });
  }

  qsize(): number {
    return hubCallSync({ op: 'qsize', obj: this._obj }).n!;
  }

  /** As Python's: a closed queue this process never put on answers true
   * (its close() was a no-op); one it put on raises OSError (its reader is
   * closed). */
  empty(): boolean {
    if (this.#closed) {
      if (!this.#used) return true;
      const err = new OSError('Queue.empty: the queue is closed in this process');
      err.code = 'EBADF';
      throw err;
    }
    return this.qsize() === 0;
  }

  full(): boolean {
    return this.qsize() >= this.#maxsize;
  }

  /** Python 3.13's Queue.shutdown(immediate=False), for every process and
   * thread using the queue: put() raises ShutDown from now on, and so do
   * the waiting ones; get() takes what is left, then raises ShutDown. With
   * immediate, what is left is dropped (a JoinableQueue counts it done, so
   * join() returns) and get() raises ShutDown at once. */
  shutdown(immediate = false): void {
    this.#checkOpen();
    if (typeof immediate !== 'boolean') {
      throw new TypeError('Queue.shutdown: immediate must be a boolean');
    }
    hubCallSync({ op: 'qshutdown', obj: this._obj, immediate });
  }

  /** True once shutdown() was called (by any process). */
  get isShutdown(): boolean {
    return hubCallSync({ op: 'qsize', obj: this._obj }).shut!;
  }

  close(): void {
    this.#closed = true;
    this.#closing.abort();
  }

  /** `using q = new Queue()`: close(). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** `await using q = new Queue()`: close() (put() already handed every
   * item to the hub). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  joinThread(): Promise<void> {
    return Promise.resolve();
  }

  cancelJoinThread(): void {}

  /** The hub's waits hold the event loop only while awaited: nothing to do. */
  unref(): this {
    return this;
  }

  [kShare](): ShareState {
    this.#checkOpen();
    return {
      kind: `forkful.hub.${this.constructor === PortableQueue ? 'Queue' : 'JoinableQueue'}`,
      state: this._handle(),
    };
  }

  /** @internal */ _handle(): QueueHandle {
    return { ...hubHandle(this._obj), maxsize: this.#maxsize };
  }

  #encodeUsed(obj: unknown): Uint8Array {
    this.#used = true;
    return encode(obj);
  }

  #checkOpen(): void {
    if (this.#closed) throw new ValueError('this Queue is closed in this process');
  }
}

/** Queue with taskDone() and join(). */
export class PortableJoinableQueue extends PortableQueue {
  constructor(maxsize: number | QueueHandle = 0) {
    super(maxsize, 'JoinableQueue');
  }

  /** Items put and not yet marked done (Python's unfinished_tasks). */
  get unfinishedTasks(): number {
    return hubCallSync({ op: 'qsize', obj: this._obj }).unfinished!;
  }

  taskDone(): void {
    hubCallSync({ op: 'qtaskdone', obj: this._obj });
  }

  /** `{ signal }` cancels the wait (AbortError). */
  async join(options?: SignalOption): Promise<void> {
    const { signal } = checkOptions(options, ['signal'], 'JoinableQueue.join');
    await hubWait(
      { op: 'qjoin', obj: this._obj, ms: -1 },
      checkSignal(signal, 'JoinableQueue.join'),
      'JoinableQueue.join',
    );
  }

  joinSync(): void {
    hubCallSync({ op: 'qjoin', obj: this._obj, ms: -1 });
  }
}

/** Python's SimpleQueue: unbounded, no timeouts. */
export class PortableSimpleQueue {
  readonly #q: PortableQueue;
  #closed = false;

  constructor(revive?: QueueHandle) {
    this.#q = new PortableQueue(revive ?? 0);
  }

  get(): Promise<unknown> {
    this.#checkOpen();
    return this.#q.get();
  }

  getSync(): unknown {
    this.#checkOpen();
    return this.#q.getSync();
  }

  put(obj: unknown): void {
    this.#checkOpen();
    this.#q.putSync(obj);
  }

  empty(): boolean {
    this.#checkOpen();
    return this.#q.empty();
  }

  close(): void {
    this.#closed = true;
    this.#q.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  [kShare](): ShareState {
    this.#checkOpen();
    return { kind: 'forkful.hub.SimpleQueue', state: this.#q._handle() };
  }

  /** After close() every use is a ValueError, as the addon's SimpleQueue
   * (queues.ts). */
  #checkOpen(): void {
    if (this.#closed) throw new ValueError('SimpleQueue is closed');
  }
}

/** How this module's kinds are revived (installed by lib/shareables.ts). */
export const portableQueueRevivers: Revivers = {
  'forkful.hub.Queue': (s) => new PortableQueue(s as QueueHandle),
  'forkful.hub.JoinableQueue': (s) => new PortableJoinableQueue(s as QueueHandle),
  'forkful.hub.SimpleQueue': (s) => new PortableSimpleQueue(s as QueueHandle),
};
