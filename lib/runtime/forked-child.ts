// What a process created by os.fork() does differently from its parent: it
// learns its own pid, stops reading the parent's IPC channel, and ends with
// _exit instead of Node's teardown (which would join threads it does not
// have, and crash or hang).
import { inspect } from 'node:util';
import { native } from '../core/native';
import { afterExitEmitted, nodeProcess, replaceReallyExit } from '../core/node-internals';
import { runAfterFork } from './lifecycle';

let forkedChild = false;
let warnedThreads = false;

/** True in a process created by os.fork() (at any depth). */
export function isForkedChild(): boolean {
  return forkedChild;
}

let idleThreads: () => number = () => 0;

/** threading tells how many of this process's other JS threads are its idle
 * isolates: each waits in its event loop for a thread to run, holding no lock
 * a child could need, so they are not worth a warning. */
export function countIdleThreadsWith(count: () => number): void {
  idleThreads = count;
}

/** Checked just before fork(): the warning to print (in the parent, after
 * the fork) when other JS threads run, once per process; else null. Emitting
 * it before the fork would queue it in the child too. */
export function threadWarningBeforeFork(): string | null {
  if (warnedThreads || !native) return null;
  const others = native.otherJsThreads() - idleThreads();
  if (others <= 0) return null;
  warnedThreads = true;
  return (
    `This process has ${others} other JavaScript thread(s) (Worker or forkful Thread) running; ` +
    `fork() copies only the calling thread, so the child may deadlock on a lock one of them held.`
  );
}

export function emitThreadWarning(message: string): void {
  process.emitWarning(message, { type: 'ForkWarning', code: 'FORKFUL_FORK_THREADS' });
}

// exitForkedChild, prepareForkedChild and the emit wrapper run in every
// forked child and (mostly) never in the parent: parenthesised, V8 compiles
// them with this module instead of parsing and compiling them in each child.

/** Ends a forked child: stdout/stderr are written synchronously on POSIX
 * pipes, files and TTYs, so nothing is pending; then _exit. */
// prettier-ignore
export const exitForkedChild = (function exitForkedChild(code: number): never {
  native!._exit(code);
  throw new Error('unreachable');
});

/** Ends a forked Process child after its target as Python's ends it
 * (atexit._run_exitfuncs() then os._exit): 'exit' is emitted to the
 * listeners the child has (see dropInheritedExitListeners), then _exit
 * (prepareForkedChild made Node's exit end that way). */
// prettier-ignore
export const exitForkedProcessChild = (function exitForkedProcessChild(code: number): never {
  // Listeners on a vm context's copy of process (jest) are its own.
  if (process !== nodeProcess) process.emit('exit', code);
  // Emitted here, not through nodeProcess.exit(): Node's exit() skips the
  // emit once _exiting is set and then calls reallyExit, whose teardown
  // aborts in a forked child (seen on Node 20: NodePlatform::Shutdown's
  // uv_thread_join assertion, SIGABRT, in 4 children of one test).
  const node = nodeProcess as NodeJS.Process & { _exiting?: boolean };
  if (!node._exiting) {
    node._exiting = true;
    node.exitCode = code;
    node.emit('exit', code); // afterExitEmitted's hook may _exit here
  }
  return exitForkedChild(code);
});

/** The process objects a forked child's listeners are on: Node's, and the
 * copy of it where forkful runs in a vm context (jest). */
// prettier-ignore
const processObjects = (function processObjects(): Set<NodeJS.Process> {
  return new Set([process, nodeProcess]);
});

/** In a forked Process child, before its target (Python 3.12+'s
 * popen_fork.py: atexit._clear()): the 'exit' listeners inherited from the
 * parent are dropped, forkful's own atExit phase too (its hooks act on the
 * parent's children and arena holds); those the child adds run when it
 * ends (exitForkedProcessChild). */
// prettier-ignore
export const dropInheritedExitListeners = (function dropInheritedExitListeners(): void {
  for (const proc of processObjects()) proc.removeAllListeners('exit');
});

/** Native code calls this in the child whenever its event loop has nothing
 * left to do: first with 'beforeExit' (whose listeners may schedule more
 * work), then, if they scheduled none, with 'exit', which ends the child. */
export function onForkedChildIdle(phase: 'beforeExit' | 'exit'): void {
  const code = Number(nodeProcess.exitCode ?? 0) || 0;
  nodeProcess.emit(phase as 'exit', code);
}

/** Called in the child immediately after fork() returned 0. */
// prettier-ignore
export const prepareForkedChild = (function prepareForkedChild(): void {
  const nested = forkedChild;
  forkedChild = true;
  // (native fork() has given this process V8 background threads of its own:
  // native/child_workers.cc. See README, "Known limits of a forked child".)
  // `process` is Node's own, or a copy of it where this module runs in a vm
  // context (jest): both tell the child's pid.
  for (const proc of processObjects()) {
    Object.defineProperty(proc, 'pid', {
      value: native!.getpid(),
      writable: false,
      enumerable: true,
      configurable: true,
    });
    Object.defineProperty(proc, 'ppid', {
      value: native!.getppid(),
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }

  // The native fork pointed the inherited IPC channels' fds at a silent
  // socket (the parent alone reads them): the child does not stay alive for
  // its parent's channel, and cannot send on it.
  const channel = (nodeProcess as unknown as { channel?: { unref(): void } }).channel;
  if (channel) {
    channel.unref();
    (nodeProcess as unknown as { connected: boolean }).connected = false;
  }

  if (!nested) {
    // process.exit(n) ends in process.reallyExit; a natural end and a fatal
    // exception both emit 'exit' last. Either way: _exit, never teardown.
    replaceReallyExit(exitForkedChild);
    afterExitEmitted(exitForkedChild);

    // Node prints a fatal exception only after emitting 'exit', which now
    // ends the child first: print it here when nothing else will handle it.
    nodeProcess.on('uncaughtExceptionMonitor', (err) => {
      if (nodeProcess.listenerCount('uncaughtException') > 0) return;
      if (nodeProcess.hasUncaughtExceptionCaptureCallback()) return;
      nodeProcess.stderr.write(`${inspect(err)}\n\nNode.js ${process.version}\n`);
    });
  }

  // Then every module with per-process state lets go of the parent's
  // (lifecycle.ts: named, ordered, a failing hook reported and skipped).
  runAfterFork();
});
