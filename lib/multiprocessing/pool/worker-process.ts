// Pool workers as child processes, on the same backends as Process
// (lib/backend): 'fork' forks this process, so a worker already holds every
// function the pool had registered at that moment (closures included, with
// their variables as of the fork); 'spawn' starts a fresh Node, and
// functions reach it as module exports or self-contained source
// (lib/backend/spawn-target), defined in the worker by a message each.
import { currentAuthkey, currentIdentity, whileBootstrapping } from '../../runtime/identity';
import { afterFork, Order } from '../../runtime/lifecycle';
import { closureHint, resolveTarget, targetRef, type TargetRef } from '../../transfer/spawn-target';
import type { ChildHandle, StartMethod } from '../start/types';
import { NotSupportedError } from '../../core/errors';
import type { FdWatch } from '../../core/addon';
import { requireNative } from '../../core/native';
import { signalNumber } from '../../os';
import { Connection, kBlockingReads, pipeBackend } from '../connection';
import { backendFor } from '../start-method';
import { encodeError, MSG_INIT_ERROR } from './protocol';
import { workerLoop, type AnyFunction } from './worker-loop';

/** One worker process as the pool sees it, whatever the backend. */
export interface PoolWorkerProcess {
  readonly pid: number;
  /** The pool writes task messages here. */
  readonly tasks: Connection;
  /** The pool reads result messages here. */
  readonly results: Connection;
  /** Bytes the task pipe holds before a write blocks (0: unknown). */
  readonly taskRoom: number;
  /** Calls back once with the exit code (minus the signal when killed). */
  onExit(callback: (exitcode: number) => void): void;
  /** Calls back once if the worker's end can no longer be learnt (without
   * the addon: the spawner thread that watched it ended, and /proc does
   * not show its exit); then onExit never fires. */
  onLost(callback: (err: Error) => void): void;
  /** Calls back on the event loop whenever results are readable. */
  onReadable(callback: () => void): void;
  /** Stops onReadable callbacks (at end of file). */
  stopReading(): void;
  /** Blocks up to timeoutMs for the exit code; null while it runs. */
  waitExitSync(timeoutMs: number): number | null;
  kill(signal: NodeJS.Signals): void;
  ref(): void;
  unref(): void;
  /** Drops this process's handles to the worker (after its exit, or in a
   * forked child, where the worker belongs to the parent). */
  forget(): void;
}

/** What a worker needs besides its pipes. Fork: the functions themselves;
 * spawn: references to them. */
export interface WorkerSetup {
  initializer: AnyFunction | null;
  initializerRef: TargetRef | null;
  initargs: unknown[];
  maxtasks: number | null;
  /** Fork only: functions by id, as registered so far (the worker keeps
   * this copy of the map). */
  functions: Map<number, AnyFunction> | null;
  /** Where the worker writes the id of each chunk before it starts it (see
   * WorkerSlot.progress). */
  progress: { value: number } | null;
}

/** How a function reaches a spawned worker; throws NotSupportedError for
 * one that cannot (native or bound, not exported). */
export function functionRef(fn: AnyFunction): TargetRef {
  // A script's own exports count even while it is still loading: a pool is
  // usually driven from the main module's top level.
  return targetRef(fn as (...args: never[]) => unknown, { includeLoading: true });
}

/** A function sent as source text fails with a ReferenceError when it
 * used a variable of the parent: say so, as Process does. */
function defineSent(ref: TargetRef): AnyFunction {
  // A function of the main module loads it here: a main module without a
  // main guard that starts a spawn Pool or Process gets a RuntimeError.
  const fn = whileBootstrapping(() => resolveTarget(ref));
  if (ref.kind !== 'source') return fn;
  const hint = closureHint(ref);
  return function (this: unknown, ...args: unknown[]) {
    try {
      return fn.apply(this, args);
    } catch (err) {
      const text = hint(err);
      if (text) {
        throw new NotSupportedError(
          text.replace(/^NotSupportedError: /, '').replace('target', 'pool function'),
          {
            cause: err,
          },
        );
      }
      throw err;
    }
  };
}

/** The worker's program (a module export, so a spawned child finds it).
 * Parenthesised, as its lookup: V8 compiles it with the module, in the
 * parent, so a fork worker does not compile it again (warm-worker.ts). */
