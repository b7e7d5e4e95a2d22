// Thread: a real OS thread (a worker_threads Worker with its own V8 isolate,
// which runs the next Thread once this one ended: isolates.ts)
// with Python's threading.Thread interface, and the module functions that
// describe the running threads (currentThread, enumerate, ...). One subject
// past 400 lines: a thread's life as the isolate that starts it sees it
// (start, join, the report of its exception through excepthook, its end at
// process exit or in a forked child), kept with the registry of this
// isolate's threads that every step updates. How an exception is packed
// for the trip between isolates is in exceptions.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { isMainThread, receiveMessageOnPort, threadId, workerData } from 'node:worker_threads';
import { NotSupportedError, RuntimeError, SerializationError, ValueError } from '../core/errors';
import { abortable, checkSignal, throwIfAborted, type SignalOption } from '../core/abort';
import { checkOptions } from '../core/options';
import { FOREVER, parseTimeout } from '../core/timeout';
import { blockingWaitMs } from '../core/pending-writes';
import { native } from '../core/native';
import { afterExitEmitted, processIsExiting } from '../core/node-internals';
import { encodeShareables } from '../transfer/shareable';
import { afterFork, beforeChildExit, Order } from '../runtime/lifecycle';
import { packException, unpackException, type PackedException } from './exceptions';
import { Target, TargetSpec, callerFile, describeTarget, loadTarget } from './target';
import {
  IsolateData,
  IsolateOwner,
  ThreadIsolate,
  kIsolateData,
  prestartSpare,
  takeIdle,
} from './isolates';

/** Slots of the Int32Array every Thread shares with its worker. */
export const enum Slot {
  /** 0 while the thread runs, 1 once it finished (set by the thread). */
  Done = 0,
  /** The thread's OS id; 0 until known, -1 where it cannot be read. */
  NativeId = 1,
  /** Timer only: 1 once cancel() was called. */
  Cancelled = 2,
}

/** What a forkful Thread's worker receives. */
export interface ThreadData {
  name: string;
  daemon: boolean;
  spec: TargetSpec;
  /** encodeShareables(args): structured-cloned with workerData, so
   * SharedArrayBuffers are shared and forkful objects travel by handle. */
  args: unknown[];
  /** True when args carry forkful objects (their revivers must load). */
  argsHoldShareables: boolean;
  state: Int32Array;
  /** Timer only: when to call the target (ms since the epoch). */
  fireAt?: number;
}

/** What threading.excepthook receives (Python's ExceptHookArgs). */
export interface ExceptHookArgs {
  /** The exception's class, when it is an Error of a known class. */
  excType: (new (...args: never[]) => unknown) | null;
  excValue: unknown;
  /** The stack as the thread printed it. */
  excTraceback: string | null;
  thread: Thread | null;
}

/** Set in a forkful Thread's isolate (which runs one thread after another). */
const isolateData: IsolateData<ThreadData> | undefined =
  !isMainThread && workerData && typeof workerData === 'object'
    ? (workerData as Record<string, IsolateData<ThreadData> | undefined>)[kIsolateData]
    : undefined;

// Thread-N numbers are unique in the process: every forkful thread shares
// the main thread's counter.
const counter: Int32Array = isolateData?.counter ?? new Int32Array(new SharedArrayBuffer(8));

function newName(prefix = 'Thread'): string {
  return `${prefix}-${Atomics.add(counter, 0, 1) + 1}`;
}

/** ' (f)' for a target named f (a module target: its export), as Python
 * names Thread(target=f) 'Thread-N (f)'. */
function targetSuffix(target: Target | undefined): string {
  let name: unknown;
  if (typeof target === 'function') name = target.name;
  else if (typeof target === 'object' && target !== null) name = target.export ?? 'default';
  return typeof name === 'string' && name !== '' ? ` (${name})` : '';
}

/** The OS id of the calling thread (Linux: gettid), or null where unknown. */
export function getNativeId(): number | null {
  if (native) return native.gettid() as number;
  if (process.platform === 'linux') {
    try {
      return Number(path.basename(fs.readlinkSync('/proc/thread-self')));
    } catch {
      return isMainThread ? process.pid : null;
    }
  }
  return null;
}

/** Python's get_ident(): the calling thread's worker_threads threadId (0 in
 * the main thread). */
export function getIdent(): number {
  return threadId;
}

/** The largest timeout join() and Timer accept, in seconds. */
export { TIMEOUT_MAX } from '../core/timeout';

