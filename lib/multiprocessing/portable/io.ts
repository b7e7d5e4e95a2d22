// A thread's side of the portable pipes: its I/O thread (io-worker.ts), the
// blocking and async calls to the hub, and `portableFds`, which gives
// Connection the calls it makes on the addon (sendFrame, readInto,
// waitReadable, FdWatch, ...) for the virtual fds of portable pipes. So
// Connection keeps one implementation, and a blocking call blocks in
// Atomics.wait while the I/O thread does the socket work.
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import {
  getEnvironmentData,
  isMainThread,
  MessageChannel,
  setEnvironmentData,
  receiveMessageOnPort,
  type Worker,
  type MessagePort,
} from 'node:worker_threads';
import {
  BrokenBarrierError,
  NotSupportedError,
  OSError,
  RuntimeError,
  ValueError,
} from '../../core/errors';
import { packageRoot } from '../../core/native';
import {
  COUNTER,
  LIVENESS_SLICE_MS,
  recordedEnd,
  startRecordedWorker,
} from '../../core/recorded-worker';
import { abortable, throwIfAborted } from '../../core/abort';
import { isVirtualFd, VIRTUAL_FD_BASE } from '../../transfer/fd-transfer';
import type { FdWatch } from '../../core/addon';
import { header } from '../../transfer/framing';
import { checkBeforeIsolateReuse } from '../../runtime/thread-reuse';
import type { HubReply, HubRequest } from './hub';
import type { IoWorkerData } from './io-worker';

// Run from the TypeScript sources (ts-jest, tsx), this module is
// lib/multiprocessing/portable/io.ts: the I/O thread runs the compiled one.
const IO_WORKER = __filename.endsWith('.ts')
  ? path.join(packageRoot, 'dist', 'multiprocessing', 'portable', 'io-worker.js')
  : path.join(__dirname, 'io-worker.js');

/** The environment variable that names the hub's address to spawned
 * children (and to this process's other threads). */
export const HUB_ENV = 'FORKFUL_HUB';

/** The Workers this thread starts are told the hub's address by their
 * environment data too: process.env may be a copy that Workers do not share
 * (a test runner's sandbox, such as jest's), and a Thread that found no hub
 * would start one of its own, where the objects it was given are unknown. */
function tellWorkers(address: string | undefined): void {
  setEnvironmentData(HUB_ENV, address);
}
// The main thread's environment data outlives this module (a test runner
// loads it again per test file): start from what this copy sees.
if (isMainThread) tellWorkers(process.env[HUB_ENV] || undefined);

export type Request = HubRequest extends infer R
  ? R extends HubRequest
    ? Omit<R, 'id'>
    : never
  : never;

interface Pending {
  resolve(r: HubReply): void;
  refed: boolean;
}

let testScript: string | null = null;

/** @internal Tests only: the I/O thread runs `script` (a file) instead of
 * io-worker.js, from the next client made on; null restores it. */
export function _ioWorkerScriptForTests(script: string | null): void {
  testScript = script;
  client = null;
}

class IoClient {
  readonly #port: MessagePort;
  readonly #words: Int32Array;
  readonly #worker: Worker;
  readonly #role: 'hub' | 'client';
  readonly #address: string;
  #next = 1;
  readonly #async = new Map<number, Pending>();
  readonly #sync = new Map<number, HubReply>();
  #refs = 0;
  #lost: RuntimeError | null = null;

  constructor(role: 'hub' | 'client', address: string) {
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    this.#role = role;
    this.#address = address;
    // The I/O thread records its end (lib/core/recorded-worker.ts): a
    // blocking call looks at it between slices of its wait.
    const data: Omit<IoWorkerData, 'counter'> = { role, address, port: port2 };
    const { worker, words } = startRecordedWorker(testScript ?? IO_WORKER, data, [port2]);
    this.#worker = worker;
    this.#words = words;
    this.#worker.unref();
    // Async calls learn of the thread's end here (the event loop runs).
    this.#worker.on('error', () => {});
    this.#worker.on('exit', () => this.#failPending());
    this.#port.on('message', (r: HubReply) => this.#dispatch(r));
    this.#port.unref();
  }

