// The pool's engine: the state behind a Pool (pool.ts validates each call
// and hands it here, as piscina's public class hands off to its private
// pool). It keeps the queue of chunks, starts and replaces workers, sends
// chunks where the scheduler says, takes results back, and fails exactly
// the chunks a dead worker held. Each worker has its own pair of pipes, so
// the engine always knows which chunks a worker holds. Its parts live
// beside it: the function registry (registry.ts), the scheduling policy
// (scheduler.ts), the worker slots (worker-slot.ts), the clean tick workers
// are forked from (clean-tick.ts) and the blocking wait (sync-pump.ts).
// It stays one file past 400 lines because it is one state machine: a chunk
// goes queue -> worker -> result or loss, and every transition keeps the
// same counts (outstanding = queued + held, the registry's uses, the ref on
// the event loop) in step.
import { native } from '../../core/native';
import { debug } from '../../core/debug';
import { BrokenPoolError, SerializationError, WorkerLostError } from '../../core/errors';
import { afterFork, Order } from '../../runtime/lifecycle';
import { reviveShareables, serialize } from '../../transfer/serialize';
import { decodeMessage } from '../../transfer/wire';
import { kRecvNow, type Connection } from '../connection';
import type { StartMethod } from '../start/types';
import { requestCleanTick, type CleanTickClient } from './clean-tick';
import type { Chunk, Job } from './jobs';
import {
  MODE_MAP,
  MSG_DEF,
  MSG_EXIT,
  MSG_INIT_ERROR,
  MSG_RESULT,
  MSG_RESULTS,
  MSG_TASK,
  decodeError,
  encodeFrame,
  packFrames,
  packValues,
  type EncodedError,
  type ItemRange,
  type Mode,
} from './protocol';
import { FunctionRegistry, INITIALIZER_ID } from './registry';
import { makeRoom, pickWorker, workersToStart, type SchedulerView } from './scheduler';
import { pumpUntil, type Pumpable } from './sync-pump';
import type { AnyFunction } from './worker-loop';
import { startPoolWorker } from './worker-process';
import { warmWorkerLoop } from './warm-worker';
import { newSlot, type Progress, type WorkerSlot } from './worker-slot';
import { StatsRecorder, type PoolStats } from './stats';
import { RawValue } from '../../synchronize/sharedctypes';

/** A progress word for a new worker: a RawValue in the native shared
 * arena (a word both processes see), or null where there is none (then a
 * lost worker fails all it held). */
function progressWord(): Progress | null {
  if (typeof native?.arenaInit !== 'function') return null;
  try {
    const word = new RawValue('d', 0) as Progress; // 'd': a number, never a bigint
    // Only the worker writes it: a write here compiles the setter before the
    // fork, so the worker does not compile it (warm-worker.ts).
    word.value = 0;
    return word;
  } catch {
    return null;
  }
}

const SETTLED = Promise.resolve();

// How often a chunk goes back to the queue when the worker holding it died
// before starting it.
const MAX_REQUEUES = 2;

// After SIGTERM, how long terminate() waits before SIGKILL.
const KILL_GRACE_MS = 1000;

export type PoolState = 'running' | 'closed' | 'terminated' | 'broken';

export interface EngineOptions {
  processes: number;
  startMethod: StartMethod;
  initializer: AnyFunction | null;
  initargs: unknown[];
  maxtasks: number | null;
  /** Told of workers starting and ending, the queue draining and the pool
   * breaking (the Pool's events). */
  observer?: EngineObserver;
}

/** What the engine tells its Pool; called outside any dispatch step that
 * a listener could disturb (the Pool defers its events). */
export interface EngineObserver {
  workerCreated(pid: number): void;
  workerExited(pid: number, exitcode: number | null): void;
  /** Every call submitted so far has settled. */
  drained(): void;
  broken(err: Error): void;
}

const NO_OBSERVER: EngineObserver = {
  workerCreated() {},
  workerExited() {},
  drained() {},
  broken() {},
};

