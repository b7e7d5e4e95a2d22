// A cluster worker: a BullMQ Worker on the queue `name` whose jobs run in a
// local forkful Pool of N processes. One job is one chunk of a call; its items
// are spread over the local processes as a local map spreads them. A worker
// that dies mid-job loses its lock; BullMQ's stalled-job check puts the job
// back in the queue for another worker (at-least-once execution).
import * as os from 'node:os';
import type { ConnectionOptions, Job, Queue, Worker as BullWorker } from 'bullmq';
import type { Redis } from 'ioredis';
import { BrokenPoolError, NotSupportedError, ValueError } from '../core/errors';
import { Pool as LocalPool, cpuCount, type StartMethod } from '../multiprocessing';
import { CALLER_GONE, LivenessCache, sweepDeadCallers } from './callers';
import { createClient, Keys, type Connection } from './connection';
import { within } from './bounded';
import { positiveInt, readQueueOptions, seconds, type QueueOptions } from './options';
import { bullmq } from './deps';
import { TargetCache, type TaskFunction } from './target';
import {
  DEFAULT_MAX_JOB_BYTES,
  WIRE_VERSION,
  decodeValue,
  encodeError,
  encodeValue,
  type JobData,
  type Outcome,
} from './wire';
import { workerName } from './worker-name';

export interface WorkerOptions extends QueueOptions {
  /** Processes of the local pool (default: cpuCount()). */
  processes?: number;
  /** Jobs taken at once (default: 2 × processes, so the local pool has the
   * next job while a result goes back to Redis). */
  concurrency?: number;
  /** Where module targets (`{ module }`) and require() in tasks sent as
   * source resolve from (default: process.cwd()). */
  cwd?: string;
  /** The local pool's start method (default: getStartMethod()). */
  startMethod?: StartMethod;
  /** Seconds a job stays locked without renewal: a dead worker's jobs go
   * back to the queue after about this long (default 30). */
  lockDuration?: number;
  /** Seconds between stalled-job checks (default: lockDuration). */
  stalledInterval?: number;
  /** Times a job may be put back after its worker died before it fails with
   * WorkerLostError (default 3). */
  maxStalledCount?: number;
  /** Seconds close() lets running jobs finish before it hands them back to
   * the queue (default 30). */
  grace?: number;
  /** Seconds between sweeps that remove the jobs of callers that are gone
   * (default 30). */
  sweepInterval?: number;
  /** Largest encoded result of one job, in bytes (default 4 MiB; a caller's
   * smaller limit wins). */
  maxJobBytes?: number;
  /** Where the worker reports what it does (default: nothing). */
  log?: (line: string) => void;
}

export interface WorkerStats {
  /** Jobs whose outcome (a value or the task's error) went back. */
  completed: number;
  /** Of those, jobs whose task threw. */
  taskErrors: number;
  /** Jobs dropped because their caller was gone. */
  dropped: number;
  /** Running jobs put back in the queue by close(). */
  handedBack: number;
  /** Callers cleaned up by this worker's sweeps. */
  swept: number;
  /** Jobs running now. */
  active: number;
}

// How long close() waits for Redis beyond the grace, before dropping it.
const SHUTDOWN_MS = 5000;

/** Thrown into a running job's processor when close() hands it back. */
const HAND_BACK = Symbol('hand back');

interface Running {
  handBack(): void;
}

export class Worker {
  readonly name: string;
  readonly processes: number;
  readonly concurrency: number;
  /** This worker's BullMQ name (jobs record it as `processedBy`). */
  readonly id: string;
  /** Resolves once the worker takes jobs; rejects if it cannot start. */
  readonly ready: Promise<void>;

  private readonly conn: Connection;
  private readonly prefix: string;
  private readonly keys: Keys;
  private readonly cwd: string;
  private readonly grace: number;
  private readonly maxJobBytes: number;
  private readonly where = `${os.hostname()}:${process.pid}`;
  private readonly log: (line: string) => void;
  private readonly targets: TargetCache;
  private pool: LocalPool;
  private poolBreaks: number[] = [];
  private client: Redis | null = null;
  private queue: Queue | null = null;
  private bull: BullWorker | null = null;
  private liveness: LivenessCache | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly running = new Map<string, Running>();
  private closing: Promise<void> | null = null;
  private fatal: Error | null = null;
  private resolveDone!: () => void;
  /** Resolves once the worker has closed, by close() or because it could
   * not go on (then `error` says why). */
  readonly done: Promise<void> = new Promise((resolve) => (this.resolveDone = resolve));
  private readonly counters = { completed: 0, taskErrors: 0, dropped: 0, handedBack: 0, swept: 0 };

