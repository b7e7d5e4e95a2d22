// Port of gevent's src/gevent/tests/test__semaphore.py (and test__lock.py)
// to forkful/coroutine's Semaphore, BoundedSemaphore, DummySemaphore and
// RLock, plus the semaphore and RLock cases of gevent's
// src/gevent/tests/lock_tests.py applied to those classes, greenlets
// standing in for its threads (gevent runs lock_tests with threads that
// are greenlets). acquire() is a Promise (`await sem.acquire()`),
// release() is synchronous, `with sem:` is `await sem.withLock(fn)`.
// Not ported: TestSemaphoreMultiThread, TestBoundedSemaphoreMultiThread,
// TestRLockMultiThread (one gevent object shared by OS threads of one
// interpreter; forkful's Threads are isolates that share no JavaScript
// objects), test_semaphore_in_class_with_del (a CPython __del__ / PyPy GC
// crash), TestCExt (Cython build), TestLockReinitAfterFork (forks a
// monkey-patched interpreter inside logging's lock), lock_tests'
// test_thread_leak (threading.enumerate() of foreign threads) and
// RLockTests.test__is_owned (the private _is_owned()).
import {
  BoundedSemaphore,
  DummySemaphore,
  Greenlet,
  RLock,
  Semaphore,
  joinall,
  sleep,
  spawn,
  wait,
} from '../../lib/coroutine';
import { RuntimeError, ValueError } from '../../lib/core/errors';

jest.setTimeout(30000);

/** Joins, bounded: a hang fails the test instead of the run. */
async function joinBounded(g: Greenlet<unknown>, seconds = 10): Promise<void> {
  await g.join(seconds);
  if (!g.ready()) throw new Error(`${g} did not finish within ${seconds} s`);
}

/** Polls `cond` every 10 ms (lock_tests' _wait loop), at most `seconds`. */
async function until(cond: () => boolean, what: string, seconds = 10): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(0.01);
  }
}

/** lock_tests.Bunch with greenlets for threads. */
class Bunch {
  started = 0;
  finished = 0;
  private canExit: boolean;
  readonly greenlets: Greenlet<unknown>[];

  constructor(f: () => Promise<unknown> | unknown, n: number, waitBeforeExit = false) {
    this.canExit = !waitBeforeExit;
    this.greenlets = Array.from({ length: n }, () =>
      spawn(async () => {
        this.started += 1;
        try {
          await f();
        } finally {
          this.finished += 1;
          while (!this.canExit) await sleep(0.01);
        }
      }),
    );
  }

  waitForStarted(): Promise<void> {
    return until(() => this.started >= this.greenlets.length, 'the bunch to start');
  }

  async waitForFinished(): Promise<void> {
    await until(() => this.finished >= this.greenlets.length, 'the bunch to finish');
    for (const g of this.greenlets) await joinBounded(g);
    // An assertion that failed inside a greenlet fails the test.
    for (const g of this.greenlets) await g;
  }

  doFinish(): void {
    this.canExit = true;
  }
}

describe('TestSemaphore', () => {
  // issue 39
  test('TestSemaphore.test_acquire_returns_false_after_timeout', async () => {
    const s = new Semaphore(0);
    const result = await s.acquire({ timeout: 0.01 });
    expect(result).toBe(false);
    expect(s.linkcount()).toBe(0); // the waiter gave up: nothing left linked
  });

  test('TestSemaphore.test_release_twice', async () => {
    const s = new Semaphore();
    const result: string[] = [];
    s.rawlink(() => result.push('a'));
    s.release();
    s.rawlink(() => result.push('b'));
    s.release();
    await sleep(0.001);
    // The order, though, is not guaranteed.
    expect([...result].sort()).toEqual(['a', 'b']);
  });

  test('TestSemaphore.test_semaphore_weakref', () => {
    const s = new Semaphore();
    expect(new WeakRef(s).deref()).toBe(s);
  });

  test('TestSemaphore.test_rawlink_on_unacquired_runs_notifiers', async () => {
    // gevent issue 1287: waiting on a ready semaphore returns at once.
    const s = new Semaphore();
    expect(await wait([s], { timeout: 10 })).toEqual([s]);
  });
});

