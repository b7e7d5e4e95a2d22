// Generator coroutines with Python's protocol: the consumer is a generator
// that receives values at `yield`; `coroutine()` primes it (Python's first
// `next(c)`), then `send(v)` resumes it and returns what it yields next.
import { ForkfulError, RuntimeError } from '../core/errors';

/** Python's StopIteration: send() to a generator that has returned; `value` is what it returned. */
export class StopIteration extends ForkfulError {
  constructor(readonly value: unknown = undefined) {
    super('the generator has finished: nothing more can be sent to it');
  }
}

/** A primed generator with Python's send protocol. */
export class Coroutine<Y = unknown, R = unknown, S = unknown> implements Iterable<Y> {
  /** What the generator yielded when it was primed (Python: the result of the first next()). */
  readonly initial: Y | undefined;
  private done = false;
  private returned: R | undefined = undefined;

  constructor(private readonly generator: Generator<Y, R, S | undefined>) {
    const first = this.step(() => generator.next());
    this.initial = first.done ? undefined : first.value;
  }

  /** True once the generator has returned, thrown or been closed. */
  get closed(): boolean {
    return this.done;
  }

  /** Resumes the generator with `value` and returns what it yields next; StopIteration when it returns. */
  send(value: S): Y {
    if (this.done) throw new StopIteration(this.returned);
    const result = this.step(() => this.generator.next(value));
    if (result.done) throw new StopIteration(result.value);
    return result.value;
  }

  /** Python's next(c): send(undefined). */
  next(): Y {
    if (this.done) throw new StopIteration(this.returned);
    const result = this.step(() => this.generator.next(undefined));
    if (result.done) throw new StopIteration(result.value);
    return result.value;
  }

  /** Raises `error` at the generator's yield; returns what it yields next. */
  throw(error: unknown): Y {
    if (this.done) throw error;
    const result = this.step(() => this.generator.throw(error));
    if (result.done) throw new StopIteration(result.value);
    return result.value;
  }

  /** Finishes the generator (its finally blocks run); a no-op once closed. */
  close(): void {
    if (this.done) return;
    const result = this.step(() => this.generator.return(undefined as R));
    if (!result.done) {
      this.done = true;
      throw new RuntimeError('the generator yielded again while being closed (in a finally block)');
    }
  }

  /** Iterating sends undefined until the generator returns. */
  *[Symbol.iterator](): Iterator<Y> {
    while (!this.done) {
      const result = this.step(() => this.generator.next(undefined));
      if (result.done) return;
      yield result.value;
    }
  }

  private step(resume: () => IteratorResult<Y, R>): IteratorResult<Y, R> {
    let result: IteratorResult<Y, R>;
    try {
      result = resume();
    } catch (error) {
      this.done = true;
      throw error;
    }
    if (result.done) {
      this.done = true;
      this.returned = result.value;
    }
    return result;
  }
}

/** The same protocol for an async generator: every call returns a Promise, in call order. */
export class AsyncCoroutine<Y = unknown, R = unknown, S = unknown> {
  /** What the generator yielded when it was primed (rejects if priming threw or it returned). */
  readonly initial: Promise<Y | undefined>;
  private done = false;
  private returned: R | undefined = undefined;
  // Every call is chained after the previous one, so `closed` is exact at each step.
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly generator: AsyncGenerator<Y, R, S | undefined>) {
    const first = this.enqueue(() => generator.next());
    this.initial = first.then((result) => (result.done ? undefined : result.value));
    // Priming's failure is reported through `initial` and the next call.
    this.initial.catch(() => undefined);
  }

  get closed(): boolean {
    return this.done;
  }

  send(value: S): Promise<Y> {
    return this.yielded(() => this.generator.next(value));
  }

  next(): Promise<Y> {
    return this.yielded(() => this.generator.next(undefined));
  }

  throw(error: unknown): Promise<Y> {
    return this.yielded(() => this.generator.throw(error), error);
  }

  async close(): Promise<void> {
    const result = await this.enqueue(() =>
      this.done
        ? Promise.resolve({ done: true, value: this.returned } as IteratorResult<Y, R>)
        : this.generator.return(undefined as R),
    );
    if (!result.done) {
      this.done = true;
      throw new RuntimeError('the generator yielded again while being closed (in a finally block)');
    }
  }

  private async yielded(
    resume: () => Promise<IteratorResult<Y, R>>,
    rethrow?: unknown,
  ): Promise<Y> {
    const result = await this.enqueue(() => {
      if (!this.done) return resume();
      if (rethrow !== undefined) return Promise.reject(rethrow);
      return Promise.resolve({ done: true, value: this.returned } as IteratorResult<Y, R>);
    });
    if (result.done) throw new StopIteration(result.value);
    return result.value;
  }

  private enqueue(resume: () => Promise<IteratorResult<Y, R>>): Promise<IteratorResult<Y, R>> {
    const run = async (): Promise<IteratorResult<Y, R>> => {
      try {
        const result = await resume();
        if (result.done) {
          this.done = true;
          this.returned = result.value;
        }
        return result;
      } catch (error) {
        this.done = true;
        throw error;
      }
    };
    const next = this.tail.then(run);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

type GeneratorFunction<A extends unknown[], Y, R, S> = (...args: A) => Generator<Y, R, S>;
type AsyncGeneratorFunction<A extends unknown[], Y, R, S> = (...args: A) => AsyncGenerator<Y, R, S>;

function isAsyncGenerator(value: unknown): value is AsyncGenerator {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AsyncGenerator)[Symbol.asyncIterator] === 'function' &&
    typeof (value as AsyncGenerator).next === 'function'
  );
}

function isGenerator(value: unknown): value is Generator {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Generator)[Symbol.iterator] === 'function' &&
    typeof (value as Generator).next === 'function' &&
    typeof (value as Generator).return === 'function'
  );
}

/**
 * Primes a generator (or calls a generator function with `args` and primes
 * the result) and gives it Python's send protocol: `send(v)`, `next()`,
 * `throw(e)`, `close()`. An async generator gives an AsyncCoroutine whose
 * calls return Promises.
 */
export function coroutine<Y, R, S>(generator: Generator<Y, R, S>): Coroutine<Y, R, S>;
export function coroutine<Y, R, S>(generator: AsyncGenerator<Y, R, S>): AsyncCoroutine<Y, R, S>;
export function coroutine<A extends unknown[], Y, R, S>(
  fn: GeneratorFunction<A, Y, R, S>,
  ...args: A
): Coroutine<Y, R, S>;
export function coroutine<A extends unknown[], Y, R, S>(
  fn: AsyncGeneratorFunction<A, Y, R, S>,
  ...args: A
): AsyncCoroutine<Y, R, S>;
export function coroutine(source: unknown, ...args: unknown[]): unknown {
  const generator =
    typeof source === 'function' ? (source as (...a: unknown[]) => unknown)(...args) : source;
  if (isAsyncGenerator(generator)) return new AsyncCoroutine(generator as AsyncGenerator);
  if (isGenerator(generator)) return new Coroutine(generator as Generator);
  throw new TypeError(
    'coroutine() needs a generator (function* ... ) or async generator, or a function returning one',
  );
}
