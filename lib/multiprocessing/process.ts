// multiprocessing.Process: a child process that runs one function, on the
// fork or the spawn backend (start-method.ts). Python's rules: names
// Process-N (Process-N:M in a child), daemonic children are terminated and
// the others joined when the parent exits, a daemonic process may not have
// children. Waits: join() returns a Promise, joinSync() blocks.
import { EventEmitter } from 'node:events';
import { afterFork, atExit, Order } from '../runtime/lifecycle';
import { currentAuthkey, currentIdentity, setCurrentAuthkey } from '../runtime/identity';
import { authkeyBytes } from './connection-auth';
import type { ChildHandle, StartMethod } from './start/types';
import { abortable, checkSignal, throwIfAborted, type SignalOption } from '../core/abort';
import { ProcessError, RuntimeError, ValueError } from '../core/errors';
import { debug } from '../core/debug';
import { checkOptions } from '../core/options';
import { parseTimeout, timeoutMs } from '../core/timeout';
import { blockingWaitMs } from '../core/pending-writes';
import { cpuCount as osCpuCount } from '../os';
import { backendFor, getStartMethod } from './start-method';
import { closeSentinel, kEnded, kLost, sentinelOf } from './sentinel';
import { ParentProcess } from './process-parent';
import { info } from '../runtime/logging';

const SIGINT = 2;
const SIGTERM = 15;
const SIGKILL = 9;

// The arguments of a target the types know nothing about (a subclass's, or
// one typed loosely): any list, as before targets were checked.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyArgs = any[];

/** A Process's options; `A` is the target's parameter list, so `args` is
 * checked against it: `new Process({ target: (n: number) => n, args: ['x'] })`
 * does not compile. */
export interface ProcessOptions<A extends unknown[] = AnyArgs> {
  /** The function the child runs (run() calls it); may be async. */
  target?: (...args: A) => unknown;
  args?: A;
  /** Default: Process-N (Process-N:M in a child). */
  name?: string;
  /** Default: whether the creating process is daemonic (false in the main process). */
  daemon?: boolean;
}

let counter = 0;
/** Started children not yet known to have ended (Python's _children). */
const children = new Set<Process>();

// Parenthesised: V8 compiles it with the module, not again in every child.
// prettier-ignore
afterFork('multiprocessing: forget the parent\'s children', Order.multiprocessing, (function forgetChildren() {
  // The parent's children are not ours: forget them, stop watching them.
  for (const child of children) child._detach();
  children.clear();
  counter = 0;
}));

/** The target of a Process without one (compiled eagerly, as above). */
// prettier-ignore
const noTarget = (function noTarget(): undefined {
  return undefined;
});

function secondsToMs(timeout: number | null | undefined, what: string): number {
  return timeoutMs(parseTimeout(timeout, what));
}

type Target = (...args: unknown[]) => unknown;

/** Emits 'exit' (exitcode) once the child has ended. */
export class Process<A extends unknown[] = AnyArgs> extends EventEmitter {
  #target: Target | null;
  #args: unknown[];
  #name: string;
  #daemon: boolean;
  #identity: number[];
  #authkey: Buffer;
  #handle: ChildHandle | null = null;
  #exitcode: number | null = null;
  #closed = false;
  /** Settles the pending join()s: with the error when the end is lost. */
  #joiners: Array<(err?: Error) => void> = [];
  /** The start method; null: the global one at start(). */
  protected _startMethod: StartMethod | null = null;

