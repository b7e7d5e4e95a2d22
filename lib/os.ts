// forkful/os: Python's os process functions, on the real system calls.
import { debug } from './core/debug';
import { checkOptions } from './core/options';
import * as nodeOs from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { ForkError, NotSupportedError, RuntimeError, ValueError } from './core/errors';
import { processIsExiting } from './core/node-internals';
import { native, requireNative } from './core/native';
import type { Rusage } from './core/addon';
export type { Rusage } from './core/addon';
import {
  emitThreadWarning,
  onForkedChildIdle,
  prepareForkedChild,
  threadWarningBeforeFork,
} from './runtime/forked-child';
import { installTimerTracking, isolateForkedChild } from './runtime/child-isolation';
import { currentAuthkey } from './runtime/identity';

// Timers made from now on can be made inert in an isolated forked child.
if (native && process.platform !== 'win32') installTimerTracking();

export const WNOHANG = native?.WNOHANG ?? 1;
export const WUNTRACED = native?.WUNTRACED ?? 2;

function needFork(what: string) {
  if (process.platform === 'win32') {
    throw new NotSupportedError(
      `os.${what}() is not available on Windows, which has no fork(). ` +
        `Use multiprocessing (Process, Pool), which runs on the spawn backend there.`,
    );
  }
  return requireNative(`os.${what}()`);
}

export interface ForkOptions {
  /**
   * false (the default, as Python's os.fork): the child keeps everything it
   * inherited: it accepts on the parent's listening servers (what a
   * pre-fork server wants), reads its sockets, and the parent's timers fire
   * in it too. true: the child starts clean, as a multiprocessing Process
   * child does: the parent's servers and sockets are closed in the child
   * (not for the parent), its timers and immediates never fire there, and
   * its child processes are not waited for.
   */
  isolate?: boolean;
}

/**
 * Forks the running Node process. Returns 0 in the child and the child's pid
 * in the parent. The child is a copy of the parent at this instant: its
 * memory, closures and (unless `isolate`) open handles. It never reads the
 * IPC channel to the parent's own parent (process.send is unavailable
 * there). It never runs Node's teardown: when its work is done (or it calls
 * process.exit / os._exit) it flushes stdout and stderr and ends with _exit.
 */
export function fork(options: ForkOptions = {}): number {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('fork() takes an options object: fork({ isolate: true })');
  }
  checkOptions(options, ['isolate'], 'fork()');
  const addon = needFork('fork');
  if (!isMainThread) {
    throw new ForkError(
      'fork() can only be called from the main thread; a Worker or Thread cannot fork',
    );
  }
  if (processIsExiting()) {
    // Python 3.12: the child would run Node's teardown half done.
    throw new RuntimeError("can't fork at interpreter shutdown (in an 'exit' listener)");
  }
  const threadWarning = threadWarningBeforeFork();
  currentAuthkey(); // made now, so that parent and child share it
  const pid = forkWithWorkersParked(addon);
  if (pid === 0) {
    prepareForkedChild();
    if (options.isolate) isolateForkedChild(false);
  } else {
    debug('os.fork: child %d forked', pid);
    if (threadWarning) emitThreadWarning(threadWarning);
  }
  return pid;
}

/** The first bound of one try at parking V8's workers; each later try
 * doubles it, up to PARK_LONGEST_MS. A park takes well under 1 ms. */
const PARK_FIRST_MS = 100;
const PARK_LONGEST_MS = 2000;
/** How long fork() goes on trying before it gives up (the event loop is
 * blocked meanwhile). FORKFUL_TEST_PARK_BUDGET_MS (tests only) shortens it. */
const PARK_BUDGET_MS = Number(process.env.FORKFUL_TEST_PARK_BUDGET_MS) || 10000;

/**
 * The native fork, which first parks V8's platform workers (each inside a
 * task of ours). A worker that does not take its task within the bound may
 * be waiting for this very thread (a background allocation waiting for the
 * GC it asked the main thread for, serviced only where JavaScript runs): the
 * try gives up, this loop runs JavaScript, and the next try waits longer.
 */
function forkWithWorkersParked(addon: NonNullable<typeof native>): number {
  const start = Date.now();
  let tries = 0;
  for (let bound = PARK_FIRST_MS; ; bound = Math.min(bound * 2, PARK_LONGEST_MS)) {
    const left = PARK_BUDGET_MS - (Date.now() - start);
    const pid = addon.fork(onForkedChildIdle, Math.max(1, Math.min(bound, left)));
    tries++;
    if (pid !== -1) return pid;
    if (Date.now() - start >= PARK_BUDGET_MS) {
      throw new ForkError(
        `fork() was not attempted: V8's platform workers did not all become idle within ` +
          `${PARK_BUDGET_MS / 1000} s (${tries} ${tries === 1 ? 'try' : 'tries'}, JavaScript run between them): ` +
          `${addon.parkStall()}. A worker "running" is in a long job (a GC or a compile of a ` +
          `big heap): try again, or fork earlier, before the heap grows; one "sleeping" waits ` +
          `for something (maybe for this thread's event loop): fork again after an await.`,
      );
    }
    debug(
      'os.fork: V8 workers not parked within %d ms (%s); trying again',
      bound,
      addon.parkStall(),
    );
  }
}