  constructor(private readonly options: WorkerOptions) {
    const place = readQueueOptions(
      options,
      [
        'processes',
        'concurrency',
        'cwd',
        'startMethod',
        'lockDuration',
        'stalledInterval',
        'maxStalledCount',
        'grace',
        'sweepInterval',
        'maxJobBytes',
        'log',
      ],
      'cluster.Worker',
    );
    this.name = place.name;
    this.conn = place.conn;
    this.prefix = place.prefix;
    this.keys = place.keys;
    this.processes = positiveInt(options.processes ?? cpuCount(), 'processes');
    this.concurrency = positiveInt(options.concurrency ?? 2 * this.processes, 'concurrency');
    this.cwd = options.cwd ?? process.cwd();
    this.grace = seconds(options.grace ?? 30, 'grace');
    this.maxJobBytes = positiveInt(options.maxJobBytes ?? DEFAULT_MAX_JOB_BYTES, 'maxJobBytes');
    this.log = options.log ?? (() => {});
    this.id = workerName(this.processes);
    this.targets = new TargetCache(this.cwd);
    this.pool = new LocalPool({ processes: this.processes, startMethod: options.startMethod });
    this.ready = this.start();
    this.ready.catch(() => {}); // reported to whoever awaits it
  }

  /** Why the worker closed by itself, or null. */
  get error(): Error | null {
    return this.fatal;
  }

  stats(): WorkerStats {
    return { ...this.counters, active: this.running.size };
  }

  /** Stops taking jobs and lets running ones finish; after `grace` seconds
   * (default: the option), hands the ones still running back to the queue
   * so another worker runs them at once. Then ends the local pool and the
   * connections. */
  close(grace: number = this.grace): Promise<void> {
    this.closing ??= this.shutdown(grace);
    return this.closing;
  }

  /** Hands every running job back to the queue now (a second SIGTERM). */
  handBackAll(): void {
    for (const r of [...this.running.values()]) r.handBack();
  }

  private async start(): Promise<void> {
    const { Queue, Worker: BullWorkerClass } = bullmq();
    const lockMs = seconds(this.options.lockDuration ?? 30, 'lockDuration') * 1000;
    const stalledMs =
      seconds(this.options.stalledInterval ?? lockMs / 1000, 'stalledInterval') * 1000;
    const maxStalled = this.options.maxStalledCount ?? 3;
    if (!Number.isInteger(maxStalled) || maxStalled < 0) {
      throw new ValueError(`maxStalledCount must be an integer >= 0, not ${String(maxStalled)}`);
    }
    const sweepMs = seconds(this.options.sweepInterval ?? 30, 'sweepInterval') * 1000;

    const client = createClient(this.conn);
    this.client = client;
    client.on('error', (err) => this.log(`redis: ${err.message}`));
    this.liveness = new LivenessCache(client, this.keys);
    const queue = new Queue(this.name, { connection: client, prefix: this.prefix });
    queue.on('error', (err) => this.log(`queue: ${err.message}`));
    this.queue = queue;

    const bull = new BullWorkerClass<JobData, Outcome>(
      this.name,
      (job, token) => this.runJob(job, token),
      {
        connection: { ...this.conn.options } as ConnectionOptions,
        prefix: this.prefix,
        name: this.id,
        concurrency: this.concurrency,
        lockDuration: lockMs,
        stalledInterval: stalledMs,
        maxStalledCount: maxStalled,
        autorun: false,
      },
    );
    bull.on('error', (err) => this.log(`worker: ${err.message}`));
    bull.on('stalled', (jobId) =>
      this.log(`job ${jobId} stalled (its worker was lost): back in the queue`),
    );
    this.bull = bull;
    await bull.waitUntilReady();
    await queue.waitUntilReady();
    void bull.run().catch((err: Error) => this.log(`worker stopped: ${err.message}`));

    const sweep = (): void => {
      sweepDeadCallers(client, queue, this.keys)
        .then((n) => {
          this.counters.swept += n;
          if (n > 0) this.log(`swept the jobs of ${n} caller(s) that are gone`);
        })
        .catch((err: Error) => this.log(`sweep: ${err.message}`));
    };
    sweep();
    this.sweepTimer = setInterval(sweep, sweepMs);
    this.sweepTimer.unref();
    this.log(
      `forkful worker ${this.id} ready: queue '${this.name}' on ${this.conn.where}, ` +
        `${this.processes} processes, ${this.concurrency} jobs at once`,
    );
  }

  private async runJob(job: Job<JobData, Outcome>, token?: string): Promise<Outcome> {
    const data = job.data;
    if (!data || data.v !== WIRE_VERSION) {
      throw new (bullmq().UnrecoverableError)(
        `forkful: job ${job.id} is not a forkful job of wire version ${WIRE_VERSION} ` +
          `(got ${String(data?.v)}): run the same forkful version on callers and workers`,
      );
    }
    if (!(await (this.liveness as LivenessCache).alive(data.c))) {
      this.counters.dropped++;
      throw new (bullmq().UnrecoverableError)(CALLER_GONE);
    }
    let hint: (err: unknown) => string | null = () => null;
    let value: unknown;
    try {
      const resolved = this.targets.resolve(data.t);
      hint = resolved.hint;
      const payload = decodeValue(data.p);
      value = await this.runHandingBack(job, token, () =>
        this.runLocal(resolved.fn, data, payload),
      );
    } catch (err) {
      if (err === HAND_BACK) throw new (bullmq().WaitingError)();
      if (err instanceof BrokenPoolError && !this.closing) {
        // This machine's pool broke (it could not fork): not the task's
        // fault, so the job goes back to the queue for a machine that can.
        this.poolBroke(err);
        await job.moveToWait(token);
        throw new (bullmq().WaitingError)();
      }
      const text = hint(err);
      const error = text ? new NotSupportedError(text, { cause: err }) : err;
      return this.outcome([false, encodeError(error, this.where)]);
    }
    try {
      const what = data.m === 'apply' ? 'the result' : 'the results of a chunk';
      return this.outcome([true, encodeValue(value, Math.min(data.l, this.maxJobBytes), what)]);
    } catch (err) {
      return this.outcome([false, encodeError(err, this.where)]);
    }
  }