describe('TestSemaphoreFair', () => {
  // gevent issue 1487: if the semaphore is not fair, the last two greenlets
  // pass it back and forth forever and `exiting` never gets it. gevent
  // ends in LoopExit once everything is blocked; the event loop has no such
  // exit here, so joinall gets a timeout instead.
  test('TestSemaphoreFair.test_fair_or_hangs', async () => {
    const sem = new Semaphore();
    const shouldQuit: boolean[] = [];
    const acquireThenExit = async (): Promise<void> => {
      await sem.acquire();
      shouldQuit.push(true);
    };
    const acquireThenSpawn = async (): Promise<void> => {
      if (shouldQuit.length > 0) return;
      await sem.acquire();
      await spawn(releaseThenSpawn).join();
    };
    const releaseThenSpawn = async (): Promise<void> => {
      sem.release();
      if (shouldQuit.length > 0) return;
      await spawn(acquireThenSpawn).join();
    };
    const keepGoing1 = spawn(acquireThenSpawn);
    const keepGoing2 = spawn(acquireThenSpawn);
    const exiting = spawn(acquireThenExit);
    const done = await joinall([keepGoing1, keepGoing2, exiting], { timeout: 0.5 });
    expect(done).not.toContain(keepGoing1);
    expect(exiting.dead).toBe(true);
    expect(keepGoing2.dead).toBe(true);
    expect(keepGoing1.dead).toBe(false);
    sem.release();
    await keepGoing1.kill({ timeout: 10 });
    await keepGoing2.kill({ timeout: 10 });
    await exiting.kill({ timeout: 10 });
    await sleep(0);
  });
});

// lock_tests.BaseSemaphoreTests, SemaphoreTests, BoundedSemaphoreTests
describe.each([
  ['SemaphoreTests', Semaphore],
  ['BoundedSemaphoreTests', BoundedSemaphore],
])('%s', (name, semtype) => {
  test(`${name}.test_constructor`, () => {
    expect(() => new semtype(-1)).toThrow(ValueError);
    expect(() => new semtype(-Number.MAX_SAFE_INTEGER)).toThrow(ValueError);
  });

  test(`${name}.test_acquire`, async () => {
    let sem = new semtype(1);
    await sem.acquire();
    sem.release();
    sem = new semtype(2);
    await sem.acquire();
    await sem.acquire();
    sem.release();
    sem.release();
  });

  test(`${name}.test_acquire_destroy`, async () => {
    const sem = new semtype();
    await sem.acquire();
  });

  test(`${name}.test_acquire_contended`, async () => {
    const sem = new semtype(7);
    await sem.acquire();
    const results1: number[] = [];
    const results2: number[] = [];
    let phaseNum = 0;
    const f = async (): Promise<void> => {
      await sem.acquire();
      results1.push(phaseNum);
      await sem.acquire();
      results2.push(phaseNum);
    };
    const b = new Bunch(f, 10);
    await b.waitForStarted();
    await until(() => results1.length + results2.length >= 6, '6 acquisitions');
    expect([...results1, ...results2]).toEqual(Array(6).fill(0));
    phaseNum = 1;
    for (let i = 0; i < 7; i++) sem.release();
    await until(() => results1.length + results2.length >= 13, '13 acquisitions');
    expect([...results1, ...results2].sort()).toEqual([...Array(6).fill(0), ...Array(7).fill(1)]);
    phaseNum = 2;
    for (let i = 0; i < 6; i++) sem.release();
    await until(() => results1.length + results2.length >= 19, '19 acquisitions');
    expect([...results1, ...results2].sort()).toEqual([
      ...Array(6).fill(0),
      ...Array(7).fill(1),
      ...Array(6).fill(2),
    ]);
    // The semaphore is still locked
    expect(await sem.acquire(false)).toBe(false);
    // Final release, to let the last greenlet finish
    sem.release();
    await b.waitForFinished();
  });

  test(`${name}.test_try_acquire`, async () => {
    const sem = new semtype(2);
    expect(await sem.acquire(false)).toBe(true);
    expect(await sem.acquire(false)).toBe(true);
    expect(await sem.acquire(false)).toBe(false);
    sem.release();
    expect(await sem.acquire(false)).toBe(true);
  });

  test(`${name}.test_try_acquire_contended`, async () => {
    const sem = new semtype(4);
    await sem.acquire();
    const results: boolean[] = [];
    const f = async (): Promise<void> => {
      results.push(await sem.acquire(false));
      results.push(await sem.acquire(false));
    };
    await new Bunch(f, 5).waitForFinished();
    expect([...results].sort()).toEqual([...Array(7).fill(false), ...Array(3).fill(true)]);
  });

  test(`${name}.test_default_value`, async () => {
    // The default initial value is 1.
    const sem = new semtype();
    await sem.acquire();
    const f = async (): Promise<void> => {
      await sem.acquire();
      sem.release();
    };
    const b = new Bunch(f, 1);
    await b.waitForStarted();
    await sleep(0.01);
    expect(b.finished).toBe(0);
    sem.release();
    await b.waitForFinished();
  });

  test(`${name}.test_with`, async () => {
    const sem = new semtype(2);
    const _with = (err?: new () => Error): Promise<void> =>
      sem.withLock(async () => {
        expect(await sem.acquire(false)).toBe(true);
        sem.release();
        await sem.withLock(async () => {
          expect(await sem.acquire(false)).toBe(false);
          if (err) throw new err();
        });
      });
    await _with();
    expect(await sem.acquire(false)).toBe(true);
    sem.release();
    await expect(_with(TypeError)).rejects.toBeInstanceOf(TypeError);
    expect(await sem.acquire(false)).toBe(true);
    sem.release();
  });
});

