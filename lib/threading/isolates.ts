// The isolates forkful Threads run in. Booting a Worker (a V8 isolate, Node's
// bootstrap, forkful's thread bootstrap) costs tens of ms; Python starts a
// thread in 0.1 ms. So a Thread whose target finished hands its isolate back
// here, idle, and the next Thread.start() sends its target to it: a message,
// not a boot. One spare isolate boots in the background the first time the
// main thread starts a thread. Idle isolates are unref'd (they never keep the process
// alive) and end after IDLE_MS without work, at exit, or when the idle set is
// full. What a thread must not leave to the next one is reset by the thread's
// bootstrap (bootstrap.ts), which reports whether its isolate can be reused.
import * as path from 'node:path';
import { MessageChannel, MessagePort, SHARE_ENV, Worker, isMainThread } from 'node:worker_threads';
import { packageRoot } from '../core/native';
import { afterFork, Order } from '../runtime/lifecycle';
import { countIdleThreadsWith } from '../runtime/forked-child';

/** How long an idle isolate waits for a thread before it ends. */
export const IDLE_MS = 5000;

// Under ts-jest this module is lib/threading/isolates.ts; threads always run
// the compiled bootstrap.
const bootstrapPath = __filename.endsWith('.ts')
  ? path.join(packageRoot, 'dist', 'threading', 'bootstrap.js')
  : path.join(__dirname, 'bootstrap.js');

/** What an isolate tells the Thread it runs (the Thread's side of it). */
export interface IsolateOwner {
  /** The Worker raised an error it did not catch itself. */
  isolateError(err: unknown): void;
  /** The Worker ended (its thread with it). */
  isolateExit(): void;
  /** Its thread reported (an exception, its end). */
  isolateMessage(msg: unknown): void;
}

/** What an isolate's bootstrap gets in its workerData. */
export interface IsolateData<Job> {
  /** The first thread to run, null for a spare. */
  job: Job | null;
  /** Thread-N numbers, shared by every thread of the process. */
  counter: Int32Array;
  /** Where its threads report to (exceptions, their end), one after another. */
  port?: MessagePort;
}

export class ThreadIsolate {
  readonly worker: Worker;
  /** The worker's threadId: the ident of every thread it runs. */
  readonly threadId: number;
  /** This side of the channel its threads report on. */
  readonly port: MessagePort;
  owner: IsolateOwner | null = null;
  exited = false;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly stackSize: number,
    data: IsolateData<unknown>,
    resourceLimits: { stackSizeMb: number } | undefined,
  ) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(bootstrapPath, {
      workerData: { [kIsolateData]: { ...data, port: port2 } },
      transferList: [port2],
      env: SHARE_ENV,
      stdin: false,
      trackUnmanagedFds: false,
      resourceLimits,
    });
    this.threadId = this.worker.threadId;
    this.port.on('message', (msg) => this.owner?.isolateMessage(msg));
    this.port.unref();
    this.worker.on('error', (err) => this.owner?.isolateError(err));
    this.worker.on('exit', () => {
      this.exited = true;
      this.port.close();
      forgetIdle(this);
      const owner = this.owner;
      this.owner = null;
      owner?.isolateExit();
    });
  }

  /** Sends a thread to this (idle) isolate. */
  run(owner: IsolateOwner, job: unknown): void {
    this.clearIdleTimer();
    this.owner = owner;
    this.worker.postMessage({ type: 'job', job });
  }

  /** The owner's thread finished; `reusable` is the bootstrap's verdict. */
  release(reusable: boolean): void {
    this.owner = null;
    this.worker.unref();
    if (this.exited) return;
    if (!reusable) return; // its bootstrap ends it
    if (idle.length >= maxIdle) {
      this.worker.postMessage({ type: 'end' });
      return;
    }
    idle.push(this);
    this.idleTimer = setTimeout(() => this.end(), IDLE_MS);
    this.idleTimer.unref();
  }

  /** Ends an idle isolate. */
  end(): void {
    this.clearIdleTimer();
    forgetIdle(this);
    if (!this.exited) this.worker.postMessage({ type: 'end' });
  }

  clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}

const idle: ThreadIsolate[] = [];
/** The spare isolate while it boots (then it is idle, or runs a thread). */
let spare: ThreadIsolate | null = null;

function defaultMaxIdle(): number {
  const fromEnv = process.env.FORKFUL_IDLE_THREADS;
  if (fromEnv !== undefined && /^\d+$/.test(fromEnv.trim())) return Number(fromEnv);
  return 2;
}
let maxIdle = defaultMaxIdle();

/** How many finished threads' isolates are kept idle for the next threads
 * (default 2, or FORKFUL_IDLE_THREADS); 0 ends each thread's isolate with
 * it, as before reuse, and boots no spare. Returns the previous value. */
export function idleThreads(count?: number): number {
  const previous = maxIdle;
  if (count !== undefined) {
    if (!Number.isInteger(count) || count < 0) {
      throw new RangeError(`idleThreads() takes a count of 0 or more, not ${count}`);
    }
    maxIdle = count;
    while (idle.length > maxIdle) idle[0].end();
  }
  return previous;
}

function forgetIdle(isolate: ThreadIsolate): void {
  const at = idle.indexOf(isolate);
  if (at >= 0) idle.splice(at, 1);
}

/** An idle isolate for a thread with this stack size (the most recently
 * used first: its code is the warmest), else the spare still booting (the
 * thread's message waits for it), or null. */
export function takeIdle(stackSize: number): ThreadIsolate | null {
  if (stackSize === 0 && idle.length === 0 && spare && spare.owner === null && !spare.exited) {
    const booting = spare;
    spare = null;
    return booting;
  }
  for (let i = idle.length - 1; i >= 0; i--) {
    const isolate = idle[i];
    if (isolate.stackSize !== stackSize || isolate.exited) continue;
    idle.splice(i, 1);
    isolate.clearIdleTimer();
    return isolate;
  }
  return null;
}

/** Boots a spare isolate in the background when none is idle, so the next
 * thread started finds one (threads are in use: more will come). */
export function prestartSpare(counter: Int32Array): void {
  // Only the main thread's: a thread's own threads are rarer, and a spare
  // booting inside a thread's isolate is one more to end with it.
  if (!isMainThread || maxIdle === 0 || spare || idle.length > 0) return;
  const data: IsolateData<never> = { job: null, counter };
  let booting: ThreadIsolate;
  try {
    booting = new ThreadIsolate(0, data, undefined);
  } catch {
    return; // a spare is an optimisation: the next start boots its own
  }
  spare = booting;
  booting.worker.unref();
  booting.worker.once('online', () => {
    if (spare !== booting) return; // a thread took it
    spare = null;
    booting.release(true);
  });
  booting.worker.once('exit', () => {
    if (spare === booting) spare = null;
  });
}

// Idle isolates (not a spare still booting) hold no lock at fork.
countIdleThreadsWith(() => idle.length);

/** workerData key of an isolate's IsolateData. */
export const kIsolateData = '__forkfulThread__';

// prettier-ignore
afterFork("threading: the parent's idle thread isolates do not exist here", Order.threading, (function forgetIdleIsolates() {
  for (const isolate of [...idle.splice(0), ...(spare ? [spare] : [])]) {
    isolate.clearIdleTimer();
    isolate.exited = true;
    isolate.worker.unref();
  }
  spare = null;
}));