let stackSizeBytes = 0;
/** What Node keeps of a Worker's stack for itself, below V8's limit
 * (node_worker.h kStackBufferSize): stackSize() sizes the stack JavaScript
 * gets, so this is added to it. */
const NODE_STACK_RESERVE = 192 * 1024;

/** Python's stack_size(): the stack size of threads started from now on, in
 * bytes (0: Node's default, 4 MiB): the stack their JavaScript runs on (the
 * thread's own stack is 192 KiB larger, Node's reserve). Returns the
 * previous value. */
export function stackSize(size?: number): number {
  const previous = stackSizeBytes;
  if (size !== undefined) {
    if (!Number.isInteger(size) || size < 0 || (size > 0 && size < 32768)) {
      throw new ValueError(`stack size must be 0 or at least 32768 bytes, not ${size}`);
    }
    stackSizeBytes = size;
  }
  return previous;
}

/** ms, Infinity for no limit. */
function joinMs(timeout: number | null | undefined, what: string): number {
  const t = parseTimeout(timeout, what);
  return t === FOREVER ? Infinity : t * 1000;
}

// ---- exceptions (packed by ./exceptions.ts) ---------------------------------

/** Python's default excepthook: names the thread and prints the stack. */
export function __excepthook__(args: ExceptHookArgs): void {
  const name = args.thread?.name ?? String(getIdent());
  const detail =
    args.excValue instanceof Error || args.excTraceback
      ? (args.excTraceback ?? String(args.excValue))
      : inspect(args.excValue);
  process.stderr.write(`Exception in thread ${name}:\n${detail}\n`);
}

/** Called for every exception a thread's target raised (set it with
 * setExcepthook). Runs in the thread that started the failing thread. */
export let excepthook: (args: ExceptHookArgs) => void = __excepthook__;

/** Python's `threading.excepthook = hook` (module bindings are read-only in
 * JavaScript). Pass null to restore the default. Returns the previous hook. */
export function setExcepthook(hook: ((args: ExceptHookArgs) => void) | null): typeof excepthook {
  if (hook !== null && typeof hook !== 'function') {
    throw new TypeError('excepthook must be a function (or null for the default)');
  }
  const previous = excepthook;
  excepthook = hook ?? __excepthook__;
  return previous;
}

function callExcepthook(args: ExceptHookArgs): void {
  try {
    excepthook(args);
  } catch (hookError) {
    // Python prints the hook's own failure with the default hook.
    process.stderr.write(`Exception in threading.excepthook:\n`);
    __excepthook__({
      ...args,
      excValue: hookError,
      excTraceback: (hookError as Error)?.stack ?? null,
    });
  }
}

// ---- threads at exit ------------------------------------------------------

let exitHookInstalled = false;

/** Node's teardown joins every Worker thread; a thread blocked in a native
 * wait (a forkful Lock, a futex) would then hold the process forever. When
 * the main thread's 'exit' listeners have all run and a thread still runs (a
 * daemon thread, or any thread after process.exit()), the process ends with
 * _exit, as Python does not wait for daemon threads. stdout and stderr are
 * written synchronously, so nothing is lost; Node's own teardown is skipped. */
function endWithoutJoiningThreads(): void {
  if (exitHookInstalled || !isMainThread || !native) return;
  exitHookInstalled = true;
  afterExitEmitted((code) => {
    if ([...live].some((t) => t.isAlive())) native!._exit(code);
  });
}

// ---- Thread ----------------------------------------------------------------

export interface ThreadOptions {
  /** A function (sent to the thread by source: it must be self-contained) or
   * { module, export } naming a module export. */
  target?: Target;
  /** Arguments for the target: structured-cloned; forkful objects (locks,
   * Value, Queue, local, ...) pass by handle. */
  args?: unknown[];
  name?: string;
  /** Daemon threads do not keep the process alive. Default: the creating
   * thread's daemon flag (false in the main thread). */
  daemon?: boolean | null;
}

type Role = 'own' | 'main' | 'self' | 'dummy';

/** The live threads this thread started. */
const live = new Set<Thread>();

export class Thread implements IsolateOwner {
  protected _name: string;
  protected _daemon: boolean;
  protected _target: Target | undefined;
  protected _spec: TargetSpec | null = null;
  protected _args: unknown[];
  private _role: Role;
  private _started = false;
  private _ended = false;
  private _ident: number | null = null;
  /** @internal */ _nativeId: number | null = null;
  protected _state: Int32Array | null = null;
  private _isolate: ThreadIsolate | null = null;
  private _exited: Promise<void> | null = null;
  private _onExited: (() => void) | null = null;
  private _joiners = 0;

