// The interface every start method implements: Process (and Pool's workers)
// ask a backend to start a child that runs one function, and get a handle
// to wait for it and signal it. 'fork' forks this process (the target may
// be any function, closures included); 'spawn' starts a fresh Node with
// child_process.fork (the target travels by module path + export name, or
// as the source of a self-contained function).

import type { ChildIdentity } from '../../runtime/identity';

export type { ChildIdentity } from '../../runtime/identity';

export type StartMethod = 'fork' | 'spawn';

export interface ChildSpec extends ChildIdentity {
  /** Runs in the child; a returned promise is awaited. */
  target: (...args: never[]) => unknown;
  args: unknown[];
}

export interface ChildHandle {
  readonly pid: number;
  /** Calls `callback(exitcode)` once, when the child ended and was reaped:
   * its exit code, or minus the signal number that killed it. */
  onExit(callback: (exitcode: number) => void): void;
  /** Calls `callback(err)` once if the child's end can no longer be
   * learnt (the portable spawner thread that watched it ended); then
   * onExit never fires and waitSync throws `err`. Handles whose watch
   * cannot end leave it out. */
  onLost?(callback: (err: Error) => void): void;
  /** Blocks up to `timeoutMs` (< 0: forever) for the child to end; its exit
   * code, or null if it still runs. Does not reap: onExit still fires. */
  waitSync(timeoutMs: number): number | null;
  /** Sends a signal (number). */
  kill(signal: number): void;
  /** Whether a running child keeps this process's event loop alive. */
  ref(): void;
  unref(): void;
  /** In a forked child: stop watching a child that belongs to the parent. */
  detach(): void;
}

export interface Backend {
  readonly method: StartMethod;
  start(spec: ChildSpec): ChildHandle;
}
