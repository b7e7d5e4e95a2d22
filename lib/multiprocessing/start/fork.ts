// The 'fork' start method: the child is a fork of this process. It starts
// inside start(), in the middle of the caller's stack; it must run only its
// target, so it abandons that stack (native abandonStack: an uncatchable
// termination that unwinds to the event loop, where the target then runs),
// after closing what it inherited (servers, sockets, timers, the parent's
// IPC channel is already ignored by fork-child.ts).
import { fork, onChildExit, type ChildExitWatch, waitstatusToExitcode } from '../../os';
import { requireNative } from '../../core/native';
import { becomeChild } from '../../runtime/identity';
import {
  dropInheritedExitListeners,
  exitForkedChild,
  exitForkedProcessChild,
} from '../../runtime/forked-child';
import { afterFork, Order } from '../../runtime/lifecycle';
import { isolateForkedChild } from '../../runtime/child-isolation';
import { runTarget } from '../../runtime/run-target';
import { emptyAsyncIdStack } from '../../core/node-internals';
import type { Backend, ChildHandle, ChildSpec } from './types';
import { arenaEnvironment } from '../../synchronize';

const SIGKILL = 9;

// Node's process.exitCode getter, which runTarget reads in the child, is
// compiled lazily: compile it here, once, rather than in every child.
let exitCodeCompiled = false;
function compileExitCodeGetter(): void {
  if (exitCodeCompiled) return;
  exitCodeCompiled = true;
  void process.exitCode;
}

// Every function that only a forked child runs is a parenthesised function
// expression (kept so by prettier-ignore): V8 compiles those eagerly, with
// their module, in the parent. A lazy function would be parsed and compiled
// again in every child, which also faults in V8's parser and compiler code
// pages: about 1 ms of each start+join.
// prettier-ignore
const runInChild = (function runInChild(spec: ChildSpec, parentPid: number): never {
  const native = requireNative('the fork start method');
  becomeChild({ ...spec, startMethod: 'fork' }, parentPid, spec.parentName);
  isolateForkedChild(true);
  if (spec.daemon) {
    // A daemonic child dies with its parent (Linux): Python's daemons are
    // terminated at parent exit; this also covers a parent that is killed.
    try {
      native.setParentDeathSignal(SIGKILL, parentPid);
    } catch {
      native._exit(1); // the parent is already gone
    }
  }
  // The callbacks being abandoned leave their async ids on Node's stack.
  emptyAsyncIdStack(native.fatalException, (message) => {
    process.stderr.write(message);
    return exitForkedChild(70);
  });
  native.abandonStack((function resumeChild() {
    // As Python 3.12+ (popen_fork.py): the parent's 'exit' listeners,
    // inherited by the copy, do not run in the child; those its target adds
    // run when it ends, before _exit.
    dropInheritedExitListeners();
    const target = spec.target as (...a: unknown[]) => unknown;
    void runTarget(target, spec.args, undefined, exitForkedProcessChild);
  }));
  // The termination is delivered at V8's next interrupt check: the entry of
  // a called function is one (a loop's back edge only once its budget is
  // spent), so nothing of the caller runs after this point.
  for (;;) interruptCheck();
});

/** Called to meet V8's interrupt check at its entry (see runInChild). */
// prettier-ignore
const interruptCheck = (function interruptCheck(): void {});

/** Children whose exit is still watched: a forked child closes the watches
 * it inherited (those children are its siblings, not its own). */
const watched = new Set<ForkChild>();
// prettier-ignore
afterFork('fork start method: stop watching the parent\'s children', Order.multiprocessing, (function forgetWatches() {
  for (const child of watched) child.detach();
  watched.clear();
}));

class ForkChild implements ChildHandle {
  readonly pid: number;
  #watch: ChildExitWatch;
  #exitcode: number | null = null;
  /** Set as soon as the watch reaped the child (callbacks come a turn later). */
  #reaped: number | null = null;
  #callbacks: Array<(code: number) => void> = [];

  constructor(pid: number) {
    this.pid = pid;
    // The exit is reported from the next loop turn through a native frame
    // of ours (callSoon), not from inside the native watch's callback nor
    // from Node's immediate processing: a continuation that starts a Process
    // must not make the child abandon either (see process.cc).
    this.#watch = onChildExit(pid, (status, error) => {
      watched.delete(this);
      if (status !== null) this.#reaped = waitstatusToExitcode(status);
      requireNative('Process').callSoon(() => this.#exited(status, error));
    });
    watched.add(this);
  }

  #exited(status: number | null, error?: Error): void {
    {
      const code = status === null ? (this.#exitcode ?? 255) : waitstatusToExitcode(status);
      if (error && this.#exitcode === null) {
        process.emitWarning(`forkful: could not wait for child ${this.pid}: ${error.message}`);
      }
      this.#exitcode = code;
      for (const cb of this.#callbacks.splice(0)) cb(code);
    }
  }

  onExit(callback: (exitcode: number) => void): void {
    this.#callbacks.push(callback);
  }

  /** The exit code once the child has ended (null after timeoutMs); the
   * child is then reaped at once, as Python's join reaps, so a loop of
   * start() + joinSync() leaves no zombie behind, and neither does a join
   * that learns of the exit here before the watch does. */
  waitSync(timeoutMs: number): number | null {
    if (this.#exitcode !== null) return this.#exitcode;
    if (this.#reaped !== null) return this.#reaped;
    const native = requireNative('joinSync');
    let code: number | null;
    try {
      code = native.exitcodeNoReap(this.pid, timeoutMs);
    } catch (err) {
      if ((err as { code?: string }).code === 'ECHILD' && this.#reaped !== null)
        return this.#reaped;
      throw err;
    }
    if (code !== null) this.#reapNow();
    return code;
  }

  /** Reaps the ended child now and reports its exit as the watch would. */
  #reapNow(): void {
    const native = requireNative('joinSync');
    const [got, status] = native.waitpid(this.pid, native.WNOHANG);
    if (got !== this.pid) return;
    this.#watch.close();
    watched.delete(this);
    this.#reaped = waitstatusToExitcode(status);
    native.callSoon(() => this.#exited(status));
  }

  kill(signal: number): void {
    requireNative('Process.kill').kill(this.pid, signal);
  }

  ref(): void {
    this.#watch.ref();
  }

  unref(): void {
    this.#watch.unref();
  }

  detach(): void {
    watched.delete(this);
    this.#watch.close();
    this.#callbacks = [];
  }
}

export const forkBackend: Backend = {
  method: 'fork',
  start(spec: ChildSpec): ChildHandle {
    const parentPid = process.pid;
    compileExitCodeGetter();
    // The child shares forkful's arena (as a spawned one does), so that a
    // lock or Queue made after it started can still be sent to it later
    // (over a Connection, fds as SCM_RIGHTS).
    arenaEnvironment();
    const pid = fork();
    if (pid === 0) runInChild(spec, parentPid);
    return new ForkChild(pid);
  },
};