  /** A new local pool after a break; three breaks in a minute close the
   * worker (the machine cannot run processes: better no worker than one
   * that takes jobs and hands them back). */
  private poolBroke(err: Error): void {
    const now = Date.now();
    this.poolBreaks = [...this.poolBreaks.filter((t) => now - t < 60000), now];
    this.log(`the local pool broke (${err.message}): job handed back`);
    if (this.poolBreaks.length >= 3) {
      this.fatal = new BrokenPoolError(
        `the local pool of this worker broke 3 times in a minute (last: ${err.message}): ` +
          `closing the worker`,
        { cause: err },
      );
      this.log(this.fatal.message);
      void this.close(0.001);
      return;
    }
    const old = this.pool;
    this.pool = new LocalPool({ processes: this.processes, startMethod: this.options.startMethod });
    old.terminate();
  }

  private outcome(o: Outcome): Outcome {
    this.counters.completed++;
    if (!o[0]) this.counters.taskErrors++;
    return o;
  }

  private runLocal(fn: TaskFunction, data: JobData, payload: unknown): Promise<unknown> {
    if (data.m === 'apply') return this.pool.apply(fn, payload as unknown[]);
    if (data.m === 'star') return this.pool.starmap(fn, payload as unknown[][]);
    return this.pool.map(fn, payload as unknown[]);
  }

  /** Runs the job; close() may hand it back instead (moved to the queue's
   * head, its lock released), and then this rejects with HAND_BACK. */
  private runHandingBack(
    job: Job<JobData, Outcome>,
    token: string | undefined,
    run: () => Promise<unknown>,
  ): Promise<unknown> {
    const id = job.id as string;
    return new Promise<unknown>((resolve, reject) => {
      let settled = false;
      this.running.set(id, {
        handBack: () => {
          if (settled) return;
          settled = true;
          this.counters.handedBack++;
          job
            .moveToWait(token)
            .catch((err: Error) => this.log(`hand back of job ${id}: ${err.message}`))
            .finally(() => reject(HAND_BACK));
        },
      });
      run().then(
        (v) => {
          if (settled) return;
          settled = true;
          resolve(v);
        },
        (e) => {
          if (settled) return;
          settled = true;
          reject(e);
        },
      );
    }).finally(() => this.running.delete(id));
  }

  private async shutdown(grace: number): Promise<void> {
    await within(this.ready, SHUTDOWN_MS); // a worker that never started closes what it opened
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    const timer = setTimeout(() => {
      if (this.running.size > 0) {
        this.log(`grace of ${grace} s over: handing ${this.running.size} running job(s) back`);
      }
      this.handBackAll();
    }, grace * 1000);
    this.log(`closing: finishing ${this.running.size} running job(s), taking no new ones`);
    const closed = this.bull ? this.bull.close() : Promise.resolve();
    // With Redis gone, neither finishing nor handing back can reach it: the
    // jobs' locks lapse and BullMQ retries them elsewhere. So wait for the
    // grace while jobs run, and for Redis only SHUTDOWN_MS once none does.
    const deadline = Date.now() + grace * 1000 + SHUTDOWN_MS;
    let idleSince = Date.now();
    let answered = false;
    let done = false;
    const settle = (): void => {
      done = true;
      answered = true;
    };
    void closed.then(settle, settle);
    while (!done && Date.now() < deadline) {
      if (this.running.size > 0) idleSince = Date.now();
      else if (Date.now() - idleSince > SHUTDOWN_MS) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    clearTimeout(timer);
    this.pool.terminate();
    await this.pool.join();
    if (this.queue) answered = (await within(this.queue.close(), SHUTDOWN_MS)) && answered;
    if (!answered) {
      this.log('Redis did not answer: connections dropped (running jobs will be retried)');
      // Only now: disconnecting a closed connection again holds Node for 2 s.
      await Promise.all([this.bull?.disconnect(), this.queue?.disconnect()]).catch(() => {});
    }
    this.client?.disconnect();
    this.log(`forkful worker ${this.id} closed`);
    this.resolveDone();
  }
}

/** Starts a worker and resolves once it takes jobs. */
export async function runWorker(options: WorkerOptions): Promise<Worker> {
  const worker = new Worker(options);
  try {
    await worker.ready;
  } catch (err) {
    await worker.close(0.001);
    throw err;
  }
  return worker;
}