export function getpid(): number {
  return native ? native.getpid() : process.pid;
}

export function getppid(): number {
  return native ? native.getppid() : process.ppid;
}

/** Waits for a child: `[pid, status]`, or `[0, 0]` with WNOHANG while it runs. */
export function waitpid(pid: number, options = 0): [number, number] {
  return needFork('waitpid').waitpid(pid, options);
}

/** Waits for the child `pid` (-1: any child) and reports its resource use:
 * `[pid, status, rusage]` (Python's os.wait4); with WNOHANG while it runs,
 * `[0, 0, rusage]` with every field 0. */
export function wait4(pid: number, options = 0): [number, number, Rusage] {
  return needFork('wait4').wait4(pid, options);
}

/** wait4(-1, options): any child (Python's os.wait3). */
export function wait3(options = 0): [number, number, Rusage] {
  return needFork('wait3').wait4(-1, options);
}

export function WIFEXITED(status: number): boolean {
  return (status & 0x7f) === 0;
}
export function WEXITSTATUS(status: number): number {
  return (status >> 8) & 0xff;
}
export function WIFSIGNALED(status: number): boolean {
  return (status & 0x7f) !== 0 && (status & 0x7f) !== 0x7f;
}
export function WTERMSIG(status: number): number {
  return status & 0x7f;
}
export function WIFSTOPPED(status: number): boolean {
  return (status & 0xff) === 0x7f;
}

/** Exit code from a wait status: the code, or minus the signal number. */
export function waitstatusToExitcode(status: number): number {
  if (!Number.isInteger(status)) throw new TypeError('status must be an integer');
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  throw new ValueError(`invalid wait status: ${status} (a stopped child has no exit code)`);
}

/** Ends the process at once with `code`: no exit handlers, no teardown.
 * (Parenthesised: forked children call it, and V8 then compiles it with this
 * module, in the parent, rather than again in every child.) */
// prettier-ignore
export const _exit = (function _exit(code: number = 0): never {
  if (!Number.isInteger(code)) {
    throw new TypeError(`_exit(code): code must be an integer, got ${typeof code} ${String(code)}`);
  }
  if (native) native._exit(code);
  // No addon (Windows): the closest Node has to an immediate exit.
  process.exit(code);
});

/** A signal number from a number or a name ('SIGTERM', 'TERM'). */
export function signalNumber(signal: number | string): number {
  if (typeof signal === 'number') {
    if (!Number.isInteger(signal) || signal < 0 || signal > 64) {
      throw new ValueError(`invalid signal number: ${signal}`);
    }
    return signal;
  }
  if (typeof signal !== 'string') throw new TypeError('signal must be a number or a name');
  const name = signal.toUpperCase().startsWith('SIG')
    ? signal.toUpperCase()
    : `SIG${signal.toUpperCase()}`;
  const num = (nodeOs.constants.signals as Record<string, number>)[name];
  if (num === undefined) throw new ValueError(`unknown signal name: ${signal}`);
  return num;
}

/** Sends a signal (number or name) to a process. */
export function kill(pid: number, signal: number | string = 'SIGTERM'): void {
  const sig = signalNumber(signal);
  if (native) {
    native.kill(pid, sig);
  } else {
    process.kill(pid, sig);
  }
}

/** A close-on-exec pipe: `[readFd, writeFd]`. */
export function pipe(): [number, number] {
  return needFork('pipe').pipe();
}

/** Reads at most `n` bytes; an empty Buffer at end of file. Blocks. */
export function read(fd: number, n: number): Buffer {
  if (!Number.isInteger(n) || n < 0)
    throw new ValueError(`n must be a non-negative integer, got ${n}`);
  return needFork('read').read(fd, n);
}

/** Writes bytes (a string is UTF-8); returns how many were written. Blocks. */
export function write(fd: number, data: Uint8Array | string): number {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  return needFork('write').write(fd, bytes);
}

export function close(fd: number): void {
  needFork('close').close(fd);
}

/** Number of CPUs in the system (Python's os.cpu_count()). */
export function cpuCount(): number {
  return nodeOs.cpus().length || nodeOs.availableParallelism();
}

export { onChildExit, type ChildExitWatch } from './runtime/child-exit';