// prettier-ignore
export const poolWorkerMain = (async function poolWorkerMain(
  tasks: Connection,
  results: Connection,
  setup: WorkerSetup,
): Promise<void> {
  const functions = setup.functions ?? new Map<number, AnyFunction>();
  const failures = new Map<number, Error>();
  let initializer = setup.initializer;
  try {
    if (!initializer && setup.initializerRef) initializer = defineSent(setup.initializerRef);
  } catch (err) {
    results.send([MSG_INIT_ERROR, encodeError(err)]);
    process.exit(1);
  }
  // Only this worker reads its task pipe, and only synchronously: each
  // wait for a task is then one blocking read() (no poll() before it).
  tasks[kBlockingReads]();
  await workerLoop({
    tasks,
    results,
    lookup: (function lookup(id: number) {
      const fn = functions.get(id);
      if (fn) return fn;
      const failure = failures.get(id);
      return failure
        ? () => {
            throw failure;
          }
        : undefined;
    }),
    define: (id, ref) => {
      try {
        functions.set(id, defineSent(ref as TargetRef));
      } catch (err) {
        failures.set(id, err as Error);
      }
    },
    initializer,
    initargs: setup.initargs,
    maxtasks: setup.maxtasks,
    progress: setup.progress,
  });
  tasks.close();
  results.close();
  // Whatever else the worker's event loop still holds, it is done.
  process.exit(0);
});

let workerCounter = 0;

// The pool's ends of the pipes of a worker being forked: the worker closes
// its copies at once, so that it sees end of file when the pool goes away.
const poolEndsInFlight = new Set<number>();
// prettier-ignore
afterFork('pool: close the pool ends of a worker being forked', Order.multiprocessing, (function closePoolEnds() {
  for (const fd of poolEndsInFlight) {
    try {
      requireNative('Pool').close(fd);
    } catch {
      // not open here
    }
  }
  poolEndsInFlight.clear();
}));

/** Starts one worker on `method`'s backend. Returns only in the parent. */
export function startPoolWorker(method: StartMethod, setup: WorkerSetup): PoolWorkerProcess {
  const addon = pipeBackend();
  const [taskR, taskW] = addon.nbPipe();
  const [resR, resW] = addon.nbPipe();
  const workerTasks = new Connection(taskR, { writable: false });
  const workerResults = new Connection(resW, { readable: false });
  const n = ++workerCounter;
  const parent = currentIdentity();
  let handle: ChildHandle;
  poolEndsInFlight.add(taskW);
  poolEndsInFlight.add(resR);
  try {
    handle = backendFor(method).start({
      target: poolWorkerMain as (...args: never[]) => unknown,
      args: [workerTasks, workerResults, setup],
      name: `${method === 'fork' ? 'Fork' : 'Spawn'}PoolWorker-${n}`,
      daemon: true,
      identity: [...parent.identity, n],
      parentName: parent.name,
      authkey: currentAuthkey(),
    });
  } catch (err) {
    for (const fd of [taskW, resR]) addon.close(fd);
    throw err;
  } finally {
    poolEndsInFlight.delete(taskW);
    poolEndsInFlight.delete(resR);
    // The worker has its own copies of its ends now.
    workerTasks.close();
    workerResults.close();
  }
  return new PoolWorker(
    handle,
    new Connection(taskW, { readable: false }),
    new Connection(resR, { writable: false }),
    Math.max(0, addon.pipeCapacity?.(taskW) ?? 0),
  );
}

class PoolWorker implements PoolWorkerProcess {
  private readWatch: FdWatch | null = null;
  private exitCallback: ((code: number) => void) | null = null;
  private exitcode: number | null = null;
  private lostCallback: ((err: Error) => void) | null = null;
  private lostBy: Error | null = null;
  private refed = true;

  constructor(
    private readonly handle: ChildHandle,
    readonly tasks: Connection,
    readonly results: Connection,
    readonly taskRoom: number,
  ) {
    handle.onExit((code) => {
      this.exitcode = code;
      this.exitCallback?.(code);
    });
    handle.onLost?.((err) => {
      this.lostBy = err;
      this.lostCallback?.(err);
    });
  }

  get pid(): number {
    return this.handle.pid;
  }

  onExit(callback: (exitcode: number) => void): void {
    this.exitCallback = callback;
    if (this.exitcode !== null) callback(this.exitcode);
  }

  onLost(callback: (err: Error) => void): void {
    this.lostCallback = callback;
    if (this.lostBy) callback(this.lostBy);
  }

  onReadable(callback: () => void): void {
    this.readWatch = new (pipeBackend().FdWatch)(this.results.fileno(), callback);
    this.readWatch.start();
    if (!this.refed) this.readWatch.unref();
  }

  stopReading(): void {
    this.readWatch?.close();
    this.readWatch = null;
  }

  waitExitSync(timeoutMs: number): number | null {
    return this.exitcode ?? this.handle.waitSync(timeoutMs);
  }

  kill(signal: NodeJS.Signals): void {
    if (this.exitcode !== null) return;
    try {
      this.handle.kill(signalNumber(signal));
    } catch {
      // already gone: its exit is on the way
    }
  }

  ref(): void {
    this.refed = true;
    this.handle.ref();
    this.readWatch?.ref();
  }

  unref(): void {
    this.refed = false;
    this.handle.unref();
    this.readWatch?.unref();
  }

  forget(): void {
    this.exitCallback = null;
    this.lostCallback = null;
    this.handle.detach();
    this.stopReading();
    this.tasks.close();
    this.results.close();
  }
}
