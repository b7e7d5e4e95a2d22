// Spawned children without the addon: started and reaped by a thread of
// their own (spawner-worker.ts), so that joinSync() and exitcode can learn
// of an exit while this thread's event loop is blocked. One spawner per
// thread that starts children, made on first use; it keeps the event loop
// alive only while a child that should (not unref'd, not ended) runs.
// The spawner records its end (lib/core/recorded-worker.ts): should it end,
// a blocking wait raises rather than waiting for news that cannot come.
import * as path from 'node:path';
import {
  MessageChannel,
  receiveMessageOnPort,
  type MessagePort,
  type Worker,
} from 'node:worker_threads';
import { NotSupportedError, RuntimeError } from '../../core/errors';
import { packageRoot } from '../../core/native';
import {
  COUNTER,
  LIVENESS_SLICE_MS,
  recordedEnd,
  startRecordedWorker,
} from '../../core/recorded-worker';
import type { SpawnEvent, SpawnRequest, SpawnerData } from './spawner-worker';
import { exitcodeOfStatus, procStat } from './proc-stat';
import type { ChildHandle } from './types';

// Run from the TypeScript sources (ts-jest, tsx), the Worker runs dist's.
const PROGRAM = __filename.endsWith('.ts')
  ? path.join(packageRoot, 'dist', 'multiprocessing', 'start', 'spawner-worker.js')
  : path.join(__dirname, 'spawner-worker.js');

let testScript: string | null = null;

/** @internal Tests only: the next child starts through a new spawner
 * that runs `script` (a file) instead of spawner-worker.js; null restores
 * it for the spawner after that. */
export function _spawnerScriptForTests(script: string | null): void {
  testScript = script;
  spawner = null;
}

