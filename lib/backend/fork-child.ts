// What a process created by os.fork() does differently from its parent: it
// learns its own pid, stops reading the parent's IPC channel, and ends with
// _exit instead of Node's teardown (which would join threads it does not
// have, and crash or hang).
import { inspect } from 'node:util';
import { native } from '../native';

let forkedChild = false;
let warnedThreads = false;
const childHooks: Array<() => void> = [];

/** True in a process created by os.fork() (at any depth). */
export function isForkedChild(): boolean {
  return forkedChild;
}

/** Runs `hook` in every future forked child, right after the fork. Modules
 * with per-process state (thread registries, pools) reset it here. */
export function atForkChild(hook: () => void): void {
  childHooks.push(hook);
}

/** Checked just before fork(): the warning to print (in the parent, after
 * the fork) when other JS threads run, once per process; else null. Emitting
 * it before the fork would queue it in the child too. */
export function threadWarningBeforeFork(): string | null {
  if (warnedThreads || !native) return null;
  const others: number = native.otherJsThreads();
  if (others === 0) return null;
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

type Emit = typeof process.emit;

/** Native code calls this in the child whenever its event loop has nothing
 * left to do: first with 'beforeExit' (whose listeners may schedule more
 * work), then, if they scheduled none, with 'exit', which ends the child. */
export function onForkedChildIdle(phase: 'beforeExit' | 'exit'): void {
  const code = Number(process.exitCode ?? 0) || 0;
  process.emit(phase as 'exit', code);
}

/** Called in the child immediately after fork() returned 0. */
// prettier-ignore
export const prepareForkedChild = (function prepareForkedChild(): void {
  forkedChild = true;
  // (native fork() has given this process V8 background threads of its own:
  // native/child_workers.cc. See README, "Known limits of a forked child".)
  Object.defineProperty(process, 'pid', {
    value: native!.getpid(),
    writable: false,
    enumerable: true,
    configurable: true,
  });
  Object.defineProperty(process, 'ppid', {
    value: native!.getppid(),
    writable: true,
    enumerable: true,
    configurable: true,
  });

  // The IPC channel's socket is shared with the parent: two readers would
  // steal each other's messages. The child keeps its copy of the fd but
  // never reads it, and does not stay alive for it.
  const channel = (process as unknown as { channel?: { readStop?(): void; unref(): void } })
    .channel;
  if (channel) {
    channel.readStop?.();
    channel.unref();
  }

  // process.exit(n) ends in process.reallyExit; a natural end and a fatal
  // exception both emit 'exit' last. Either way: _exit, never teardown.
  (process as unknown as { reallyExit(code: number): never }).reallyExit = (code: number) =>
    exitForkedChild(code);
  const emit = process.emit as Emit;
  process.emit = (function (this: NodeJS.Process, event: string | symbol, ...args: unknown[]) {
    const result = (emit as (...a: unknown[]) => boolean).call(this, event, ...args);
    if (event === 'exit') {
      const code = process.exitCode ?? (typeof args[0] === 'number' ? args[0] : 0);
      exitForkedChild(typeof code === 'number' ? code : Number(code) || 0);
    }
    return result;
  }) as Emit;

  // Node prints a fatal exception only after emitting 'exit', which now ends
  // the child first: print it here when nothing else will handle it.
  process.on('uncaughtExceptionMonitor', (err) => {
    if (process.listenerCount('uncaughtException') > 0) return;
    if (process.hasUncaughtExceptionCaptureCallback()) return;
    process.stderr.write(`${inspect(err)}\n\nNode.js ${process.version}\n`);
  });

  for (const hook of childHooks) hook();
});
