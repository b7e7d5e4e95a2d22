// gevent's Greenlet on Node's event loop: a function started on the next
// turn, whose result, failure, links and joins follow gevent. Switching
// happens at every await (the loop is gevent's hub); kill is cooperative.
import { checkOptions } from '../core/options';
import { GreenletExit } from '../core/errors';
import { Scope, cancellable, currentScope, runSoon, startTimer, storage, toMs } from './scope';
import { ExceptionSpec, Timeout, makeException } from './timeout';
import { Link, callLink, isLink } from './linkable';
import { minimalIdentOf } from './ident';
import { inspect } from 'node:util';

/** What spawn() runs: `this` is the greenlet (its `signal` aborts on kill). */

const KILL_OPTIONS = ['exception', 'block', 'timeout'] as const;
export type GreenletFunction<A extends unknown[], R> = (
  this: Greenlet<Awaited<R>>,
  ...args: A
) => R;

export interface KillOptions {
  /** Raised in the greenlet: a class or an instance (default GreenletExit). */
  exception?: ExceptionSpec;
  /** Wait until the greenlet has finished (default true). */
  block?: boolean;
  /** Bound on that wait, in seconds. */
  timeout?: number | null;
}

type State = 'new' | 'scheduled' | 'later' | 'running' | 'dead';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type DoneCallback = (greenlet: any) => void;

let counter = 0;
let spawnCallbacks: Set<DoneCallback> | null = null;

/** Greenlet.excInfo: Python's exc_info triple in JavaScript's terms. */
export type ExcInfo = [
  /** The error's class (its constructor); null for a thrown primitive. */
  type: (abstract new (...args: never[]) => unknown) | null,
  value: unknown,
  /** The error's stack (Python's traceback); null when it has none. */
  stack: string | null,
];

/** gevent's repr of an argument: inspect(), cut at 50 characters. */
function formatArgs(args: unknown[]): string {
  return args.map((arg) => inspect(arg, { breakLength: Infinity }).slice(0, 50)).join(', ');
}