const liveEngines = new Set<PoolEngine>();
// prettier-ignore
afterFork("pool: forget the parent's pools", Order.multiprocessing, (function forgetPools() {
  // A forked child (a worker, a Process, os.fork) must not use or keep the
  // parent's pools: drop their handles without touching their processes.
  for (const engine of liveEngines) engine.forgetInChild();
  liveEngines.clear();
}));

export class PoolEngine implements SchedulerView, CleanTickClient, Pumpable {
  readonly processes: number;
  readonly startMethod: StartMethod;
  readonly #initializer: AnyFunction | null;
  readonly #initargs: unknown[];
  readonly #maxtasks: number | null;
  readonly registry: FunctionRegistry;

  state: PoolState = 'running';
  brokenBy: Error | null = null;
  /** Set in a forked child: the pool belongs to the parent. */
  forgotten = false;
  readonly ownerPid = process.pid;
  readonly workers: WorkerSlot[] = [];
  #queue: Chunk[] = [];
  #queueHead = 0;
  #nextChunkId = 1;
  /** Chunks queued or held. */
  outstanding = 0;
  #dispatchScheduled = false;
  #dispatching = false;
  #pumping = false;
  #startRequested = false;
  #outboxes: WorkerSlot[] = [];
  #refed = false;
  #joinWaiters: Array<() => void> = [];
  #killTimer: NodeJS.Timeout | null = null;
  readonly #observer: EngineObserver;
  readonly stats = new StatsRecorder();
  /** Work was submitted since the last 'drain'. */
  #drainArmed = false;

