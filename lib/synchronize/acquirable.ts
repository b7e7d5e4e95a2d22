// What every lock-like object (Lock, RLock, Semaphore, Condition) offers on
// top of its own acquire/release: Python's `with lock:` in its three forms.
// One implementation, so the primitives differ only in how they wait.
export abstract class Acquirable {
  abstract acquire(): boolean;
  abstract acquireAsync(): Promise<boolean>;
  abstract release(): void;

  /** Runs fn while holding the lock (Python's `with lock:`). */
  withLock<T>(fn: () => T): T {
    this.acquire();
    try {
      return fn();
    } finally {
      this.release();
    }
  }

  /** Awaits the lock without blocking the event loop, then runs fn. */
  async withLockAsync<T>(fn: () => T | Promise<T>): Promise<T> {
    await this.acquireAsync();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Acquires, and returns a guard whose disposal releases:
   * `using _ = lock.hold();` */
  hold(): Disposable {
    this.acquire();
    return { [Symbol.dispose]: () => this.release() };
  }

  /** Releases (for `lock.acquire(); using _ = lock;`). */
  [Symbol.dispose](): void {
    this.release();
  }
}