  #dispatch(r: HubReply): void {
    const p = this.#async.get(r.id);
    if (p) {
      this.#async.delete(r.id);
      if (p.refed) this.#unref();
      p.resolve(r);
    } else {
      this.#sync.set(r.id, r);
    }
  }

  // While an async call keeps the event loop alive, so does the I/O thread:
  // its end (the 'exit' event) must be seen to settle the call.
  #ref(): void {
    if (this.#refs++ > 0) return;
    this.#port.ref();
    this.#worker.ref();
  }

  #unref(): void {
    if (--this.#refs > 0) return;
    this.#port.unref();
    this.#worker.unref();
  }

  /** The error every call gets once the I/O thread has ended, or null
   * while it lives. */
  #ended(): RuntimeError | null {
    if (this.#lost) return this.#lost;
    const why = recordedEnd(this.#words);
    if (why === null) return null;
    this.#lost = new RuntimeError(
      `forkful's portable I/O thread (which carries this thread's calls to the ` +
        `${this.#role === 'hub' ? 'hub it serves' : `hub at ${this.#address}`}) ended: ${why}. ` +
        `Pipes, queues, locks and shared values of the portable backend cannot be used in ` +
        `this thread any more`,
    );
    if (this.#role === 'hub' && process.env[HUB_ENV] === this.#address) {
      delete process.env[HUB_ENV]; // no child may look for this hub
      tellWorkers(undefined);
    }
    return this.#lost;
  }

  /** Ends the pending async calls with the I/O thread's end. */
  #failPending(): void {
    const lost = this.#ended() ?? new RuntimeError("forkful's portable I/O thread ended");
    this.#lost = lost;
    const error = { code: 'RuntimeError', message: lost.message };
    for (const id of [...this.#async.keys()]) this.#dispatch({ id, error });
  }

  /** Blocks until the hub replies; RuntimeError once the I/O thread has
   * ended (it is looked at every LIVENESS_SLICE_MS: a blocking call never
   * outwaits the thread that would answer it). */
  callSync(req: Request): HubReply {
    const lost = this.#ended();
    if (lost) throw lost;
    const id = this.#next++;
    // Bytes (always in a buffer of their own here) are moved, not cloned.
    const bytes = (req as { bytes?: Uint8Array }).bytes;
    this.#port.postMessage({ ...req, id }, bytes ? [bytes.buffer as ArrayBuffer] : []);
    for (;;) {
      const seen = Atomics.load(this.#words, COUNTER);
      for (let m = receiveMessageOnPort(this.#port); m; m = receiveMessageOnPort(this.#port)) {
        this.#dispatch(m.message as HubReply);
      }
      const r = this.#sync.get(id);
      if (r) {
        this.#sync.delete(id);
        return r;
      }
      const ended = this.#ended();
      if (ended) throw ended;
      Atomics.wait(this.#words, COUNTER, seen, LIVENESS_SLICE_MS);
    }
  }

  /** Resolves with the hub's reply; `refed` keeps the event loop alive
   * meanwhile. Once the I/O thread has ended, the reply is its error. */
  call(req: Request, refed = true): { id: number; reply: Promise<HubReply> } {
    const id = this.#next++;
    const lost = this.#ended();
    if (lost) {
      return {
        id,
        reply: Promise.resolve({ id, error: { code: 'RuntimeError', message: lost.message } }),
      };
    }
    const reply = new Promise<HubReply>((resolve) => {
      this.#async.set(id, { resolve, refed });
    });
    if (refed) this.#ref();
    this.#port.postMessage({ ...req, id });
    return { id, reply };
  }
  /** True once the I/O thread has ended. */
  get ended(): boolean {
    return this.#ended() !== null;
  }

  /** A message to the I/O thread that has no reply. */
  post(req: Request): void {
    if (this.#ended()) return;
    this.#port.postMessage({ ...req, id: 0 });
  }

  /** Whether the async call `id` (still pending) keeps the event loop alive. */
  setRefed(id: number, refed: boolean): void {
    const p = this.#async.get(id);
    if (!p || p.refed === refed) return;
    p.refed = refed;
    if (refed) {
      this.#ref();
    } else {
      this.#unref();
    }
  }
}

let client: IoClient | null = null;

function newAddress(): string {
  const name = `forkful-${process.pid}-${randomBytes(6).toString('hex')}`;
  return process.platform === 'win32'
    ? `\\\\.\\pipe\\${name}`
    : path.join(os.tmpdir(), `${name}.sock`);
}

/** This thread's client, with the hub started on first use where no
 * ancestor (process or thread) started one. */
function io(): IoClient {
  if (client) return client;
  // The hub knows this thread by its connection: what the thread holds
  // there (a lock, a lease) is let go when the connection closes, so a
  // Thread that used the hub ends its isolate with it.
  if (!isMainThread) checkBeforeIsolateReuse(() => 'it used the portable hub');
  const inherited =
    process.env[HUB_ENV] || (isMainThread ? undefined : (getEnvironmentData(HUB_ENV) as string));
  if (inherited) {
    tellWorkers(inherited);
    return (client = new IoClient('client', inherited));
  }
  // A Worker that no forkful thread started (a test runner's, say) may be
  // the first to need one: its hub serves it and what it starts (its copy
  // of the environment is what they inherit).
  const address = newAddress();
  client = new IoClient('hub', address);
  // Spawned children and the Workers this thread starts (which copy
  // process.env, and its environment data) find the hub here.
  process.env[HUB_ENV] = address;
  tellWorkers(address);
  if (process.platform !== 'win32') {
    process.once('exit', () => {
      try {
        fs.unlinkSync(address);
      } catch {
        // already gone
      }
    });
  }
  return client;
}

/** The reply, or its error as forkful's typed error. */
export function check(r: HubReply): HubReply {
  if (r.error) {
    const { code, message } = r.error;
    if (code === 'ValueError') throw new ValueError(message);
    if (code === 'RuntimeError') throw new RuntimeError(message);
    if (code === 'BrokenBarrierError') throw new BrokenBarrierError(message);
    const err = new OSError(message);
    err.code = code;
    throw err;
  }
  return r;
}

/** A blocking request to the hub (the caller waits in Atomics.wait). */
export function hubCallSync(req: Request): HubReply {
  return check(io().callSync(req));
}

/** A request to the hub, awaited; `refed` keeps the event loop alive meanwhile. */
export async function hubCall(req: Request, refed = true): Promise<HubReply> {
  return check(await io().call(req, refed).reply);
}

/** A message to this thread's I/O thread that has no reply. */
export function ioPost(req: Request): void {
  io().post(req);
}

/** True once this thread's I/O thread has ended (its hub connection with it). */
export function ioEnded(): boolean {
  return client !== null && client.ended;
}

/** hubCall with the request's id, which a later request may name (to
 * cancel a Condition's wait). */
export function hubCallWithId(req: Request): { id: number; reply: Promise<HubReply> } {
  const { id, reply } = io().call(req);
  return { id, reply: reply.then(check) };
}

/** An async hub wait that `signal` cancels: on abort the hub ends the
 * wait (as its timeout would) and the call rejects with AbortError; a
 * reply that succeeded just too late goes to `late`, to be undone. */
export function hubWait(
  req: Request,
  signal: AbortSignal | null,
  what: string,
  late?: (r: HubReply) => void,
): Promise<HubReply> {
  throwIfAborted(signal, what);
  const { id, reply } = hubCallWithId(req);
  if (!signal) return reply;
  const cancel = () => void hubCall({ op: 'cancel', wait: id }, false).catch(() => {});
  return abortable(signal, what, reply, cancel, late);
}

function end(fd: number): number {
  if (!isVirtualFd(fd)) {
    throw new NotSupportedError(
      `internal: a raw file descriptor (${fd}) reached the portable pipes unadopted`,
    );
  }
  return fd - VIRTUAL_FD_BASE;
}

/** `new Connection(fd)` without the addon: this thread's I/O thread takes
 * the fd (a socket or pipe; it is closed with the Connection) and bridges
 * it to a pipe end of the hub, whose virtual fd the Connection uses. */
export function adoptFd(fd: number): number {
  const r = check(io().callSync({ op: 'adopt', fd }));
  claimHubTicket(r.ticket!);
  return VIRTUAL_FD_BASE + r.obj!;
}

/** A hold on a hub object (a pipe's end, a queue, a lock) for a receiver
 * (a thread or spawned child) to claim. */
export function hubTicket(id: number): number {
  return check(io().callSync({ op: 'ticket', end: id })).ticket!;
}

/** Takes the hold a sender made for this thread. */
export function claimHubTicket(ticket: number): void {
  check(io().callSync({ op: 'claim', ticket }));
}

/** The end's hold for a receiver, for a Connection over a virtual fd. */
export function portableTicket(fd: number): number | undefined {
  return isVirtualFd(fd) ? hubTicket(end(fd)) : undefined;
}

export const claimPortableTicket = claimHubTicket;

/** A uv_poll watch, on a portable pipe: `callback` runs while data (or end
 * of file) is there and the watch is started. Writes never wait for room
 * (the hub keeps what is written), so a writable watch fires at once. */
class PortableWatch implements FdWatch {
  readonly #end: number;
  readonly #callback: () => void;
  readonly #writable: boolean;
  #started = false;
  #closed = false;
  #refed = true;
  #inflight: number | null = null;

  constructor(fd: number, callback: () => void, writable = false) {
    this.#end = end(fd);
    this.#callback = callback;
    this.#writable = writable;
  }

  start(): void {
    if (this.#closed) return;
    this.#started = true;
    this.#schedule();
  }

  stop(): void {
    this.#started = false;
    if (this.#inflight !== null) io().setRefed(this.#inflight, false);
  }

  close(): void {
    this.stop();
    this.#closed = true;
  }

  ref(): void {
    this.#refed = true;
    if (this.#inflight !== null && this.#started) io().setRefed(this.#inflight, true);
  }

  unref(): void {
    this.#refed = false;
    if (this.#inflight !== null) io().setRefed(this.#inflight, false);
  }

  #schedule(): void {
    if (this.#writable) {
      setImmediate(() => {
        if (this.#started && !this.#closed) this.#callback();
      });
      return;
    }
    if (this.#inflight !== null) {
      if (this.#refed) io().setRefed(this.#inflight, true);
      return;
    }
    const { id, reply } = io().call({ op: 'poll', end: this.#end, ms: -1 }, this.#refed);
    this.#inflight = id;
    void reply.then(() => {
      this.#inflight = null;
      if (!this.#started || this.#closed) return;
      this.#callback();
      if (this.#started && !this.#closed) this.#schedule();
    });
  }
}

/** What Connection calls on the addon, for portable pipes. */
export const portableFds = {
  socketpair(): [number, number] {
    const [a, b] = check(io().callSync({ op: 'pipe', duplex: true })).ends!;
    return [VIRTUAL_FD_BASE + a, VIRTUAL_FD_BASE + b];
  },
  nbPipe(): [number, number] {
    const [r, w] = check(io().callSync({ op: 'pipe', duplex: false })).ends!;
    return [VIRTUAL_FD_BASE + r, VIRTUAL_FD_BASE + w];
  },
  sendFrame(fd: number, body: Uint8Array, offset = 0, size = body.length - offset): void {
    const h = header(size);
    const bytes = Buffer.allocUnsafeSlow(h.length + size);
    h.copy(bytes, 0);
    Buffer.from(body.buffer, body.byteOffset + offset, size).copy(bytes, h.length);
    check(io().callSync({ op: 'write', end: end(fd), bytes }));
  },
  writeSome(fd: number, buffer: Uint8Array, offset: number, length: number): number {
    const bytes = Buffer.allocUnsafeSlow(length); // moved to the I/O thread
    bytes.set(buffer.subarray(offset, offset + length));
    check(io().callSync({ op: 'write', end: end(fd), bytes }));
    return length;
  },
  readInto(fd: number, buffer: Uint8Array, offset: number, length: number): number {
    const r = io().callSync({ op: 'read', end: end(fd), max: length });
    if (r.eof) return 0;
    check(r);
    if (r.again) return -1;
    buffer.set(r.bytes!, offset);
    return r.bytes!.length;
  },
  waitReadable(fd: number, timeoutMs: number): boolean {
    const r = io().callSync({ op: 'poll', end: end(fd), ms: timeoutMs < 0 ? -1 : timeoutMs });
    if (r.ready) return true;
    check(r);
    return false;
  },
  close(fd: number): void {
    check(io().callSync({ op: 'close', end: end(fd) }));
  },
  FdWatch: PortableWatch,
};