describe('SemaphoreTests', () => {
  test('SemaphoreTests.test_release_unacquired', async () => {
    // Unbounded releases are allowed and increment the semaphore's value
    const sem = new Semaphore(1);
    sem.release();
    await sem.acquire();
    await sem.acquire();
    sem.release();
  });
});

describe('BoundedSemaphoreTests', () => {
  test('BoundedSemaphoreTests.test_release_unacquired', async () => {
    // Cannot go past the initial value
    const sem = new BoundedSemaphore();
    expect(() => sem.release()).toThrow(ValueError);
    expect(() => sem.release()).toThrow('Semaphore released too many times');
    await sem.acquire();
    sem.release();
    expect(() => sem.release()).toThrow(ValueError);
  });
});

// lock_tests.BaseLockTests and RLockTests
describe('RLockTests', () => {
  test('RLockTests.test_constructor', () => {
    expect(new RLock().locked()).toBe(false);
  });

  test('RLockTests.test_acquire_destroy', async () => {
    await new RLock().acquire();
  });

  test('RLockTests.test_acquire_release', async () => {
    const lock = new RLock();
    await lock.acquire();
    lock.release();
  });

  test('RLockTests.test_try_acquire', async () => {
    const lock = new RLock();
    expect(await lock.acquire(false)).toBe(true);
    lock.release();
  });

  test('RLockTests.test_try_acquire_contended', async () => {
    const lock = new RLock();
    await lock.acquire();
    const result: boolean[] = [];
    await new Bunch(async () => result.push(await lock.acquire(false)), 1).waitForFinished();
    expect(result[0]).toBe(false);
    lock.release();
  });

  test('RLockTests.test_acquire_contended', async () => {
    const lock = new RLock();
    await lock.acquire();
    const N = 5;
    const f = async (): Promise<void> => {
      await lock.acquire();
      lock.release();
    };
    const b = new Bunch(f, N);
    await b.waitForStarted();
    await sleep(0.01);
    expect(b.finished).toBe(0);
    lock.release();
    await b.waitForFinished();
    expect(b.finished).toBe(N);
  });

  test('RLockTests.test_with', async () => {
    const lock = new RLock();
    const f = async (): Promise<void> => {
      await lock.acquire();
      lock.release();
    };
    const _with = (err?: new () => Error): Promise<void> =>
      lock.withLock(() => {
        if (err) throw new err();
      });
    await _with();
    // Check the lock is unacquired
    await new Bunch(f, 1).waitForFinished();
    await expect(_with(TypeError)).rejects.toBeInstanceOf(TypeError);
    // Check the lock is unacquired
    await new Bunch(f, 1).waitForFinished();
  });

  test('RLockTests.test_reacquire', async () => {
    const lock = new RLock();
    await lock.acquire();
    await lock.acquire();
    lock.release();
    await lock.acquire();
    lock.release();
    lock.release();
    expect(lock.locked()).toBe(false);
  });

  test('RLockTests.test_release_unacquired', async () => {
    // Cannot release an unacquired lock
    const lock = new RLock();
    expect(() => lock.release()).toThrow(RuntimeError);
    await lock.acquire();
    await lock.acquire();
    lock.release();
    await lock.acquire();
    lock.release();
    lock.release();
    expect(() => lock.release()).toThrow(RuntimeError);
  });

  test('RLockTests.test_different_thread', async () => {
    // Cannot release from a different greenlet
    const lock = new RLock();
    const b = new Bunch(() => lock.acquire(), 1, true);
    try {
      await until(() => b.finished === 1, 'the greenlet to acquire');
      expect(() => lock.release()).toThrow(RuntimeError);
    } finally {
      b.doFinish();
    }
    await joinBounded(b.greenlets[0]);
  });
});

describe('DummySemaphore', () => {
  // gevent.lock.DummySemaphore's documented behaviour (no upstream test).
  test('never blocks and ignores its arguments', async () => {
    const sem = new DummySemaphore(1);
    expect(await sem.acquire()).toBe(true);
    expect(await sem.acquire(false)).toBe(true);
    expect(await sem.acquire({ timeout: 0 })).toBe(true);
    expect(sem.locked()).toBe(false);
    expect(sem.ready()).toBe(true);
    expect(await sem.wait()).toBe(1);
    sem.release();
    sem.rawlink(() => {});
    sem.unlink(() => {});
    expect(await sem.withLock(() => 5)).toBe(5);
    expect(String(sem)).toBe('<DummySemaphore>');
  });
});