// Greenlets started in one turn run together on the next, in start order,
// before any timer that comes due meanwhile (runSoon).
function schedule(greenlet: Greenlet<unknown>): void {
  runSoon(() => greenlet['run']());
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** spawn() and spawnLater() need the function: only a subclass's
 * constructor may leave it out (for its _run). */
function needsFunction(fn: unknown, what: string): never {
  if (typeof fn !== 'function') {
    throw new TypeError(`${what} needs a function to run, got ${typeof fn}`);
  }
  return fn as never;
}

/** A greenlet that failed with nobody waiting on it is reported, as gevent does. */
function reportUnobserved(greenlet: Greenlet<unknown>, error: unknown): void {
  const detail = error instanceof Error ? (error.stack ?? String(error)) : String(error);
  const name = error instanceof Error ? error.name : typeof error;
  process.stderr.write(`${detail}\n${greenlet} failed with ${name}\n`);
}

/**
 * gevent's Greenlet. `new Greenlet(fn, ...args).start()` or `spawn(fn, ...args)`.
 * Awaiting it gives its value or throws its exception.
 */
export class Greenlet<T = unknown> implements PromiseLike<T> {
  readonly name: string;
  private readonly fnName: string;
  private fn: ((...args: unknown[]) => unknown) | null;
  private args: unknown[] | null;
  private state: State = 'new';
  private failed = false;
  private result: unknown = undefined;
  private scope: Scope | null = null;
  private cancelLater: (() => void) | null = null;
  private observed = false;
  // Typed loosely so that Greenlet<T> stays assignable to Greenlet<unknown>.
  private callbacks: Set<DoneCallback> | null = null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private links: Array<{ callback: Link<any>; when: 'any' | 'value' | 'exception' }> | null = null;
  private settled: Promise<unknown> | null = null;
  // gevent's _formatinfo: the function and args as toString() shows them,
  // formatted once and kept. The args themselves are let go when the
  // greenlet finishes (gevent frees them too), so a greenlet never shown
  // before it ended shows its function alone.
  private reprArgs: unknown[] | null;
  private formattedInfo: string | null = null;
  private readonly spawner: WeakRef<Greenlet<unknown>> | null = null;
  private treeLocals: Record<string, unknown> | null = null;
  private raw = false;
  /** Where the greenlet was made (gevent's spawning_stack): captured only
   * while Greenlet.spawningStackLimit > 0 (a stack per greenlet is the
   * cost gevent's track_greenlet_tree pays), else null. */
  readonly spawningStack: string | null = null;
  /** How many frames spawningStack keeps; 0 (the default) captures none. */
  static spawningStackLimit = 0;

  /** `fn` may be omitted (or null) by a subclass that overrides `_run`
   * (gevent's Greenlet(run=None)). */
  constructor(fn?: GreenletFunction<unknown[], T | PromiseLike<T>> | null, ...args: unknown[]) {
    if (fn !== undefined && fn !== null && typeof fn !== 'function') {
      throw new TypeError(`Greenlet needs a function to run, got ${typeof fn}`);
    }
    this.fn = (fn ?? this._run) as (...args: unknown[]) => unknown;
    this.fnName = fn ? fn.name || 'anonymous' : '_run';
    this.args = args;
    this.reprArgs = args.length > 0 ? args : null;
    this.name = `Greenlet-${counter++}`;
    // gevent's greenlet tree: a greenlet made inside another shares its
    // spawnTreeLocals; one made outside any greenlet starts a tree.
    const spawner = getcurrent();
    if (spawner) {
      this.spawner = new WeakRef(spawner);
      this.treeLocals = spawner.treeLocals ??= {};
    }
    if (Greenlet.spawningStackLimit > 0)
      this.spawningStack = captureStack(Greenlet.spawningStackLimit);
  }

  /** What the greenlet runs when made without a function: a subclass
   * overrides it (gevent's _run); this one returns undefined. */
  protected _run(..._args: unknown[]): unknown {
    return undefined;
  }

  /** gevent's add_spawn_callback: `callback(greenlet)` is called by every
   * Greenlet's start() and startLater() (once per callback, however often
   * added; not for spawnRaw). */
  static addSpawnCallback(callback: (greenlet: Greenlet<unknown>) => void): void {
    if (typeof callback !== 'function') {
      throw new TypeError(
        `addSpawnCallback(callback): expected a function, got ${typeof callback}`,
      );
    }
    (spawnCallbacks ??= new Set()).add(callback);
  }

  /** Removes a spawn callback (nothing happens if it is not added). */
  static removeSpawnCallback(callback: (greenlet: Greenlet<unknown>) => void): void {
    spawnCallbacks?.delete(callback);
    if (spawnCallbacks?.size === 0) spawnCallbacks = null;
  }

  /** The locals shared by the greenlets of one spawn tree (gevent's
   * spawn_tree_locals): a greenlet made inside another has its spawner's. */
  get spawnTreeLocals(): Record<string, unknown> {
    return (this.treeLocals ??= {});
  }

  /** The greenlet that made this one, while it is alive; null when it was
   * made outside any greenlet (as getcurrent() there). */
  spawningGreenlet(): Greenlet<unknown> | null {
    return this.spawner?.deref() ?? null;
  }

  /** gevent's minimal_ident: a small integer no other live greenlet has,
   * reused once this one is garbage-collected. */
  get minimalIdent(): number {
    return minimalIdentOf(this);
  }

  /** What the greenlet threw, as Python's exc_info triple, once it failed;
   * null otherwise (a GreenletExit is success, as in gevent). */
  get excInfo(): ExcInfo | null {
    if (!this.failed) return null;
    const error = this.result;
    const isObject = typeof error === 'object' && error !== null;
    return [
      isObject ? ((error as object).constructor as ExcInfo[0]) : null,
      error,
      error instanceof Error ? (error.stack ?? null) : null,
    ];
  }

  /** Creates a greenlet and starts it on the next turn of the event loop. */
  static spawn<A extends unknown[], R>(
    fn: GreenletFunction<A, R>,
    ...args: A
  ): Greenlet<Awaited<R>> {
    return new Greenlet<Awaited<R>>(needsFunction(fn, 'spawn'), ...args).start();
  }

  /** Creates a greenlet and starts it after `seconds`. */
  static spawnLater<A extends unknown[], R>(
    seconds: number,
    fn: GreenletFunction<A, R>,
    ...args: A
  ): Greenlet<Awaited<R>> {
    return new Greenlet<Awaited<R>>(needsFunction(fn, 'spawnLater'), ...args).startLater(seconds);
  }

  /** Schedules the greenlet for the next turn of the event loop (once). */
  start(): this {
    if (this.state === 'new') {
      this.callSpawnCallbacks();
      this.state = 'scheduled';
      schedule(this as Greenlet<unknown>);
    }
    return this;
  }

  /** Schedules the greenlet to start after `seconds` (once). */
  startLater(seconds: number): this {
    const ms = toMs(seconds, 'startLater(seconds)') ?? 0;
    if (this.state === 'new') {
      this.callSpawnCallbacks();
      this.state = 'later';
      this.cancelLater = storage.exit(() =>
        startTimer(() => {
          this.cancelLater = null;
          this.run();
        }, ms),
      );
    }
    return this;
  }

  /** True from start() or startLater() until it has finished (gevent:
   * false again once dead, and for one killed before it ran). */
  get started(): boolean {
    return this.state !== 'new' && this.state !== 'dead';
  }

  /** True once the greenlet has finished (or was killed before it ran). */
  get dead(): boolean {
    return this.state === 'dead';
  }

  /** True once the greenlet has a value or an exception. */
  ready(): boolean {
    return this.state === 'dead';
  }

  /** True once it finished without an error (a GreenletExit counts as success, as in gevent). */
  successful(): boolean {
    return this.state === 'dead' && !this.failed;
  }

  /** The return value once successful (a killed greenlet's is its GreenletExit); else undefined. */
  get value(): T | undefined {
    return this.state === 'dead' && !this.failed ? (this.result as T) : undefined;
  }

  /** What the greenlet threw, once it failed; else undefined. */
  get exception(): unknown {
    return this.failed ? this.result : undefined;
  }

  /** Aborts when the greenlet is killed (reason: the kill's exception): pass it to fetch & co. */
  get signal(): AbortSignal {
    this.scope ??= new Scope(this, null);
    return this.scope.signal;
  }

  /**
   * Waits until the greenlet has finished, at most `timeout` seconds; never
   * throws the greenlet's exception (read `exception`, or await the greenlet).
   */
  join(timeout?: number | null): Promise<void> {
    const ms = toMs(timeout, 'join(timeout)');
    if (this.state === 'dead') return Promise.resolve();
    return cancellable<void>((resolve) => {
      const done = (): void => resolve();
      this.onDone(done);
      const cancelTimer = ms === null ? null : startTimer(done, ms);
      return () => {
        this.offDone(done);
        cancelTimer?.();
      };
    });
  }

  /**
   * The greenlet's value, or its exception thrown. `block: false` or an
   * expired `timeout` (seconds) rejects with a Timeout.
   */
  async get(options: { block?: boolean; timeout?: number | null } = {}): Promise<T> {
    const { block = true, timeout } = checkOptions(options, ['block', 'timeout'], 'Greenlet.get');
    this.observed = true;
    if (!this.ready()) {
      if (!block) throw new Timeout(0);
      await this.join(timeout);
      if (!this.ready()) throw new Timeout(timeout);
    }
    if (this.failed) throw this.result;
    return this.result as T;
  }

  /** Awaiting a greenlet gives its value or throws its exception. */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    this.observed = true;
    if (!this.settled) {
      this.settled = new Promise<unknown>((resolve, reject) => {
        const settle = (): void => (this.failed ? reject(this.result) : resolve(this.result));
        if (this.state === 'dead') settle();
        else this.onDone(settle);
      });
    }
    return (this.settled as Promise<T>).then(onfulfilled, onrejected);
  }

  /**
   * Kills the greenlet: one not started yet never runs; a running one has
   * `exception` (default GreenletExit) raised in its waits and its `signal`
   * aborted. Cooperative: a function that never waits or checks its signal
   * runs on. Resolves when it has finished (`block`, default true; at most
   * `timeout` seconds) or at once with `block: false`.
   */
  kill(options: KillOptions = {}): Promise<void> {
    const {
      exception = GreenletExit,
      block = true,
      timeout,
    } = checkOptions(options, KILL_OPTIONS, 'Greenlet.kill');
    const ms = toMs(timeout, 'kill timeout');
    if (this.state !== 'dead') {
      const error = makeException(exception, `${this} was killed`);
      if (this.state === 'running') {
        this.scope!.abort(error);
      } else {
        this.cancelLater?.();
        this.cancelLater = null;
        this.scope?.abort(error);
        this.finish(false, error);
      }
    }
    if (!block || this.ready()) return Promise.resolve();
    return this.join(ms === null ? null : ms / 1000);
  }

  /** Calls `callback(greenlet)` once it has finished (soon after, never
   * synchronously). `callback` may be an AsyncResult (gevent's link target). */
  link(callback: Link<Greenlet<T>>): void {
    this.addLink(callback, 'any');
  }

  /** Like link(), only when the greenlet succeeded. */
  linkValue(callback: Link<Greenlet<T>>): void {
    this.addLink(callback, 'value');
  }

  /** Like link(), only when the greenlet failed. */
  linkException(callback: Link<Greenlet<T>>): void {
    this.addLink(callback, 'exception');
  }

  /** gevent's rawlink: `callback(greenlet)` once it has finished. forkful's
   * link() already calls its callback directly (no greenlet per callback,
   * gevent's SpawnedLink), so rawlink is link. */
  rawlink(callback: Link<Greenlet<T>>): void {
    this.addLink(callback, 'any');
  }

  /** True while a callback is linked and not yet called (gevent's has_links). */
  hasLinks(): boolean {
    return (this.links?.length ?? 0) > 0;
  }

  /** Removes every link to `callback`. */
  unlink(callback: Link<Greenlet<T>>): void {
    if (this.links) this.links = this.links.filter((link) => link.callback !== callback);
  }

  /** gevent's repr: the same before and after the greenlet has run (read `dead`). */
  toString(): string {
    this.formattedInfo ??= this.fnName + (this.reprArgs ? `(${formatArgs(this.reprArgs)})` : '');
    return `<${this.constructor.name} "${this.name}": ${this.formattedInfo}>`;
  }

  /**
   * `await using g = spawn(...)` is gevent's `with spawn(...) as g:`: leaving
   * the block waits until the greenlet has finished, then kills it (a no-op
   * once dead). JavaScript does not tell dispose whether the block threw, so
   * it always joins first (gevent kills at once when the suite raised).
   */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.join();
    } finally {
      await this.kill();
    }
  }

  // ---- internals (used by joinall and Pool in this folder) ----

  /** @internal Runs `callback` when the greenlet finishes (synchronously, at that moment). */
  onDone(callback: DoneCallback): void {
    if (this.state === 'dead') callback(this);
    else (this.callbacks ??= new Set()).add(callback);
  }

  /** @internal */
  offDone(callback: DoneCallback): void {
    this.callbacks?.delete(callback);
  }

  /** @internal Makes it spawnRaw's: no spawn callbacks. */
  markRaw(): void {
    this.raw = true;
  }

  private callSpawnCallbacks(): void {
    if (!spawnCallbacks || this.raw) return;
    for (const callback of [...spawnCallbacks]) callback(this);
  }

  /** @internal Marks the failure as seen by someone (no stderr report). */
  markObserved(): void {
    this.observed = true;
  }

  private addLink(callback: Link<Greenlet<T>>, when: 'any' | 'value' | 'exception'): void {
    if (!isLink(callback)) {
      throw new TypeError('link(callback): callback must be a function or an AsyncResult');
    }
    // A link that sees failures takes over reporting them.
    if (when !== 'value') this.observed = true;
    (this.links ??= []).push({ callback, when });
    if (this.state === 'dead') this.scheduleLinks();
  }

  private run(): void {
    if (this.state === 'dead' || this.state === 'running') return;
    this.state = 'running';
    const scope = (this.scope ??= new Scope(this, null));
    const fn = this.fn!;
    const args = this.args!;
    let result: unknown;
    try {
      result = storage.run(scope, () => fn.apply(this, args));
    } catch (error) {
      this.finish(false, error);
      return;
    }
    if (isThenable(result)) {
      result.then(
        (value) => this.finish(true, value),
        (error) => this.finish(false, error),
      );
    } else {
      this.finish(true, result);
    }
  }

  private finish(ok: boolean, result: unknown): void {
    if (this.state === 'dead') return;
    this.state = 'dead';
    // gevent: a greenlet ended by GreenletExit finished successfully, and
    // the GreenletExit is its value.
    this.failed = !ok && !(result instanceof GreenletExit);
    this.result = result;
    this.fn = null;
    this.args = null;
    this.reprArgs = null;
    this.scope?.end();
    if (this.failed && !this.observed) reportUnobserved(this as Greenlet<unknown>, result);
    const callbacks = this.callbacks;
    this.callbacks = null;
    if (callbacks) for (const callback of callbacks) callback(this);
    if (this.links) this.scheduleLinks();
  }

  private scheduleLinks(): void {
    storage.exit(() =>
      queueMicrotask(() => {
        // One at a time from the list itself: a callback's unlink() stops a
        // link that has not run yet, as in gevent.
        while (this.links && this.links.length > 0) {
          const { callback, when } = this.links.shift()!;
          if (when === 'value' && this.failed) continue;
          if (when === 'exception' && !this.failed) continue;
          callLink(callback, this);
        }
        this.links = null;
      }),
    );
  }
}