  constructor(options: EngineOptions) {
    this.processes = options.processes;
    this.startMethod = options.startMethod;
    this.#initializer = options.initializer;
    this.#initargs = options.initargs;
    this.#maxtasks = options.maxtasks;
    this.#observer = options.observer ?? NO_OBSERVER;
    this.registry = new FunctionRegistry(options.startMethod === 'spawn');
    if (options.startMethod === 'spawn' && this.#initializer) {
      // Fail now, not in every worker: the initializer must travel.
      this.registry.setInitializer(this.#initializer);
    }
    liveEngines.add(this);
    // Workers start when the first work arrives (just after the call's
    // tick), so they already know the functions of the calls made so far.
  }

  get waiting(): number {
    return this.#queue.length - this.#queueHead;
  }

  knows(w: WorkerSlot, fnId: number): boolean {
    return this.startMethod === 'spawn' || w.knownMax >= fnId;
  }

  // ---- submission ---------------------------------------------------------

  /** Queues `parts` of a call of `fn` for `job`. */
  submit(
    job: Job,
    fn: AnyFunction,
    mode: Mode,
    parts: Array<[number, unknown[] | ItemRange]>,
  ): void {
    const fnId = this.registry.idOf(fn);
    const now = performance.now();
    for (const [index, payload] of parts) {
      this.#queue.push({
        id: this.#nextChunkId++,
        job,
        index,
        fn,
        fnId,
        mode,
        payload,
        frame: null,
        bytes: 0,
        queuedAt: now,
        sentAt: 0,
      });
    }
    this.#drainArmed = true;
    this.registry.retain(fnId, parts.length);
    this.outstanding += parts.length;
    this.#updateRef();
    this.#scheduleDispatch();
  }

  /** Stops the work of `job` (its call was aborted): drops its chunks
   * still queued, and replaces each worker that holds only chunks of it
   * (SIGKILL: what it runs is abandoned, as piscina terminates the worker
   * of an aborted task); a worker that also holds other calls' chunks runs
   * on, and the job ignores the outcomes it sends. Returns how many chunks
   * were stopped. */
  cancel(job: Job): number {
    const kept: Chunk[] = [];
    const dropped: Chunk[] = [];
    for (let i = this.#queueHead; i < this.#queue.length; i++) {
      const chunk = this.#queue[i];
      (chunk.job === job ? dropped : kept).push(chunk);
    }
    if (dropped.length > 0) {
      this.#queue = kept;
      this.#queueHead = 0;
    }
    let killed = 0;
    for (const w of this.workers) {
      if (w.eof || w.held.length === 0 || !w.held.every((c) => c.job === job)) continue;
      // Its results are no one's now: stop reading them (the held chunks
      // would no longer match what arrives), and end it.
      w.eof = true;
      w.retiring = true;
      w.proc.stopReading();
      w.proc.kill('SIGKILL');
      killed++;
      dropped.push(...w.held.splice(0));
      w.heldBytes = 0;
    }
    if (dropped.length === 0) return 0;
    for (const chunk of dropped) {
      this.#releaseChunk(chunk);
      this.stats.dropped();
    }
    debug(
      'pool: an aborted call: %d task(s) dropped, %d worker(s) replaced',
      dropped.length,
      killed,
    );
    this.#afterProgress();
    return dropped.length;
  }

  /** The live part of pool.stats(). */
  liveStats(): PoolStats {
    let running = 0;
    let workers = 0;
    for (const w of this.workers) {
      running += w.held.length;
      if (w.exitcode === null) workers++;
    }
    return this.stats.snapshot({
      workers,
      processes: this.processes,
      queued: this.waiting,
      running,
    });
  }

  #checkDrained(): void {
    if (!this.#drainArmed || this.outstanding > 0 || this.forgotten) return;
    this.#drainArmed = false;
    this.#observer.drained();
  }

  #releaseChunk(chunk: Chunk): void {
    this.outstanding--;
    this.registry.release(chunk.fnId);
    chunk.frame = null;
    chunk.payload = [];
  }

  // ---- closing ------------------------------------------------------------

  close(): void {
    if (this.state !== 'running') return;
    this.state = 'closed';
    this.#updateRef();
    this.#maybeRetireAll();
  }

  terminate(): void {
    if (this.state === 'terminated' || this.forgotten) return;
    this.state = 'terminated';
    this.#failAll(new BrokenPoolError('the pool was terminated before this call finished'));
    for (const w of this.workers) w.proc.kill('SIGTERM');
    if (this.workers.length > 0) {
      this.#killTimer = setTimeout(() => {
        this.#killTimer = null;
        for (const w of this.workers) if (w.exitcode === null) w.proc.kill('SIGKILL');
      }, KILL_GRACE_MS);
    }
    this.#updateRef();
    this.#checkJoined();
  }

  /** Resolves once every worker has exited (after close() or terminate()). */
  joined(): Promise<void> {
    if (this.workers.length === 0 && this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.#joinWaiters.push(resolve));
  }

  // ---- scheduling ---------------------------------------------------------

  #scheduleDispatch(): void {
    if (this.#dispatchScheduled) return;
    this.#dispatchScheduled = true;
    // A microtask: calls made in the same tick are registered before any
    // worker is forked, so one generation of workers knows all of them.
    // A reaction of a settled promise, not queueMicrotask(): that wraps each
    // callback in an AsyncResource (async_hooks' init, before and after),
    // paid once per apply, and V8 compiled that machinery during a bench's
    // timed calls. dispatch() reports its own failures to the calls.
    SETTLED.then(this.#dispatchNow);
  }

  readonly #dispatchNow = (): void => {
    this.#dispatchScheduled = false;
    this.dispatch();
  };

  /** Sends every queued chunk a worker can take now. */
  dispatch(): void {
    if (this.#dispatching || this.forgotten) return;
    this.#dispatching = true;
    try {
      while (
        this.#queueHead < this.#queue.length &&
        this.state !== 'terminated' &&
        this.state !== 'broken'
      ) {
        const chunk = this.#queue[this.#queueHead];
        if (!chunk.frame && !this.#encode(chunk)) continue;
        const worker = pickWorker(this, chunk.fnId, (chunk.frame as Buffer).length);
        if (!worker) {
          const room = makeRoom(this, chunk.fnId);
          if (room.kind === 'start') this.#requestWorkers();
          else if (room.kind === 'replace') {
            this.#retire(room.stale);
            this.#requestWorkers();
          }
          break;
        }
        this.#queueHead++;
        this.#sendChunk(worker, chunk);
      }
      if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#queueHead);
        this.#queueHead = 0;
      }
    } finally {
      this.#dispatching = false;
      this.#flushAll();
    }
  }

  /** Encodes the chunk's task message; false (and the chunk failed and
   * dropped) when its arguments cannot travel. */
  #encode(chunk: Chunk): boolean {
    try {
      const payload = chunk.mode === MODE_MAP ? packValues(chunk.payload) : chunk.payload;
      chunk.frame = encodeFrame([MSG_TASK, chunk.id, chunk.fnId, chunk.mode, payload]);
      return true;
    } catch (err) {
      this.#queueHead++;
      this.#releaseChunk(chunk);
      this.stats.settled(chunk, false);
      const reason = err instanceof Error ? err.message : String(err);
      chunk.job.chunkFailed(
        chunk.index,
        new SerializationError(`a task's arguments cannot be sent to a worker: ${reason}`, {
          cause: err,
        }),
      );
      return false;
    }
  }

  /** Starts the workers the queue needs, from a fresh macrotask: a fork
   * must not happen while reactions to settled calls are pending, or the
   * worker would run the caller's continuations. getSync() cannot wait for
   * the event loop: it starts them at once. */
  #requestWorkers(): void {
    if (this.forgotten) return;
    if (this.#pumping) {
      this.#startNeededWorkers();
      return;
    }
    if (this.#startRequested) return;
    this.#startRequested = true;
    requestCleanTick(this);
  }

  /** Called by the clean-tick watch (see clean-tick.ts). */
  onCleanTick(): void {
    if (!this.#startRequested) return;
    this.#startRequested = false;
    this.#startNeededWorkers();
    this.dispatch();
  }

  #startNeededWorkers(): void {
    if (this.forgotten || this.state === 'terminated' || this.state === 'broken') return;
    let need = workersToStart(this);
    while (need-- > 0) if (!this.#startWorker()) break;
  }

  #startWorker(): boolean {
    const fork = this.startMethod === 'fork';
    if (fork) warmWorkerLoop();
    const knownMax = this.registry.knownMax();
    const progress = progressWord();
    let w: WorkerSlot;
    try {
      w = newSlot(
        startPoolWorker(this.startMethod, {
          initializer: fork ? this.#initializer : null,
          initializerRef: fork ? null : this.registry.refOf(INITIALIZER_ID),
          initargs: this.#initargs,
          maxtasks: this.#maxtasks,
          functions: fork ? this.registry.functions : null,
          progress,
        }),
        knownMax,
        progress,
      );
    } catch (err) {
      this.#breakPool(err as Error);
      return false;
    }
    this.workers.push(w);
    this.stats.workersStarted++;
    debug('pool: worker %d started (%s)', w.proc.pid, this.startMethod);
    this.#observer.workerCreated(w.proc.pid);
    w.proc.onExit((code) => this.#onWorkerExit(w, code));
    w.proc.onLost((err) => this.#onWorkerLost(w, err));
    if (!this.#refed) w.proc.unref();
    w.proc.onReadable(() => this.#drain(w));
    return true;
  }

  #sendChunk(w: WorkerSlot, chunk: Chunk): void {
    this.stats.sent(chunk);
    w.held.push(chunk);
    chunk.bytes = (chunk.frame as Buffer).length;
    w.heldBytes += chunk.bytes;
    w.sent++;
    if (this.#maxtasks !== null && w.sent >= this.#maxtasks) w.retiring = true; // it exits by itself
    if (this.startMethod === 'spawn' && !w.defined.has(chunk.fnId)) {
      this.#flushTo(w);
      try {
        // Task messages are raw frames of lib/transfer/wire (the worker
        // decodes them itself, batches included), never Connection.send.
        const def = serialize([MSG_DEF, chunk.fnId, this.registry.refOf(chunk.fnId)]);
        w.proc.tasks.sendBytes(def);
        // It may lie in the pipe until the chunk runs: counted with it.
        chunk.bytes += def.length;
        w.heldBytes += def.length;
      } catch {
        w.writeFailed = true; // gone (EPIPE): its exit fails what it holds
      }
      w.defined.add(chunk.fnId);
    }
    // Written when this dispatch pass ends: one write for all of them.
    w.outbox.push(chunk.frame as Buffer);
    if (!this.#outboxes.includes(w)) this.#outboxes.push(w);
    chunk.frame = null;
  }

  #flushTo(w: WorkerSlot): void {
    const frames = w.outbox;
    if (frames.length === 0) return;
    w.outbox = [];
    try {
      w.proc.tasks.sendBytes(frames.length === 1 ? frames[0] : packFrames(frames));
    } catch {
      w.writeFailed = true; // gone (EPIPE): its exit fails what it holds
    }
  }

  #flushAll(): void {
    const ws = this.#outboxes;
    this.#outboxes = [];
    for (const w of ws) this.#flushTo(w);
  }

  #retire(w: WorkerSlot): void {
    if (w.retiring) return;
    w.retiring = true;
    this.#flushTo(w);
    try {
      w.proc.tasks.sendBytes(encodeFrame([MSG_EXIT]));
    } catch {
      // already gone
    }
  }

  #maybeRetireAll(): void {
    if (this.state !== 'closed' || this.outstanding > 0) return;
    for (const w of this.workers) this.#retire(w);
    this.#checkJoined();
  }

  // ---- results and worker exits -------------------------------------------

  /** Takes every whole message that is readable now. False at end of file
   * (the worker closed its end: it exited or is about to). */
  #drain(w: WorkerSlot): boolean {
    const conn = w.proc.results;
    try {
      // The first read is tried (the fd was reported readable, or the
      // caller wants what is there); the next ones only while reads fill
      // the buffer: a short read emptied the pipe, and the watch reports
      // what comes after (two system calls per wake-up, not four).
      let readable = true;
      while (!w.eof && !this.forgotten) {
        const frame = conn[kRecvNow](readable);
        if (!frame) break;
        readable = false;
        // Shared objects in results are revived one result at a time (in
        // #takeResult), so one that cannot live here fails its own task.
        this.#onMessage(w, decodeMessage(frame, false) as unknown[]);
      }
    } catch {
      if (this.forgotten || w.eof) return false;
      w.eof = true;
      w.proc.stopReading();
      if (w.exitcode === null && w.held.length > 0 && !w.lost) {
        // It closed its pipe without exiting: it cannot serve us any more.
        // Without the addon its pipes close as it exits, a moment before the
        // exit itself: it gets that moment, so its own exit code is reported.
        const proc = w.proc;
        if (native) proc.kill('SIGKILL');
        else setTimeout(() => w.exitcode === null && proc.kill('SIGKILL'), 1000).unref();
      }
      this.#finishWorker(w);
      return false;
    }
    return !w.eof;
  }

  #onMessage(w: WorkerSlot, msg: unknown[]): void {
    if (msg[0] === MSG_RESULT) {
      if (this.#takeResult(w, msg[1] as number, msg[2] as boolean, msg[3])) this.#afterProgress();
    } else if (msg[0] === MSG_RESULTS) {
      for (const [id, ok, value] of msg[1] as Array<[number, boolean, unknown]>) {
        if (!this.#takeResult(w, id, ok, value)) return;
      }
      this.#afterProgress();
    } else if (msg[0] === MSG_INIT_ERROR) {
      const cause = decodeError(msg[1] as EncodedError);
      this.#breakPool(
        new BrokenPoolError(
          `the pool's initializer failed in worker ${w.proc.pid}: ${cause.message}`,
          { cause },
        ),
      );
    }
  }

  #takeResult(w: WorkerSlot, id: number, ok: boolean, value: unknown): boolean {
    const chunk = w.held.shift();
    if (chunk) w.heldBytes -= chunk.bytes;
    if (!chunk || chunk.id !== id) {
      this.#breakPool(new BrokenPoolError(`pool worker ${w.proc.pid} answered out of order`));
      return false;
    }
    this.#releaseChunk(chunk);
    this.stats.settled(chunk, ok);
    if (!ok) {
      chunk.job.chunkFailed(chunk.index, decodeError(value as EncodedError));
      return true;
    }
    let result: unknown;
    try {
      result = reviveShareables(value);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      chunk.job.chunkFailed(
        chunk.index,
        new SerializationError(
          `a task's result reached the pool but cannot be decoded here: ${reason}`,
          { cause: err },
        ),
      );
      return true;
    }
    chunk.job.chunkDone(chunk.index, result);
    return true;
  }

  #afterProgress(): void {
    this.#updateRef();
    if (this.state === 'closed' && this.outstanding === 0) this.#maybeRetireAll();
    else this.dispatch();
    this.#checkDrained();
  }

  #onWorkerExit(w: WorkerSlot, exitcode: number): void {
    if (this.forgotten) return;
    w.exitcode = exitcode;
    // Its last results may still sit in the pipe: take them before what it
    // still holds is declared lost.
    if (!w.eof) this.#drain(w);
    this.#finishWorker(w);
  }

  /** Its exit will never be reported (without the addon, the spawner
   * thread that watched it ended and /proc does not show its end). It gets
   * no more work, and is done with once its result pipe reaches end of
   * file: the hub reports that when the worker is gone (a worker that
   * still runs finishes what it holds, then exits). */
  #onWorkerLost(w: WorkerSlot, err: Error): void {
    if (this.forgotten || w.finished) return;
    w.lost = err;
    debug('pool: worker %d lost: %s', w.proc.pid, err.message);
    if (!w.eof) this.#drain(w);
    if (w.eof) {
      this.#finishWorker(w);
      return;
    }
    this.#retire(w);
    this.dispatch(); // its queued work goes to a new worker now
  }

  #finishWorker(w: WorkerSlot): void {
    // The exit notice completes it (for a lost worker, its end of file).
    if (w.finished || (w.exitcode === null && !(w.lost && w.eof))) return;
    w.finished = true;
    const i = this.workers.indexOf(w);
    if (i >= 0) this.workers.splice(i, 1);
    w.proc.forget();
    const held = w.held.splice(0);
    w.heldBytes = 0;
    // What it held but had not started goes back to the front of the queue
    // for another worker; only what it started is lost. Without a progress
    // word (no shared arena) everything it held counts as started.
    const started = w.progress
      ? held.findIndex((c) => c.id === w.progress!.value) + 1
      : held.length;
    const lost = held.slice(0, started);
    // A chunk sent to workers that died before starting it twice already
    // fails too: the pool never loops on a worker that cannot start.
    const requeue = held.slice(started).filter((c) => {
      c.requeued = (c.requeued ?? 0) + 1;
      if (c.requeued <= MAX_REQUEUES) return true;
      lost.push(c);
      return false;
    });
    if (requeue.length > 0 && (this.state === 'running' || this.state === 'closed')) {
      this.#queue.splice(this.#queueHead, 0, ...requeue);
    } else {
      lost.push(...requeue);
    }
    const exitcode = w.exitcode === null || Number.isNaN(w.exitcode) ? null : w.exitcode;
    debug('pool: worker %d exited (code %s, %d task(s) lost)', w.proc.pid, exitcode, lost.length);
    this.#observer.workerExited(w.proc.pid, exitcode);
    if (lost.length > 0) {
      const how =
        exitcode === null
          ? w.lost
            ? 'ended'
            : 'exited'
          : exitcode < 0
            ? `was killed by signal ${-exitcode}`
            : `exited with code ${exitcode}`;
      const why = w.lost
        ? `its exit code cannot be known: ${w.lost.message}`
        : 'a crash, a kill, or process.exit() in the task';
      for (const chunk of lost) {
        const err = new WorkerLostError(
          `pool worker ${w.proc.pid} ${how} while running this task (${why}); ` +
            `the pool replaced it and the other tasks go on`,
        );
        err.exitcode = exitcode;
        this.#releaseChunk(chunk);
        this.stats.settled(chunk, false);
        chunk.job.chunkFailed(chunk.index, err);
      }
    }
    // A replacement starts when there is work for it (dispatch asks).
    if (this.state === 'running' || (this.state === 'closed' && this.outstanding > 0)) {
      this.dispatch();
    }
    this.#afterProgress();
    this.#checkJoined();
  }

  #failAll(err: Error): void {
    const queued = this.#queue.slice(this.#queueHead);
    this.#queue = [];
    this.#queueHead = 0;
    const held = this.workers.flatMap((w) => {
      w.heldBytes = 0;
      return w.held.splice(0);
    });
    for (const chunk of [...queued, ...held]) {
      this.#releaseChunk(chunk);
      this.stats.settled(chunk, false);
      chunk.job.chunkFailed(chunk.index, err);
    }
    this.#checkDrained();
  }

  #breakPool(err: Error): void {
    if (this.state === 'broken' || this.state === 'terminated') return;
    const wrapped =
      err instanceof BrokenPoolError
        ? err
        : new BrokenPoolError(`the pool cannot start workers: ${err.message}`, { cause: err });
    this.state = 'broken';
    this.brokenBy = wrapped;
    debug('pool: broken: %s', wrapped.message);
    this.#observer.broken(wrapped);
    this.#failAll(wrapped);
    for (const w of this.workers) w.proc.kill('SIGKILL');
    this.#updateRef();
    this.#checkJoined();
  }

  #checkJoined(): void {
    if (this.workers.length > 0 || this.state === 'running') return;
    if (this.#killTimer) {
      clearTimeout(this.#killTimer);
      this.#killTimer = null;
    }
    liveEngines.delete(this);
    const waiters = this.#joinWaiters.splice(0);
    for (const resolve of waiters) resolve();
  }

  /** Keep the event loop alive only while the pool has something to do. */
  #updateRef(): void {
    const want = this.outstanding > 0 || (this.state !== 'running' && this.workers.length > 0);
    if (want === this.#refed) return;
    this.#refed = want;
    for (const w of this.workers) {
      if (want) w.proc.ref();
      else w.proc.unref();
    }
  }

  // ---- blocking waits (AsyncResult.getSync; the loop is in sync-pump.ts) ---

  readonly pump = (isReady: () => boolean, deadline: number): void => {
    this.#pumping = true;
    try {
      pumpUntil(this, isReady, deadline);
    } finally {
      this.#pumping = false;
    }
  };

  startPending(): void {
    if (this.#startRequested) {
      this.#startRequested = false;
      this.#startNeededWorkers();
    }
    this.dispatch();
  }

  takeReadable(): void {
    for (const w of [...this.workers]) {
      if (!w.eof && !w.finished) this.#drain(w);
      if (w.eof && w.exitcode === null && !w.lost) this.#reapSync(w);
    }
  }

  busyResults(): Connection | null {
    return this.workers.find((w) => w.held.length > 0 && !w.eof)?.proc.results ?? null;
  }

  finished(): boolean {
    return this.outstanding === 0 || this.state === 'terminated' || this.state === 'broken';
  }

  #reapSync(w: WorkerSlot): void {
    let code: number | null = null;
    try {
      code = w.proc.waitExitSync(2000);
    } catch {
      code = NaN; // cannot wait for it here: its exit notice completes it
    }
    if (code === null) {
      w.proc.kill('SIGKILL');
      return;
    }
    w.exitcode = code;
    this.#finishWorker(w);
  }

  /** In a forked child: let go of this pool without touching its workers
   * (they belong to the parent). */
  forgetInChild(): void {
    this.forgotten = true;
    this.state = 'terminated';
    this.#startRequested = false;
    if (this.#killTimer) clearTimeout(this.#killTimer);
    this.#killTimer = null;
    for (const w of this.workers) w.proc.forget();
    this.workers.length = 0;
    this.#queue = [];
    this.#queueHead = 0;
  }
}