class Spawner {
  readonly #port: MessagePort;
  readonly #worker: Worker;
  readonly #words: Int32Array;
  readonly #children = new Map<number, SpawnerChild>();
  /** Start replies not yet taken by start(). */
  readonly #started = new Map<number, SpawnEvent>();
  #next = 1;
  #refs = 0;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    const data: Omit<SpawnerData, 'counter'> = { port: port2 };
    const { worker, words } = startRecordedWorker(testScript ?? PROGRAM, data, [port2]);
    this.#words = words;
    this.#worker = worker;
    worker.on('error', () => {}); // (recorded in the words)
    // Async waits (join(), sentinels) learn of its end here: the children
    // it still watched can no longer be waited for.
    worker.on('exit', (code) =>
      this.#lose(recordedEnd(words) ?? `it was stopped (exit code ${code})`),
    );
    worker.unref();
    this.#port.on('message', (e: SpawnEvent) => this.#dispatch(e));
    this.#port.unref();
  }

  /** Starts a child; blocks until it has a pid. */
  start(req: Omit<SpawnRequest, 'key'>): SpawnerChild {
    const key = this.#next++;
    this.#port.postMessage({ ...req, key });
    this.waitUntil(() => this.#started.has(key), -1, 'a spawned child to start');
    const e = this.#started.get(key)!;
    this.#started.delete(key);
    if ('error' in e) throw new NotSupportedError(e.error);
    const child = new SpawnerChild(this, (e as { pid: number }).pid);
    this.#children.set(key, child);
    this.ref();
    return child;
  }

  #dispatch(e: SpawnEvent): void {
    if ('exitcode' in e) {
      const child = this.#children.get(e.key);
      this.#children.delete(e.key);
      child?._exited(e.exitcode);
    } else {
      this.#started.set(e.key, e);
    }
  }

  /** Takes the events posted so far, then blocks until `done()` or until
   * `timeoutMs` passed (< 0: no limit); whether `done()` became true.
   * RuntimeError, naming `what` was awaited, once the spawner has ended
   * with `done()` still false: no news can come any more. */
  waitUntil(done: () => boolean, timeoutMs: number, what: string): boolean {
    const deadline = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
    for (;;) {
      const seen = Atomics.load(this.#words, COUNTER);
      for (let m = receiveMessageOnPort(this.#port); m; m = receiveMessageOnPort(this.#port)) {
        this.#dispatch(m.message as SpawnEvent);
      }
      if (done()) return true;
      const ended = this.ended();
      if (ended) throw spawnerLost(what, ended);
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.#words, COUNTER, seen, Math.min(left, LIVENESS_SLICE_MS));
    }
  }

  /** The spawner thread ended (seen from the event loop): each child it
   * still watched learns that its end will never be reported. */
  #lose(why: string): void {
    if (spawner === this) spawner = null;
    // What it posted before it ended still counts.
    for (let m = receiveMessageOnPort(this.#port); m; m = receiveMessageOnPort(this.#port)) {
      this.#dispatch(m.message as SpawnEvent);
    }
    for (const child of this.#children.values()) {
      child._lost(spawnerLost(`child ${child.pid}`, why));
    }
    this.#children.clear();
  }

  /** Why the spawner thread ended, or null while it runs. */
  ended(): string | null {
    const why = recordedEnd(this.#words);
    if (why !== null && spawner === this) spawner = null; // the next start makes a new one
    return why;
  }

  // While a child keeps the event loop alive, so does the spawner thread:
  // should it end, its 'exit' event must be seen to settle the joins.
  ref(): void {
    if (this.#refs++ > 0) return;
    this.#port.ref();
    this.#worker.ref();
  }

  unref(): void {
    if (--this.#refs > 0) return;
    this.#port.unref();
    this.#worker.unref();
  }
}

/** Why a wait for `what` cannot end: the spawner `ended` (why). */
function spawnerLost(what: string, ended: string): RuntimeError {
  return new RuntimeError(
    `cannot wait for ${what}: forkful's spawner thread (which starts and reaps the ` +
      `children this thread spawns without the addon) ended: ${ended}. Children it ` +
      `started cannot be joined; new ones get a new spawner`,
  );
}

/** How often a child whose spawner ended is looked at in /proc. */
const LOOK_MS = 100;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** A child started by the spawner. Should the spawner end first, the
 * child's end can still be seen where /proc shows it (Linux: a zombie
 * keeps its exit status there); elsewhere, or once the spawner reaped it
 * unreported, waits on it raise why. */
class SpawnerChild implements ChildHandle {
  #exitcode: number | null = null;
  #refed = true;
  #callbacks: Array<(code: number) => void> = [];
  #lostCallbacks: Array<(err: RuntimeError) => void> = [];
  #lost: RuntimeError | null = null;
  /** Its start time in /proc (null without one): a later process with
   * its pid is not it. */
  readonly #starttime: string | null;
  /** Why the spawner no longer watches it (then /proc is looked at). */
  #orphaned: RuntimeError | null = null;
  #looking: NodeJS.Timeout | null = null;

  constructor(
    readonly spawner: Spawner,
    readonly pid: number,
  ) {
    this.#starttime = procStat(pid)?.starttime ?? null;
  }

  /** @internal The spawner saw it end. */
  _exited(code: number): void {
    if (this.#exitcode !== null) return;
    this.#exitcode = code;
    this.#stopLooking();
    if (this.#refed) {
      this.#refed = false;
      this.spawner.unref();
    }
    // Reported from the event loop, never from inside the call (joinSync,
    // exitcode) that took the news.
    setImmediate(() => {
      for (const cb of this.#callbacks.splice(0)) cb(code);
    });
  }

  /** @internal The spawner ended before it reported this child's end:
   * /proc tells it, now or later, or it is lost with `err`. */
  _lost(err: RuntimeError): void {
    if (this.#exitcode !== null || this.#orphaned) return;
    this.#orphaned = err;
    if (this.#look()) return;
    this.#looking = setInterval(() => this.#look(), LOOK_MS);
    if (!this.#refed) this.#looking.unref();
  }

  /** Looks at /proc: true once its end is known (exit code or lost). */
  #look(): boolean {
    if (this.#exitcode !== null || this.#lost) return true;
    const stat = procStat(this.pid);
    // Gone, or another process now: the spawner reaped it unreported.
    if (
      !stat ||
      this.#starttime === null ||
      stat.starttime !== this.#starttime ||
      stat.ppid !== process.pid
    ) {
      this.#loseIt(this.#orphaned!);
      return true;
    }
    if (stat.state !== 'Z') return false;
    if (Number.isNaN(stat.status)) this.#loseIt(this.#orphaned!);
    else this._exited(exitcodeOfStatus(stat.status));
    return true;
  }

  #loseIt(err: RuntimeError): void {
    this.#stopLooking();
    this.#lost = err;
    this.unref();
    for (const cb of this.#lostCallbacks.splice(0)) cb(err);
    this.#callbacks = [];
  }

  #stopLooking(): void {
    if (this.#looking) clearInterval(this.#looking);
    this.#looking = null;
  }

  onExit(callback: (exitcode: number) => void): void {
    this.#callbacks.push(callback);
  }

  onLost(callback: (err: RuntimeError) => void): void {
    if (this.#lost) callback(this.#lost);
    else if (this.#exitcode === null) this.#lostCallbacks.push(callback);
  }

  waitSync(timeoutMs: number): number | null {
    const deadline = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
    if (this.#exitcode === null && !this.#orphaned) {
      try {
        this.spawner.waitUntil(() => this.#exitcode !== null, timeoutMs, `child ${this.pid}`);
      } catch (err) {
        if (this.spawner.ended() === null) throw err;
        this._lost(err as RuntimeError);
      }
    }
    // The spawner has ended: /proc shows its end.
    while (this.#orphaned && !this.#look()) {
      const left = deadline - Date.now();
      if (left <= 0) return null;
      Atomics.wait(sleeper, 0, 0, Math.min(left, LOOK_MS));
    }
    if (this.#lost) throw this.#lost;
    return this.#exitcode;
  }

  kill(signal: number): void {
    process.kill(this.pid, signal);
  }

  ref(): void {
    if (this.#refed || this.#exitcode !== null || this.#lost) return;
    this.#refed = true;
    this.spawner.ref();
    this.#looking?.ref();
  }

  unref(): void {
    if (!this.#refed) return;
    this.#refed = false;
    this.spawner.unref();
    this.#looking?.unref();
  }

  detach(): void {
    this.unref();
    this.#stopLooking();
    this.#callbacks = [];
    this.#lostCallbacks = [];
  }
}

let spawner: Spawner | null = null;

/** Starts a child through this thread's spawner (made on first use). */
export function spawnThroughSpawner(req: Omit<SpawnRequest, 'key'>): ChildHandle {
  spawner ??= new Spawner();
  return spawner.start(req);
}
