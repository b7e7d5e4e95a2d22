// What a Pool has done, for pool.stats() (piscina's figures, in Python's
// vocabulary: a task is a chunk, as maxtasksperchild counts them: one
// apply, or `chunksize` items of a map). The engine reports each step of a
// chunk (queued, sent, settled, dropped) and each worker's start and exit;
// times are kept for the last SAMPLES chunks.
import type { Chunk } from './jobs';

/** How many recent chunks the time summaries cover. */
export const SAMPLES = 1024;

/** A summary of durations, in milliseconds (0 when there is none yet). */
export interface TimeSummary {
  /** How many durations it summarises (at most the last 1024 tasks). */
  count: number;
  mean: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface PoolStats {
  /** Worker processes alive now. */
  workers: number;
  /** The pool's size (`processes`). */
  processes: number;
  /** Tasks (chunks) waiting for a worker. */
  queued: number;
  /** Tasks sent to a worker and not answered yet. */
  running: number;
  /** Tasks that returned a value. */
  completed: number;
  /** Tasks that threw, or were lost with their worker, or failed with the
   * pool (terminate(), a broken initializer). */
  failed: number;
  /** Tasks of aborted calls that were dropped from the queue, or
   * abandoned with the worker replaced for them. */
  cancelled: number;
  /** Workers started so far, replacements included. */
  workersStarted: number;
  /** Share of the workers' time spent running tasks since the pool was
   * created: task run time / (processes × age), 0..1. */
  utilisation: number;
  /** From being sent to a worker to the answer's arrival (run time). */
  runTime: TimeSummary;
  /** From the call to being sent to a worker (time in the queue). */
  waitTime: TimeSummary;
}

/** Ring of the last SAMPLES durations. */
class Samples {
  readonly #values = new Float64Array(SAMPLES);
  #count = 0;
  add(ms: number): void {
    this.#values[this.#count % SAMPLES] = ms;
    this.#count++;
  }
  summary(): TimeSummary {
    const n = Math.min(this.#count, SAMPLES);
    if (n === 0) return { count: 0, mean: 0, min: 0, max: 0, p50: 0, p90: 0, p99: 0 };
    const sorted = this.#values.slice(0, n).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    const at = (q: number) => sorted[Math.min(n - 1, Math.floor(q * n))];
    return {
      count: n,
      mean: sum / n,
      min: sorted[0],
      max: sorted[n - 1],
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
    };
  }
}

export class StatsRecorder {
  readonly #created = performance.now();
  readonly #run = new Samples();
  readonly #wait = new Samples();
  #busyMs = 0;
  completed = 0;
  failed = 0;
  cancelled = 0;
  workersStarted = 0;

  /** The chunk leaves the queue for a worker. */
  sent(chunk: Chunk): void {
    const now = performance.now();
    chunk.sentAt = now;
    this.#wait.add(now - chunk.queuedAt);
  }

  /** The chunk's outcome arrived (or it was lost or failed with the pool). */
  settled(chunk: Chunk, ok: boolean): void {
    if (ok) this.completed++;
    else this.failed++;
    if (chunk.sentAt === 0) return;
    const ms = performance.now() - chunk.sentAt;
    this.#busyMs += ms;
    this.#run.add(ms);
  }

  dropped(): void {
    this.cancelled++;
  }

  snapshot(live: {
    workers: number;
    processes: number;
    queued: number;
    running: number;
  }): PoolStats {
    const age = performance.now() - this.#created;
    return {
      ...live,
      completed: this.completed,
      failed: this.failed,
      cancelled: this.cancelled,
      workersStarted: this.workersStarted,
      utilisation: age > 0 ? Math.min(1, this.#busyMs / (live.processes * age)) : 0,
      runTime: this.#run.summary(),
      waitTime: this.#wait.summary(),
    };
  }
}