  constructor(options: ProcessOptions<A> = {}) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(
        'Process takes an options object: new Process({ target, args, name, daemon })',
      );
    }
    checkOptions(options, ['target', 'args', 'name', 'daemon'], 'Process');
    if (
      options.target !== undefined &&
      options.target !== null &&
      typeof options.target !== 'function'
    ) {
      throw new TypeError('Process: target must be a function');
    }
    if (options.args !== undefined && !Array.isArray(options.args)) {
      throw new TypeError('Process: args must be an array');
    }
    counter += 1;
    const parent = currentIdentity();
    this.#identity = [...parent.identity, counter];
    this.#target = (options.target as Target | undefined) ?? null;
    this.#args = options.args ? [...options.args] : [];
    this.#name =
      options.name !== undefined ? String(options.name) : `Process-${this.#identity.join(':')}`;
    this.#daemon = options.daemon ?? parent.daemon;
    this.#authkey = currentAuthkey();
  }

  /** What the child runs: calls target(...args). Subclasses may override it
   * (fork start method; with spawn, pass a target). */
  run(): unknown {
    if (this.#target) return this.#target(...this.#args);
    return undefined;
  }

  /** Starts the child. */
  start(): void {
    this.#checkNotClosed();
    if (this.#handle) throw new RuntimeError('cannot start a process twice');
    if (currentIdentity().daemon) {
      throw new ProcessError('daemonic processes are not allowed to have children');
    }
    const method = this._startMethod ?? (getStartMethod() as StartMethod);
    const overridden = Object.getPrototypeOf(this).run !== Process.prototype.run;
    let target: Target;
    let args: unknown[];
    if (!overridden) {
      // What run() would do; a forked child then runs no function the
      // parent has not compiled (run() has never run here).
      target = this.#target ?? noTarget;
      args = this.#args;
    } else if (method === 'spawn') {
      throw new ProcessError(
        `${this.constructor.name} overrides run(), which cannot travel to a spawned process: ` +
          `pass { target } instead, or use the 'fork' start method`,
      );
    } else {
      target = () => this.run();
      args = [];
    }
    const handle = backendFor(method).start({
      target,
      args,
      name: this.#name,
      daemon: this.#daemon,
      identity: this.#identity,
      parentName: currentIdentity().name,
      authkey: this.#authkey,
    });
    this.#handle = handle;
    // As Python: the child has them now; the parent lets them be collected.
    this.#target = null;
    this.#args = [];
    debug('%s: started, pid %d (%s)', this.#name, handle.pid, method);
    children.add(this);
    handle.onExit((code) => this.#finish(code));
    handle.onLost?.((err) => this.#lose(err));
    if (this.#daemon) handle.unref();
  }

  /** Resolves when the child has ended, or after `timeout` seconds (then
   * check exitcode / isAlive(), as in Python). `{ signal }` stops the wait
   * (AbortError); the child runs on. */
  join(timeout: number | null = null, options?: SignalOption): Promise<void> {
    const ms = secondsToMs(timeout, 'Process.join');
    const signal = checkSignal(
      checkOptions(options, ['signal'], 'Process.join').signal,
      'Process.join',
    );
    this.#checkJoinable();
    throwIfAborted(signal, 'Process.join');
    try {
      if (this.exitcode !== null) return Promise.resolve();
    } catch (err) {
      return Promise.reject(err as Error); // its end can no longer be learnt
    }
    let timer: NodeJS.Timeout | null = null;
    let done = (_err?: Error) => {};
    const stop = () => {
      if (timer) clearTimeout(timer);
      const i = this.#joiners.indexOf(done);
      if (i >= 0) this.#joiners.splice(i, 1);
    };
    const waited = new Promise<void>((resolve, reject) => {
      done = (err?: Error) => {
        stop();
        if (err) reject(err);
        else resolve();
      };
      this.#joiners.push(done);
      if (ms >= 0) timer = setTimeout(() => done(), ms);
    });
    return abortable(signal, 'Process.join', waited, stop);
  }

  /** Blocks until the child has ended, or for `timeout` seconds. */
  joinSync(timeout: number | null = null): void {
    const ms = secondsToMs(timeout, 'Process.joinSync');
    this.#checkJoinable();
    if (this.#exitcode !== null) return;
    const handle = this.#handle!;
    const code = blockingWaitMs(
      ms,
      (t) => handle.waitSync(t),
      (c) => c === null,
    );
    if (code !== null) this.#finish(code);
  }

  isAlive(): boolean {
    this.#checkNotClosed();
    if (!this.#handle) return false;
    return this.exitcode === null;
  }

  get pid(): number | undefined {
    this.#checkNotClosed();
    return this.#handle?.pid;
  }

  /** A number that connection.wait() reports ready once the process has
   * ended (Python's sentinel). With the addon it is a file descriptor
   * (a pidfd) that any poll(2) can watch; without it, a token only
   * connection.wait() and waitAsync() know. Closed by close(). */
  get sentinel(): number {
    this.#checkNotClosed();
    if (!this.#handle) throw new ValueError('process not started');
    return sentinelOf(this);
  }

  /** Python's ident: the pid. */
  get ident(): number | undefined {
    return this.pid;
  }

  /** @internal For the sentinel: whether the child has ended. */
  [kEnded](): boolean {
    return this.exitcode !== null;
  }

  /** null while running (or not started); the exit code, or minus the
   * number of the signal that ended it. */
  get exitcode(): number | null {
    this.#checkNotClosed();
    if (this.#handle && this.#exitcode === null) {
      const code = this.#handle.waitSync(0);
      if (code !== null) this.#finish(code);
    }
    return this.#exitcode;
  }

  get name(): string {
    return this.#name;
  }
  set name(value: string) {
    this.#name = String(value);
  }

  /** Python's Process.authkey: the child's currentProcess().authkey, by
   * default this process's. Set it before start() to give the child
   * another (a Buffer, Uint8Array or string; kept as a copy). */
  get authkey(): Buffer {
    return Buffer.from(this.#authkey);
  }
  set authkey(value: Buffer | Uint8Array | string) {
    this.#authkey = Buffer.from(authkeyBytes(value, 'Process.authkey'));
  }

  get daemon(): boolean {
    return this.#daemon;
  }
  set daemon(value: boolean) {
    if (this.#handle) throw new RuntimeError('cannot set daemon status of an active process');
    this.#daemon = Boolean(value);
  }

  /** Sends SIGTERM. */
  terminate(): void {
    this.#signal(SIGTERM);
  }

  /** Sends SIGKILL. */
  kill(): void {
    this.#signal(SIGKILL);
  }

  /** Sends SIGINT (Python 3.14's Process.interrupt). Node has no
   * KeyboardInterrupt: a child with a process.on('SIGINT') listener runs
   * it; one without ends by the signal (exitcode -2). */
  interrupt(): void {
    this.#signal(SIGINT);
  }

  /** `using p = new Process(...)`: terminates the child if it still runs,
   * waits for it to end (blocking), and releases it. */
  [Symbol.dispose](): void {
    if (this.#closed) return;
    if (this.#handle && this.exitcode === null) {
      this.terminate();
      this.joinSync(1);
      if (this.exitcode === null) this.kill();
      this.joinSync();
    }
    this.close();
  }

  /** `await using p = new Process(...)`: terminates the child if it still
   * runs, awaits its end, and releases it. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) return;
    if (this.#handle && this.exitcode === null) {
      this.terminate();
      await this.join(1);
      if (this.exitcode === null) this.kill();
      await this.join();
    }
    this.close();
  }

  /** Releases the process object; it must have ended. */
  close(): void {
    if (this.#closed) return;
    if (this.#handle && this.exitcode === null) {
      throw new ValueError(
        `cannot close a process while it is still running; join() or terminate() it first`,
      );
    }
    this.#closed = true;
    children.delete(this);
    closeSentinel(this);
  }

  toString(): string {
    const state = this.#closed
      ? 'closed'
      : !this.#handle
        ? 'initial'
        : this.#exitcode === null
          ? 'started'
          : `stopped exitcode=${this.#exitcode}`;
    const pid = this.#handle ? ` pid=${this.#handle.pid}` : '';
    return `<${this.constructor.name} name='${this.#name}'${pid} ${state}${this.#daemon ? ' daemon' : ''}>`;
  }

  /** @internal In a forked child: this child belongs to the parent. */
  _detach(): void {
    this.#handle?.detach();
  }

  #signal(sig: number): void {
    this.#checkNotClosed();
    if (!this.#handle || this.exitcode !== null) return;
    try {
      this.#handle.kill(sig);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ESRCH') throw err;
    }
  }

  #finish(code: number): void {
    if (this.#exitcode !== null) return;
    this.#exitcode = code;
    debug('%s: pid %d exited with code %d', this.#name, this.#handle?.pid, code);
    children.delete(this);
    for (const done of this.#joiners.splice(0)) done();
    this.emit('exit', code);
  }

  /** The watch of the child ended before its end was seen: the pending
   * joins fail as joinSync() and exitcode do from now on, and the
   * sentinel's waits wake to learn it. */
  #lose(err: Error): void {
    if (this.#exitcode !== null) return;
    debug('%s: pid %d lost: %s', this.#name, this.#handle?.pid, err.message);
    children.delete(this);
    for (const done of this.#joiners.splice(0)) done(err);
    this.emit(kLost);
  }

  #checkNotClosed(): void {
    if (this.#closed) throw new ValueError('process object is closed');
  }

  #checkJoinable(): void {
    this.#checkNotClosed();
    if (!this.#handle) throw new RuntimeError('can only join a started process');
  }
}

/** What currentProcess() and parentProcess() return. */
export interface ProcessInfo {
  readonly name: string;
  readonly pid: number;
  readonly ident: number;
  readonly daemon: boolean;
  /** Always null: this process is running. */
  readonly exitcode: null;
  /** Python's current_process().authkey: 32 random bytes in the main
   * process, a child's inherited from its Process. Setting it changes the
   * key of the Processes created afterwards. */
  authkey: Buffer;
  isAlive(): boolean;
}

/** This process: MainProcess, or in a child its name, pid and daemon flag. */
export function currentProcess(): ProcessInfo {
  const id = currentIdentity();
  return {
    name: id.name,
    pid: process.pid,
    ident: process.pid,
    daemon: id.daemon,
    exitcode: null,
    get authkey(): Buffer {
      return Buffer.from(currentAuthkey());
    },
    set authkey(value: Buffer | Uint8Array | string) {
      setCurrentAuthkey(authkeyBytes(value, 'currentProcess().authkey'));
    },
    isAlive: () => true,
  };
}

/** The process that started this one, as Python's parent_process(): its
 * name, pid, isAlive(), join(timeout) / joinSync(timeout) and sentinel;
 * null in the main process. */
export function parentProcess(): ParentProcess | null {
  const id = currentIdentity();
  if (id.parentPid === null) return null;
  return ParentProcess.of(id.parentPid, id.parentName ?? 'MainProcess');
}

/** The children still running (the finished ones are reaped, as in Python). */
export function activeChildren(): Process[] {
  return [...children].filter((child) => child.exitcode === null);
}

/** Python's multiprocessing.cpu_count(). */
export function cpuCount(): number {
  return osCpuCount();
}

// Python's exit rules: at exit, daemonic children are terminated and the
// others joined.
atExit('multiprocessing: join or terminate the children', Order.multiprocessing, () => {
  info('process shutting down');
  const running = [...children];
  for (const child of running) {
    try {
      if (child.daemon) {
        info('calling terminate() for daemon %s', child.name);
        child.terminate();
        child.joinSync(1);
        if (child.exitcode === null) child.kill();
        child.joinSync(1);
      } else {
        info('calling join() for process %s', child.name);
        child.joinSync();
      }
    } catch {
      // The process is ending; nothing more can be done for this child.
    }
    // No exit notification may arrive during Node's teardown.
    child._detach();
  }
});
