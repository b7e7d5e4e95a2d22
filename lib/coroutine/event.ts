// gevent.event: Event and AsyncResult for greenlets on one event loop.
// Waits are Promises and killable (kill(), Timeout); set() wakes every
// waiter, in the order they began waiting, soon after (never synchronously).
import { checkOptions } from '../core/options';
import { Linkable } from './linkable';
import { toMs } from './scope';
import { Timeout } from './timeout';

/**
 * gevent.event.Event: a flag greenlets wait for. A waiter woken by set()
 * returns true even when the flag was cleared again before it ran (the
 * flag was set at least once while it waited).
 */
export class Event extends Linkable {
  private flag = false;

  /** True when the flag is set. */
  isSet(): boolean {
    return this.flag;
  }

  /** Same as isSet() (gevent's ready(), so that wait() takes Events). */
  ready(): boolean {
    return this.flag;
  }

  /** Sets the flag and wakes every waiter (on a later microtask). */
  set(): void {
    this.flag = true;
    this.checkAndNotify();
  }

  /** Resets the flag: later wait() calls block until the next set(). */
  clear(): void {
    this.flag = false;
  }

  /**
   * Resolves true once the flag is set (at once if it is), false when
   * `timeout` seconds passed first.
   */
  async wait(timeout?: number | null): Promise<boolean> {
    const ms = toMs(timeout, 'Event.wait(timeout)');
    if (this.flag) {
      // Set, with waiters still being woken: go after them (gevent 1520).
      if (this.notifyPending) await this.waitNotified(null, { late: true });
      return true;
    }
    return this.waitNotified(ms);
  }

  toString(): string {
    return `<Event ${this.flag ? 'set' : 'clear'} _links[${this.linkcount()}]>`;
  }
}

const UNSET: unique symbol = Symbol('unset');

/**
 * gevent.event.AsyncResult: a one-time result (a value or an exception)
 * that greenlets wait for. It is a link target: `greenlet.link(result)`
 * passes the greenlet's outcome on.
 */
export class AsyncResult<T = unknown> extends Linkable {
  private stored: T | typeof UNSET = UNSET;
  private failed = false;
  private error: unknown = undefined;

  /** True once it holds a value or an exception. */
  ready(): boolean {
    return this.stored !== UNSET || this.failed;
  }

  /** True once it holds a value. */
  successful(): boolean {
    return this.stored !== UNSET;
  }

  /** The value given to set(), else undefined (gevent: None). */
  get value(): T | undefined {
    return this.stored === UNSET ? undefined : this.stored;
  }

  /** The exception given to setException(), else undefined. */
  get exception(): unknown {
    return this.failed ? this.error : undefined;
  }

  /** Stores the value and wakes every waiter. */
  set(value?: T): void {
    this.stored = value as T;
    this.checkAndNotify();
  }

  /** Stores the exception (get() throws it) and wakes every waiter. */
  setException(error: unknown): void {
    this.failed = true;
    this.error = error;
    this.checkAndNotify();
  }

  /**
   * The value, or the exception thrown. Not ready: waits, at most `timeout`
   * seconds, then rejects with a Timeout; `block: false` rejects at once.
   */
  async get(options: { block?: boolean; timeout?: number | null } = {}): Promise<T> {
    const { block = true, timeout } = checkOptions(
      options,
      ['block', 'timeout'],
      'AsyncResult.get',
    );
    const ms = toMs(timeout, 'AsyncResult.get timeout');
    if (!this.ready()) {
      if (!block) throw new Timeout();
      if (!(await this.waitNotified(ms))) throw new Timeout(timeout);
    }
    return this.outcome();
  }

  /** get({ block: false }). */
  getNowait(): Promise<T> {
    return this.get({ block: false });
  }

  /**
   * Waits until ready (at most `timeout` seconds) and resolves to the value;
   * undefined when it holds an exception or time ran out. Never throws the
   * stored exception.
   */
  async wait(timeout?: number | null): Promise<T | undefined> {
    const ms = toMs(timeout, 'AsyncResult.wait(timeout)');
    if (this.ready()) {
      if (this.notifyPending) await this.waitNotified(null, { late: true });
    } else {
      await this.waitNotified(ms);
    }
    return this.value;
  }

  /** The link protocol: `greenlet.link(result)` stores the greenlet's
   * value, or its exception. */
  handleLink(source: { successful(): boolean; value?: unknown; exception?: unknown }): void {
    if (source.successful()) this.set(source.value as T);
    else this.setException(source.exception);
  }

  // concurrent.futures.Future's names, as gevent has them.
  /** get({ timeout }). */
  result(timeout?: number | null): Promise<T> {
    return this.get({ timeout });
  }

  /** Same as set(). */
  setResult(value?: T): void {
    this.set(value);
  }

  /** Same as ready(). */
  done(): boolean {
    return this.ready();
  }

  /** An AsyncResult cannot be cancelled: false. */
  cancel(): boolean {
    return false;
  }

  /** Always false. */
  cancelled(): boolean {
    return false;
  }

  toString(): string {
    const state = !this.ready()
      ? 'unset'
      : this.successful()
        ? `value=${String(this.value)}`
        : `exception=${String(this.error)}`;
    return `<AsyncResult ${state} _links[${this.linkcount()}]>`;
  }

  private outcome(): T {
    if (this.stored !== UNSET) return this.stored;
    throw this.error;
  }
}
