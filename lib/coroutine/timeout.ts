// gevent.Timeout and gevent.with_timeout, cooperative: a Timeout that fires
// fails the waits (sleep, join, Pool waits) of the greenlet or block it
// guards, and aborts that block's AbortSignal.
import { checkOptions } from '../core/options';
import { RuntimeError, TimeoutError } from '../core/errors';
import { Scope, currentScope, startTimer, storage, toMs } from './scope';

/** An exception class, or an exception to raise as is. */
export type ExceptionSpec = unknown;

/** Builds the exception a kill or timeout raises from a class or an instance. */
export function makeException(spec: ExceptionSpec, message: string): unknown {
  if (typeof spec === 'function') {
    return new (spec as new (message?: string) => unknown)(message);
  }
  return spec;
}

function describe(seconds: number | null): string {
  return seconds === 1 ? '1 second' : `${seconds} seconds`;
}

/**
 * gevent's Timeout: both the error raised when time runs out and the object
 * that arms it. `new Timeout(5).run(fn)` (or `withTimeout(fn, 5)`) guards a
 * block; `Timeout.startNew(5)` inside a greenlet guards that greenlet's next
 * waits until `cancel()` (or `using t = Timeout.startNew(5)`).
 */
export class Timeout extends TimeoutError {
  /** The limit in seconds; null never fires. */
  readonly seconds: number | null;
  /** What is raised instead of this Timeout, when given (a class or an
   * instance); false makes run() silent, a string ends the message. */
  readonly exception: ExceptionSpec;
  private readonly ms: number | null;
  private cancelTimer: (() => void) | null = null;
  private scope: Scope | null = null;

  constructor(seconds?: number | null, exception?: ExceptionSpec) {
    const ms = toMs(seconds, 'Timeout(seconds)');
    // gevent's str(): false is a silent timeout, a string ends the message.
    const suffix =
      exception === false ? ' (silent)' : typeof exception === 'string' ? `: ${exception}` : '';
    super(
      (ms === null ? 'timeout with no limit' : `timed out after ${describe(seconds ?? null)}`) +
        suffix,
    );
    this.seconds = seconds ?? null;
    this.exception = exception;
    this.ms = ms;
  }

  /** Creates and starts a Timeout (gevent's Timeout.start_new). */
  static startNew(seconds?: number | null, exception?: ExceptionSpec): Timeout {
    return new Timeout(seconds, exception).start();
  }

  /** True while the timer is armed. */
  get pending(): boolean {
    return this.cancelTimer !== null;
  }

  /**
   * Arms the timer for the current greenlet: when it fires, the wait the
   * greenlet is in (or its next one) fails with this Timeout.
   */
  start(): this {
    if (this.pending) throw new RuntimeError('this Timeout is already started: cancel() it first');
    const scope = currentScope();
    if (!scope) {
      throw new RuntimeError(
        'Timeout.start() outside a greenlet has nothing to interrupt: call it inside a ' +
          'spawned function, or guard a block with withTimeout(fn, seconds) / timeout.run(fn)',
      );
    }
    if (this.ms === null) return this;
    this.scope = scope;
    scope.arm(this);
    this.cancelTimer = startTimer(() => {
      this.cancelTimer = null;
      scope.disarm(this);
      scope.interrupt(this.error(), this);
    }, this.ms);
    return this;
  }

  /** Disarms the timer and withdraws an interrupt not yet delivered. */
  cancel(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.scope?.disarm(this);
    this.scope?.withdraw(this);
    this.scope = null;
  }

  /** Same as cancel() (gevent's close). */
  close(): void {
    this.cancel();
  }

  [Symbol.dispose](): void {
    this.cancel();
  }

  /**
   * Runs `fn(signal)` guarded by this Timeout (gevent's `with Timeout(s):`).
   * When time runs out, the returned Promise rejects with the Timeout (or
   * resolves to `timeoutValue` when that option is given) and `signal`
   * aborts, failing the waits inside `fn`.
   */
  run<R>(
    fn: (signal: AbortSignal) => R | PromiseLike<R>,
    options: { timeoutValue?: unknown } = {},
  ): Promise<R> {
    if (typeof fn !== 'function') throw new TypeError('Timeout.run(fn): fn must be a function');
    if (this.pending) throw new RuntimeError('this Timeout is already started: cancel() it first');
    const parent = currentScope() ?? null;
    const scope = new Scope(parent?.owner ?? null, parent);
    checkOptions(options, ['timeoutValue'], 'Timeout.run');
    const useValue = 'timeoutValue' in options;
    return new Promise<R>((resolve, reject) => {
      let settled = false;
      const finish = (ok: boolean, value: unknown): void => {
        if (settled) return;
        settled = true;
        this.cancelTimer?.();
        this.cancelTimer = null;
        scope.close();
        if (ok) resolve(value as R);
        else reject(value);
      };
      // The enclosing greenlet was killed: the block ends with that exception.
      scope.onAbort = (reason) => finish(false, reason);
      if (scope.aborted) {
        finish(false, scope.abortReason);
        return;
      }
      if (this.ms !== null) {
        this.cancelTimer = startTimer(() => {
          this.cancelTimer = null;
          const error = this.error();
          // exception false: gevent's `with Timeout(s, False)` swallows it.
          if (useValue) finish(true, options.timeoutValue);
          else if (this.exception === false) finish(true, undefined);
          else finish(false, error);
          scope.abort(error);
        }, this.ms);
      }
      let result: R | PromiseLike<R>;
      try {
        result = storage.run(scope, fn, scope.signal);
      } catch (error) {
        finish(false, error);
        return;
      }
      Promise.resolve(result).then(
        (value) => finish(true, value),
        (error) => finish(false, error),
      );
    });
  }

  /** What expiring raises: this Timeout, unless an exception class or
   * instance was given (false and a string only change the message, as
   * in gevent). */
  private error(): unknown {
    const spec = this.exception;
    if (spec === undefined || spec === null || spec === false || typeof spec === 'string') {
      return this;
    }
    return makeException(spec, this.message);
  }
}

/**
 * Runs `fn(signal)` with a time limit (gevent's with_timeout). On timeout
 * the Promise rejects with a `Timeout` (or resolves to `options.timeoutValue`)
 * and `signal` aborts so that `fn`'s own waits stop.
 */
export function withTimeout<R>(
  fn: (signal: AbortSignal) => R | PromiseLike<R>,
  seconds: number | null | undefined,
  options: { timeoutValue?: unknown; exception?: ExceptionSpec } = {},
): Promise<R> {
  const { exception, ...rest } = checkOptions(
    options,
    ['timeoutValue', 'exception'],
    'withTimeout',
  );
  return new Timeout(seconds, exception).run(fn, rest);
}
