// Pool workers on the fork backend: each worker is a fork of the pool's
// process, so it already holds every function the pool had registered at
// that moment (closures included, with their variables as of the fork).
import { exitForkedChild } from '../backend/fork-child';
import { native, requireNative } from '../native';
import { fork, onChildExit, waitstatusToExitcode, type ChildExitWatch } from '../os';
import { Connection } from './connection';
import { workerLoop, type AnyFunction } from './pool-worker';

/** One worker process as the pool sees it, whatever the backend. */
export interface PoolWorkerProcess {
  readonly pid: number;
  /** The pool writes task messages here. */
  readonly tasks: Connection;
  /** The pool reads result messages here. */
  readonly results: Connection;
  /** Calls back once with the exit code (minus the signal when killed). */
  onExit(callback: (exitcode: number) => void): void;
  /** Calls back on the event loop whenever results are readable. */
  onReadable(callback: () => void): void;
  /** Stops onReadable callbacks (at end of file). */
  stopReading(): void;
  kill(signal: NodeJS.Signals): void;
  ref(): void;
  unref(): void;
  /** In a forked child: drop the parent's handles to this worker. */
  forget(): void;
}

export interface WorkerSetup {
  initializer: AnyFunction | null;
  initargs: unknown[];
  maxtasks: number | null;
  /** Functions by id, as registered so far (the worker keeps this copy). */
  functions: Map<number, AnyFunction>;
}

function closeQuietly(fd: number): void {
  try {
    requireNative('Pool').close(fd);
  } catch {
    // already closed
  }
}

/** Forks one worker. Returns only in the parent. */
export function forkWorker(setup: WorkerSetup): PoolWorkerProcess {
  const addon = requireNative('Pool (fork backend)');
  const [taskR, taskW] = addon.nbPipe() as [number, number];
  const [resR, resW] = addon.nbPipe() as [number, number];
  let pid: number;
  try {
    pid = fork();
  } catch (err) {
    for (const fd of [taskR, taskW, resR, resW]) closeQuietly(fd);
    throw err;
  }
  if (pid === 0) runForkedWorker(setup, taskR, taskW, resR, resW);
  addon.close(taskR);
  addon.close(resW);
  return new ForkedWorker(
    pid,
    new Connection(taskW, { readable: false }),
    new Connection(resR, { writable: false }),
  );
}

function runForkedWorker(
  setup: WorkerSetup,
  taskR: number,
  taskW: number,
  resR: number,
  resW: number,
): never {
  // Pools and connections inherited from the parent were let go by the
  // atForkChild hooks; these two fds are the parent's ends of our pipes.
  closeQuietly(taskW);
  closeQuietly(resR);
  let code = 0;
  try {
    // A worker dies with its pool's process, as Python's daemonic workers do.
    native?.setParentDeathSignal?.(9, process.ppid);
    const functions = setup.functions;
    workerLoop({
      tasks: new Connection(taskR, { writable: false }),
      results: new Connection(resW, { readable: false }),
      lookup: (id) => functions.get(id),
      initializer: setup.initializer,
      initargs: setup.initargs,
      maxtasks: setup.maxtasks,
      allowAsync: false,
    });
  } catch (err) {
    process.stderr.write(`pool worker ${process.pid} failed: ${(err as Error)?.stack ?? err}\n`);
    code = 1;
  }
  exitForkedChild(code);
}

interface FdWatch {
  start(): void;
  stop(): void;
  close(): void;
  ref(): void;
  unref(): void;
}

class ForkedWorker implements PoolWorkerProcess {
  private watch: ChildExitWatch | null = null;
  private readWatch: FdWatch | null = null;
  private exitCallback: ((code: number) => void) | null = null;
  private refed = true;

  constructor(
    readonly pid: number,
    readonly tasks: Connection,
    readonly results: Connection,
  ) {}

  onExit(callback: (exitcode: number) => void): void {
    this.exitCallback = callback;
    this.watch = onChildExit(this.pid, (status) => {
      this.watch = null;
      // status null: not waitable (someone else reaped it); it is gone.
      this.exitCallback?.(status === null ? -9 : waitstatusToExitcode(status));
    });
    if (!this.refed) this.watch.unref();
  }

  onReadable(callback: () => void): void {
    const addon = requireNative('Pool');
    this.readWatch = new addon.FdWatch(this.results.fileno(), callback) as FdWatch;
    this.readWatch.start();
    if (!this.refed) this.readWatch.unref();
  }

  stopReading(): void {
    this.readWatch?.close();
    this.readWatch = null;
  }

  kill(signal: NodeJS.Signals): void {
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone: its exit is on the way
    }
  }

  ref(): void {
    this.refed = true;
    this.watch?.ref();
    this.readWatch?.ref();
  }

  unref(): void {
    this.refed = false;
    this.watch?.unref();
    this.readWatch?.unref();
  }

  forget(): void {
    this.exitCallback = null;
    this.watch?.close();
    this.watch = null;
    this.stopReading();
    this.tasks.close();
    this.results.close();
  }
}