/** Starts `fn(...args)` in a new greenlet on the next turn of the event loop. */
export function spawn<A extends unknown[], R>(
  fn: GreenletFunction<A, R>,
  ...args: A
): Greenlet<Awaited<R>> {
  return Greenlet.spawn(fn, ...args);
}

/** What spawnRaw() returns: gevent's raw greenlet has no links, value or
 * join, only its state, kill (killall takes it) and its spawn tree. */
export type RawGreenlet = Pick<
  Greenlet<unknown>,
  | 'name'
  | 'started'
  | 'dead'
  | 'signal'
  | 'kill'
  | 'minimalIdent'
  | 'spawnTreeLocals'
  | 'spawningGreenlet'
  | 'spawningStack'
  | 'toString'
>;

/** gevent.spawn_raw: runs `fn(...args)` on the next turn without a
 * Greenlet's link machinery (the object is a Greenlet typed down to
 * RawGreenlet; spawn callbacks are not called). A failure is printed to
 * stderr, as gevent's hub reports one. */
export function spawnRaw<A extends unknown[]>(
  fn: (...args: A) => unknown,
  ...args: A
): RawGreenlet {
  if (typeof fn !== 'function') {
    throw new TypeError(`spawnRaw needs a function to run, got ${typeof fn}`);
  }
  const greenlet = new Greenlet<unknown>(fn as never, ...args);
  greenlet.markRaw();
  return greenlet.start();
}

/** Starts `fn(...args)` in a new greenlet after `seconds`. */
export function spawnLater<A extends unknown[], R>(
  seconds: number,
  fn: GreenletFunction<A, R>,
  ...args: A
): Greenlet<Awaited<R>> {
  return Greenlet.spawnLater(seconds, fn, ...args);
}

/** The greenlet running the caller, or null outside any greenlet. */
export function getcurrent(): Greenlet<unknown> | null {
  return (currentScope()?.owner as Greenlet<unknown> | undefined) ?? null;
}

function captureStack(limit: number): string | null {
  const holder: { stack?: string } = {};
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = limit;
  try {
    Error.captureStackTrace(holder, Greenlet);
  } finally {
    Error.stackTraceLimit = saved;
  }
  return holder.stack ? holder.stack.split('\n').slice(1).join('\n') : null;
}