  constructor(options: ThreadOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(
        'Thread takes an options object: new Thread({ target, args, name, daemon })',
      );
    }
    checkOptions(options, ['target', 'args', 'name', 'daemon'], 'Thread');
    const { target, args = [], name, daemon } = options;
    if (!Array.isArray(args)) throw new TypeError('Thread args must be an array');
    this._role = 'own';
    this._target = target;
    if (target !== undefined) this._spec = describeTarget(target, callerFile());
    this._args = args;
    // Python: a false name is Thread-N, followed by the target's name.
    this._name = name ? String(name) : newName() + targetSuffix(target);
    this._daemon = daemon ?? currentThread().daemon;
  }

  /** Views of threads this one did not start (main, itself, foreign Workers). */
  static _view(role: Exclude<Role, 'own'>, name: string, ident: number, daemon: boolean): Thread {
    const view = Object.create(Thread.prototype) as Thread;
    Object.assign(view, {
      _name: name,
      _daemon: daemon,
      _target: undefined,
      _spec: null,
      _args: [],
      _role: role,
      _started: true,
      _ended: false,
      _ident: ident,
      _nativeId: null,
      _state: null,
      _isolate: null,
      _exited: null,
      _onExited: null,
      _joiners: 0,
    });
    return view;
  }

  get name(): string {
    return this._name;
  }
  set name(value: string) {
    this._name = String(value);
  }

  get daemon(): boolean {
    return this._daemon;
  }
  set daemon(value: boolean) {
    if (this._started) throw new RuntimeError('cannot set daemon status of active thread');
    this._daemon = Boolean(value);
  }

  /** The thread's worker_threads threadId once started (0 for the main
   * thread), else null. */
  get ident(): number | null {
    return this._ident;
  }

  /** The thread's OS thread id (Linux: gettid) once started, else null. */
  get nativeId(): number | null {
    if (this._nativeId !== null) return this._nativeId;
    if (this._role === 'self') {
      this._nativeId = getNativeId();
    } else if (this._role === 'main') {
      this._nativeId = isMainThread
        ? getNativeId()
        : process.platform === 'linux'
          ? process.pid
          : null;
    } else if (this._state) {
      // The thread stores its id first thing; wait for it if asked earlier.
      if (Atomics.load(this._state, Slot.NativeId) === 0 && !this._ended) {
        Atomics.wait(this._state, Slot.NativeId, 0, 10000);
      }
      const id = Atomics.load(this._state, Slot.NativeId);
      if (id === 0) return null;
      this._nativeId = id > 0 ? id : null;
      return this._nativeId;
    }
    return this._nativeId;
  }

  getName(): string {
    return this.name;
  }
  setName(name: string): void {
    this.name = name;
  }
  isDaemon(): boolean {
    return this.daemon;
  }
  setDaemon(daemon: boolean): void {
    this.daemon = daemon;
  }

  isAlive(): boolean {
    if (this._role !== 'own') return this._role === 'self' || !this._ended;
    return (
      this._started &&
      !this._ended &&
      this._state !== null &&
      Atomics.load(this._state, Slot.Done) === 0
    );
  }

  /** Python's run(): calls the target in the calling thread. */
  run(): unknown {
    if (this._target === undefined) return undefined;
    if (typeof this._target === 'function') return this._target(...this._args);
    return loadTarget(this._spec!).then((fn) => fn(...this._args));
  }

  /** Starts the thread. The target runs in a new OS thread. */
  start(): void {
    if (this._role !== 'own' || this._started) {
      throw new RuntimeError('threads can only be started once');
    }
    if (this.run !== Thread.prototype.run) {
      throw new NotSupportedError(
        `${this.constructor.name} overrides run(), which cannot travel to its thread ` +
          `(threads have their own isolate). Pass the work as target instead: ` +
          `new Thread({ target, args }).`,
      );
    }
    if (processIsExiting()) {
      // Node ends the process after the 'exit' listeners: the thread would never run.
      throw new RuntimeError(
        "can't create new thread at interpreter shutdown (in an 'exit' listener)",
      );
    }
    const data = this._threadData();
    let isolate = takeIdle(stackSizeBytes);
    try {
      if (isolate) {
        isolate.run(this, data);
      } else {
        const first: IsolateData<ThreadData> = { job: data, counter };
        isolate = new ThreadIsolate(
          stackSizeBytes,
          first,
          stackSizeBytes
            ? { stackSizeMb: (stackSizeBytes + NODE_STACK_RESERVE) / (1024 * 1024) }
            : undefined,
        );
        isolate.owner = this;
      }
    } catch (err) {
      isolate?.release(true); // an idle one stays idle: nothing reached it
      if ((err as Error)?.name !== 'DataCloneError') throw err;
      throw new SerializationError(
        `cannot send the args of ${this._name}: ${(err as Error).message} (args cross by ` +
          `structured clone: functions and symbols cannot travel, class instances arrive as ` +
          `plain objects, forkful's shareable objects travel by handle and ` +
          `SharedArrayBuffers are shared)`,
        { cause: err },
      );
    }
    this._started = true;
    this._isolate = isolate;
    this._ident = isolate.threadId;
    live.add(this);
    this._exited = new Promise((resolve) => (this._onExited = resolve));
    if (this._daemon) isolate.worker.unref();
    else isolate.worker.ref();
    endWithoutJoiningThreads();
    // Threads are in use: the next one should find an isolate ready.
    prestartSpare(counter);
  }

  /** @internal Its isolate raised an error it did not catch. */
  isolateError(err: unknown): void {
    this._report(packException(err));
  }

  /** @internal Its isolate ended, and the thread with it. */
  isolateExit(): void {
    this._finish(false);
  }

  /** What the worker receives; Timer adds its schedule. */
  protected _threadData(): ThreadData {
    const spec: TargetSpec = this._spec ?? {
      kind: 'source',
      source: '(function () {})',
      name: '(no target)',
      caller: callerFile(),
    };
    const args = encodeShareables(this._args, 'thread') as unknown[];
    this._state = new Int32Array(new SharedArrayBuffer(16));
    return {
      name: this._name,
      daemon: this._daemon,
      spec,
      args,
      argsHoldShareables: args !== this._args,
      state: this._state,
    };
  }

  private _checkJoinable(): void {
    if (this._role === 'self') throw new RuntimeError('cannot join current thread');
    if (this._role !== 'own') {
      throw new RuntimeError(
        `cannot join ${this._name}: a thread can join only the threads it started`,
      );
    }
    if (!this._started) throw new RuntimeError('cannot join thread before it is started');
  }

  /** Waits until the thread ends, or `timeout` seconds pass (then check
   * isAlive()). Resolves also when the target raised. `{ signal }` stops
   * the wait (AbortError); the thread runs on. */
  async join(timeout?: number | null, options?: SignalOption): Promise<void> {
    this._checkJoinable();
    const ms = joinMs(timeout, 'Thread.join');
    const signal = checkSignal(
      checkOptions(options, ['signal'], 'Thread.join').signal,
      'Thread.join',
    );
    throwIfAborted(signal, 'Thread.join');
    if (this._ended) return;
    this._holdLoop(1);
    let timer: NodeJS.Timeout | undefined;
    try {
      const waits: Array<Promise<void>> = [this._exited!];
      if (ms !== Infinity)
        waits.push(new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))));
      await abortable(signal, 'Thread.join', Promise.race(waits), () => clearTimeout(timer));
    } finally {
      clearTimeout(timer);
      this._holdLoop(-1);
    }
  }

  /** `using t = new Thread(...)` (started): waits for it to end, blocking.
   * A thread cannot be stopped from outside (as in Python). */
  [Symbol.dispose](): void {
    if (this._role === 'own' && this._started && !this._ended) this.joinSync();
  }

  /** `await using t = new Thread(...)` (started): awaits its end. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this._role === 'own' && this._started && !this._ended) await this.join();
  }

  /** A daemon thread's Worker is unref'd, so a pending Promise alone would
   * let the joining thread's loop empty and end it (a plain Worker's threads
   * are daemon, as Python's dummy threads' are): while join() waits, the
   * Worker is ref'd, as Python's blocking join() holds its caller. */
  private _holdLoop(delta: 1 | -1): void {
    this._joiners += delta;
    const worker = this._isolate?.worker;
    if (!this._daemon || !worker) return;
    if (this._joiners > 0) worker.ref();
    else worker.unref();
  }

  /** join() that blocks the calling thread (Atomics.wait). */
  joinSync(timeout?: number | null): void {
    this._checkJoinable();
    const ms = joinMs(timeout, 'Thread.joinSync');
    if (this._ended) return;
    const state = this._state!;
    const deadline = Date.now() + ms;
    while (Atomics.load(state, Slot.Done) === 0) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      blockingWaitMs(
        left === Infinity ? -1 : left,
        (t) => Atomics.wait(state, Slot.Done, 0, t < 0 ? undefined : t),
        (r) => r === 'timed-out',
      );
    }
    // The thread reported its exception (if any), and its end (which hands
    // its isolate back for the next thread), before it set Done.
    this._drain();
  }

  /** @internal A message from its thread (through its isolate's port). */
  isolateMessage(msg: { type: string; exception?: PackedException; reusable?: boolean }): void {
    this._onMessage(msg);
  }

  private _onMessage(msg: { type: string; exception?: PackedException; reusable?: boolean }): void {
    if (msg?.type === 'exception' && msg.exception) this._report(msg.exception);
    // An isolate that cannot be reused ends: the thread ends with it (exit).
    else if (msg?.type === 'done' && msg.reusable) this._finish(true);
  }

  private _drain(): void {
    const port = this._isolate?.port;
    if (!port) return;
    for (;;) {
      const received = receiveMessageOnPort(port);
      if (!received) break;
      this._onMessage(received.message);
      if (this._ended) break; // 'done': what follows is the next thread's
    }
  }

  private _report(packed: PackedException): void {
    const { value, type } = unpackException(packed);
    callExcepthook({
      excType: type,
      excValue: value,
      excTraceback: packed.error ? (packed.stack ?? null) : null,
      thread: this,
    });
  }

  /** The thread ended: its isolate is idle again (`reusable`) or gone. */
  private _finish(reusable: boolean): void {
    if (this._ended) return;
    this._drain(); // its last reports, and 'done' (which finishes it there)
    if (this._ended) return;
    this._ended = true;
    if (this._state) {
      Atomics.store(this._state, Slot.Done, 1);
      Atomics.notify(this._state, Slot.Done);
    }
    live.delete(this);
    const isolate = this._isolate;
    this._isolate = null;
    isolate?.release(reusable);
    this._onExited?.();
  }

  /** In a forked child: the thread does not exist there. */
  _forgetAfterFork(): void {
    this._isolate?.worker.unref();
    if (this._isolate) this._isolate.exited = true;
    this._ended = true;
    this._isolate = null;
    live.delete(this);
    this._onExited?.();
  }

  toString(): string {
    let status = this._started ? 'started' : 'initial';
    if (this._started && !this.isAlive()) status = 'stopped';
    if (this._daemon) status += ' daemon';
    if (this._ident !== null) status += ` ${this._ident}`;
    return `<${this.constructor.name}(${this._name}, ${status})>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

// ---- the threads of this isolate ------------------------------------------

const mainView = Thread._view('main', 'MainThread', 0, false);
/** The calling thread's view: in a forkful Thread's isolate, the thread it
 * runs now (set by _beginThread for each). */
let selfView: Thread | null =
  isMainThread || isolateData ? null : Thread._view('self', newName('Dummy'), threadId, true);

/** In a Thread's isolate, before each thread's target: that thread's
 * identity, and a fresh start for what Python keeps per thread or a new
 * thread starts with (the excepthook of the threads it starts, the stack
 * size they get). The threads it started were joined or made it unreusable. */
export function _beginThread(data: ThreadData): void {
  selfView = Thread._view('self', data.name, threadId, data.daemon);
  excepthook = __excepthook__;
  stackSizeBytes = 0;
}

/** In a Thread's isolate, after a thread: whether a thread it started still
 * runs (its isolate then cannot be reused: the thread would outlive it). */
export function _startedThreadsAlive(): boolean {
  return [...live].some((t) => t.isAlive());
}

/** The Thread object of the calling thread: MainThread in the main thread. */
export function currentThread(): Thread {
  return selfView ?? mainView;
}

/** The main thread's Thread object. */
export function mainThread(): Thread {
  return mainView;
}

/** The live threads this thread knows: the main thread, the calling thread,
 * and the threads it started (see docs/threading.md). */
export function enumerate(): Thread[] {
  const found = [mainView];
  if (selfView) found.push(selfView);
  for (const thread of live) if (thread.isAlive()) found.push(thread);
  return found;
}

/** enumerate().length. */
export function activeCount(): number {
  return enumerate().length;
}

// prettier-ignore
afterFork("threading: the parent's threads do not exist here", Order.threading, (function forgetThreads() {
  for (const thread of [...live]) thread._forgetAfterFork();
  // This process's main thread is another OS thread than the parent's.
  mainView._nativeId = null;
}));

// Python's child runs threading._shutdown() after its target: the non-daemon
// threads it started finish before it ends (and before its queues' feeders
// flush, order 30: those threads may still put).
// prettier-ignore
beforeChildExit('threading: join the non-daemon threads', Order.transfer, (async function joinNonDaemonThreads() {
  for (const thread of [...live]) if (!thread.daemon) await thread.join();
}));
