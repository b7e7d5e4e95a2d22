// gevent's AbstractLinkable: what Event, AsyncResult and the semaphores share.
// Callbacks linked with rawlink() are unlinked and called soon after the
// object becomes ready (a microtask; never synchronously), in link order.
// A greenlet waiting on the object is such a link too, registered with the
// scope it runs in, so that kill() and a Timeout end the wait and take the
// link back (no waiter is left behind).
import { cancellable, startTimer, storage } from './scope';

/** An object a link can call instead of a function (gevent's callable
 * objects): `greenlet.link(asyncResult)` calls `asyncResult.handleLink(greenlet)`. */
export interface LinkTarget<S> {
  handleLink(source: S): void;
}

/** What rawlink() and Greenlet.link() take. */
export type Link<S> = ((source: S) => void) | LinkTarget<S>;

export function isLink(value: unknown): boolean {
  return (
    typeof value === 'function' ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as { handleLink?: unknown }).handleLink === 'function')
  );
}

/** Calls one link; a throwing callback is the caller's bug: surfaced as an
 * uncaught exception (as Node does for listeners) after the others ran. */
export function callLink<S>(link: Link<S>, source: S): void {
  try {
    if (typeof link === 'function') link(source);
    else link.handleLink(source);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyLink = Link<any>;

export abstract class Linkable {
  private links: AnyLink[] = [];
  // Waiters that arrived while a notification was pending on an object
  // already ready: they run after the links the notification covers
  // (gevent issue 1520: they do not jump ahead of earlier waiters).
  private arrived: AnyLink[] = [];
  private notifying = false;
  /** false for semaphores: stop calling links once not ready any more. */
  protected notifyAll = true;

  /** True when waiters may go on (set, holding a result, a count left). */
  abstract ready(): boolean;

  /** How many callbacks and waiters are linked. */
  linkcount(): number {
    return this.links.length;
  }

  /** Calls `callback(this)` once this object is ready (soon after, never
   * synchronously), then forgets it. */
  rawlink(callback: Link<this>): void {
    if (!isLink(callback)) {
      throw new TypeError(`rawlink(callback): expected a function, got ${String(callback)}`);
    }
    this.links.push(callback);
    this.checkAndNotify();
  }

  /** Removes a callback linked with rawlink() (nothing happens if it is not linked). */
  unlink(callback: Link<this>): void {
    const at = this.links.indexOf(callback);
    if (at >= 0) this.links.splice(at, 1);
    const late = this.arrived.indexOf(callback);
    if (late >= 0) this.arrived.splice(late, 1);
  }

  /** Schedules the notification when ready and someone is linked. */
  protected checkAndNotify(): void {
    if (this.notifying || this.links.length === 0 || !this.ready()) return;
    this.notifying = true;
    storage.exit(() => queueMicrotask(() => this.notifyLinks()));
  }

  /** True while a notification is scheduled (gevent's _notifier). */
  protected get notifyPending(): boolean {
    return this.notifying;
  }

  /**
   * Waits until notified (true) or `ms` passed (false). Killable: a kill or
   * a Timeout in the caller's greenlet rejects and unlinks. `onNotified`
   * runs at the moment of the notification (a semaphore takes its count
   * there, so that the wake-up cannot be stolen).
   */
  protected waitNotified(
    ms: number | null,
    options: { late?: boolean; onNotified?: () => void } = {},
  ): Promise<boolean> {
    return cancellable<boolean>((resolve) => {
      const link = (): void => {
        options.onNotified?.();
        resolve(true);
      };
      if (options.late) this.arrived.push(link);
      else this.links.push(link);
      this.checkAndNotify();
      const cancelTimer = ms === null ? null : startTimer(() => resolve(false), ms);
      return () => {
        this.unlink(link);
        cancelTimer?.();
      };
    });
  }

  private notifyLinks(): void {
    try {
      this.notifyList(this.links);
      const arrived = this.arrived;
      this.arrived = [];
      // Those that no longer fit (a semaphore taken meanwhile) wait on.
      this.links.push(...this.notifyList(arrived));
    } finally {
      this.notifying = false;
    }
    // Links added by the callbacks: another round.
    this.checkAndNotify();
  }

  /** Calls the links known now, each once, unlinking each before its call. */
  private notifyList(links: AnyLink[]): AnyLink[] {
    if (links.length === 0) return links;
    const last = links[links.length - 1];
    const done = new Set<AnyLink>();
    while (links.length > 0) {
      if (!this.notifyAll && !this.ready()) break;
      const link = links.shift()!;
      if (!done.has(link)) {
        done.add(link);
        callLink(link, this);
      }
      if (link === last) break;
    }
    return links;
  }
}
