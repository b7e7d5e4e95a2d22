// Port of CPython's Lib/test/lock_tests.py, as test_threading.py runs it
// (LockTests, RLockTests, ConditionAsRLockTests, EventTests,
// ConditionTests, SemaphoreTests, BoundedSemaphoreTests, BarrierTests), on
// forkful's threading primitives and real forkful Threads (Bunch).
//
// Documented differences ported to forkful's form: timeouts in seconds as
// options (`acquire({ timeout })`), a Barrier's action does not travel to a
// Thread (each thread assigns it, docs/synchronize.md), repr is toString().
// Not ported: test_at_fork_reinit (CPython's private _at_fork_reinit: a
// forkful lock is one shared object in every process by design).
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  Event,
  Lock,
  RLock,
  Semaphore,
  TIMEOUT_MAX,
} from '../../lib/threading';
import { BrokenBarrierError, RuntimeError, ValueError } from '../../lib/core/errors';
import {
  Bunch,
  LONG_TIMEOUT,
  ThreadHelpers,
  api,
  expectNoStrays,
  expectThrowsNamed,
  expectTimeout,
  listAppend,
  listItems,
  listLen,
  monotonic,
  sharedList,
  sleep,
  waitThreadsBlocked,
  waitUntil,
} from './helpers/common';
import { collectGarbage } from './helpers/gc';

jest.setTimeout(60000);

afterEach(() => expectNoStrays());

type LockLike = Lock | RLock | Condition;

/** BaseLockTests, for every lock type. */
function baseLockTests(locktype: () => LockLike): void {
  test('BaseLockTests.test_constructor', () => {
    locktype();
  });

  test('BaseLockTests.test_repr', () => {
    expect(String(locktype())).toMatch(/<unlocked .*>/);
  });

  test('BaseLockTests.test_locked_repr', () => {
    const lock = locktype();
    lock.acquire();
    expect(String(lock)).toMatch(/<locked .*>/);
    lock.release();
  });

  test('BaseLockTests.test_acquire_destroy', () => {
    const lock = locktype();
    lock.acquire();
  });

  test('BaseLockTests.test_acquire_release', () => {
    const lock = locktype();
    lock.acquire();
    lock.release();
  });

  test('BaseLockTests.test_try_acquire', () => {
    const lock = locktype();
    expect(lock.acquire(false)).toBe(true);
    lock.release();
  });

  test('BaseLockTests.test_try_acquire_contended', async () => {
    const lock = locktype();
    lock.acquire();
    const result = sharedList();
    await Bunch.run(
      (h: ThreadHelpers, l: LockLike, r: Int32Array) => h.append(r, l.acquire(false) ? 1 : 0),
      [lock, result],
      1,
    );
    expect(listItems(result)).toEqual([0]);
    lock.release();
  });

  test('BaseLockTests.test_acquire_contended', async () => {
    const lock = locktype();
    lock.acquire();
    const N = 5;
    const bunch = await Bunch.start(
      (_h: ThreadHelpers, l: LockLike) => {
        l.acquire();
        l.release();
      },
      [lock],
      N,
    );
    try {
      await waitThreadsBlocked(N);
      expect(bunch.finished).toBe(0);
    } finally {
      lock.release();
      await bunch.finish();
    }
    expect(bunch.finished).toBe(N);
  });

  test('BaseLockTests.test_with', async () => {
    const lock = locktype();
    const f = (_h: ThreadHelpers, l: LockLike) => {
      l.acquire();
      l.release();
    };
    lock.withLock(() => {});
    await Bunch.run(f, [lock], 1);
    expect(() =>
      lock.withLock(() => {
        throw new TypeError();
      }),
    ).toThrow(TypeError);
    await Bunch.run(f, [lock], 1);
  });

  test('BaseLockTests.test_thread_leak', async () => {
    const lock = locktype();
    await Bunch.run(
      (_h: ThreadHelpers, l: LockLike) => {
        l.acquire();
        l.release();
      },
      [lock],
      15,
    );
  });

  test('BaseLockTests.test_timeout', async () => {
    const lock = locktype();
    expect(() => lock.acquire(false, 1)).toThrow(ValueError);
    expect(() => lock.acquire({ timeout: -100 })).toThrow(ValueError);
    // Python: OverflowError for timeouts above TIMEOUT_MAX.
    expectThrowsNamed(() => lock.acquire({ timeout: 1e100 }), 'OverflowError');
    expectThrowsNamed(() => lock.acquire({ timeout: Infinity }), 'OverflowError');
    expectThrowsNamed(() => lock.acquire({ timeout: TIMEOUT_MAX + 1 }), 'OverflowError');
    lock.acquire({ timeout: TIMEOUT_MAX });
    lock.release();
    const t1 = monotonic();
    expect(lock.acquire({ timeout: 5 })).toBe(true);
    expect(monotonic() - t1).toBeLessThan(5);
    const results = new Float64Array(new SharedArrayBuffer(16));
    await Bunch.run(
      (h: ThreadHelpers, l: LockLike, r: Float64Array) => {
        const start = h.monotonic();
        r[0] = l.acquire({ timeout: 0.5 }) ? 1 : 0;
        r[1] = h.monotonic() - start;
      },
      [lock, results],
      1,
    );
    expect(results[0]).toBe(0);
    expectTimeout(results[1], 0.5);
    lock.release();
  });

  test('BaseLockTests.test_weakref_exists', () => {
    const lock = locktype();
    expect(new WeakRef(lock).deref()).toBe(lock);
  });

  test('BaseLockTests.test_weakref_deleted', async () => {
    let lock: LockLike | null = locktype();
    const ref = new WeakRef(lock);
    lock = null;
    await collectGarbage();
    expect(ref.deref()).toBeUndefined();
  });
}

/** RLockTests: recursive locks (RLock, and Condition with its default RLock). */
function rlockTests(locktype: () => RLock | Condition, options: { recursionCount: boolean }): void {
  test('RLockTests.test_reacquire', () => {
    const lock = locktype();
    lock.acquire();
    lock.acquire();
    lock.release();
    lock.acquire();
    lock.release();
    lock.release();
  });

  test('RLockTests.test_release_unacquired', () => {
    const lock = locktype();
    expect(() => lock.release()).toThrow(RuntimeError);
    lock.acquire();
    lock.acquire();
    lock.release();
    lock.acquire();
    lock.release();
    lock.release();
    expect(() => lock.release()).toThrow(RuntimeError);
  });

  const releaseSave = (lock: RLock | Condition) => api<() => number>(lock, '_releaseSave');
  const isOwned = (lock: RLock | Condition) => api<() => boolean>(lock, '_isOwned');

  test('RLockTests.test_release_save_unacquired', () => {
    const lock = locktype();
    expect(() => releaseSave(lock).call(lock)).toThrow(RuntimeError);
    lock.acquire();
    lock.acquire();
    lock.release();
    lock.acquire();
    lock.release();
    lock.release();
    expect(() => releaseSave(lock).call(lock)).toThrow(RuntimeError);
  });

  if (options.recursionCount) {
    test('RLockTests.test_recursion_count', async () => {
      const lock = locktype() as RLock;
      const count = () => api<() => number>(lock, '_recursionCount').call(lock);
      expect(count()).toBe(0);
      lock.acquire();
      expect(count()).toBe(1);
      lock.acquire();
      lock.acquire();
      expect(count()).toBe(3);
      lock.release();
      expect(count()).toBe(2);
      lock.release();
      lock.release();
      expect(count()).toBe(0);
      const phase = sharedList();
      const bunch = await Bunch.start(
        (h: ThreadHelpers, l: RLock, p: Int32Array) => {
          l.acquire();
          h.append(p, 0);
          h.waitUntil(() => h.len(p) >= 2);
          l.release();
          h.append(p, 0);
        },
        [lock, phase],
        1,
      );
      try {
        expect(await waitUntil(() => listLen(phase) >= 1)).toBe(true);
        expect(count()).toBe(0);
        Atomics.add(phase, 0, 1); // phase.append(None)
        expect(await waitUntil(() => listLen(phase) >= 3)).toBe(true);
        expect(count()).toBe(0);
      } finally {
        await bunch.finish();
      }
    });
  }

  test('RLockTests.test_different_thread', async () => {
    const lock = locktype();
    const bunch = await Bunch.start(
      (_h: ThreadHelpers, l: RLock | Condition) => {
        l.acquire();
      },
      [lock],
      1,
      true,
    );
    try {
      await waitUntil(() => bunch.finished >= 1);
      expect(() => lock.release()).toThrow(RuntimeError);
    } finally {
      bunch.doFinish();
      await bunch.finish();
    }
  });

  test('RLockTests.test__is_owned', async () => {
    const lock = locktype();
    expect(isOwned(lock).call(lock)).toBe(false);
    lock.acquire();
    expect(isOwned(lock).call(lock)).toBe(true);
    lock.acquire();
    expect(isOwned(lock).call(lock)).toBe(true);
    const result = sharedList();
    await Bunch.run(
      (h: ThreadHelpers, l: RLock, r: Int32Array) => h.append(r, l._isOwned() ? 1 : 0),
      [lock instanceof Condition ? lock.lock : lock, result],
      1,
    );
    expect(listItems(result)).toEqual([0]);
    lock.release();
    expect(isOwned(lock).call(lock)).toBe(true);
    lock.release();
    expect(isOwned(lock).call(lock)).toBe(false);
  });
}

describe('LockTests (threading.Lock)', () => {
  baseLockTests(() => new Lock());

  test('LockTests.test_reacquire', async () => {
    const lock = new Lock();
    const phase = sharedList();
    const bunch = await Bunch.start(
      (h: ThreadHelpers, l: Lock, p: Int32Array) => {
        l.acquire();
        h.append(p, 0);
        l.acquire();
        h.append(p, 0);
      },
      [lock, phase],
      1,
    );
    try {
      expect(await waitUntil(() => listLen(phase) >= 1)).toBe(true);
      expect(listLen(phase)).toBe(1);
      lock.release();
      expect(await waitUntil(() => listLen(phase) >= 2)).toBe(true);
    } finally {
      await bunch.finish();
    }
  });

  test('LockTests.test_different_thread', async () => {
    const lock = new Lock();
    lock.acquire();
    await Bunch.run((_h: ThreadHelpers, l: Lock) => l.release(), [lock], 1);
    lock.acquire();
    lock.release();
  });

  test('LockTests.test_state_after_timeout', () => {
    const lock = new Lock();
    lock.acquire();
    expect(lock.acquire({ timeout: 0.01 })).toBe(false);
    lock.release();
    expect(lock.locked()).toBe(false);
    expect(lock.acquire({ blocking: false })).toBe(true);
    lock.release();
  });
});

describe('RLockTests (threading.RLock)', () => {
  baseLockTests(() => new RLock());
  rlockTests(() => new RLock(), { recursionCount: true });
});

describe('ConditionAsRLockTests (threading.Condition())', () => {
  baseLockTests(() => new Condition());
  // Python skips test_recursion_count here too (Condition has none).
  rlockTests(() => new Condition(), { recursionCount: false });
});

describe('EventTests (threading.Event)', () => {
  test('EventTests.test_is_set', () => {
    const evt = new Event();
    expect(evt.isSet()).toBe(false);
    evt.set();
    expect(evt.isSet()).toBe(true);
    evt.set();
    expect(evt.isSet()).toBe(true);
    evt.clear();
    expect(evt.isSet()).toBe(false);
    evt.clear();
    expect(evt.isSet()).toBe(false);
  });

  async function checkNotify(evt: Event): Promise<void> {
    const N = 5;
    const results1 = sharedList();
    const results2 = sharedList();
    const bunch = await Bunch.start(
      (h: ThreadHelpers, e: Event, r1: Int32Array, r2: Int32Array) => {
        h.append(r1, e.wait() ? 1 : 0);
        h.append(r2, e.wait() ? 1 : 0);
      },
      [evt, results1, results2],
      N,
    );
    try {
      await waitThreadsBlocked(N);
      expect(listLen(results1)).toBe(0);
    } finally {
      evt.set();
      await bunch.finish();
    }
    expect(listItems(results1)).toEqual(Array(N).fill(1));
    expect(listItems(results2)).toEqual(Array(N).fill(1));
  }

  test('EventTests.test_notify', async () => {
    const evt = new Event();
    await checkNotify(evt);
    evt.set();
    evt.clear();
    await checkNotify(evt);
  });

  test('EventTests.test_timeout', async () => {
    const evt = new Event();
    const N = 5;
    const f = (h: ThreadHelpers, e: Event, r1: Int32Array, r2: Float64Array) => {
      h.append(r1, e.wait(0.0) ? 1 : 0);
      const t1 = h.monotonic();
      const r = e.wait(0.5);
      const dt = h.monotonic() - t1;
      // results2.append((r, dt)): slot 0 of the Float64Array counts.
      const i = Atomics.add(new Int32Array(r2.buffer, 0, 1), 0, 1);
      r2[2 + 2 * i] = r ? 1 : 0;
      r2[3 + 2 * i] = dt;
    };
    let results1 = sharedList();
    let results2 = new Float64Array(new SharedArrayBuffer(8 * (2 + 2 * N)));
    await Bunch.run(f, [evt, results1, results2], N);
    expect(listItems(results1)).toEqual(Array(N).fill(0));
    for (let i = 0; i < N; i++) {
      expect(results2[2 + 2 * i]).toBe(0);
      expectTimeout(results2[3 + 2 * i], 0.5);
    }
    results1 = sharedList();
    results2 = new Float64Array(new SharedArrayBuffer(8 * (2 + 2 * N)));
    evt.set();
    await Bunch.run(f, [evt, results1, results2], N);
    expect(listItems(results1)).toEqual(Array(N).fill(1));
    for (let i = 0; i < N; i++) expect(results2[2 + 2 * i]).toBe(1);
  });

  test('EventTests.test_set_and_clear', async () => {
    const event = new Event();
    const results = sharedList();
    const N = 5;
    const bunch = await Bunch.start(
      (h: ThreadHelpers, e: Event, r: Int32Array) => {
        // LONG_TIMEOUT in Python; bounded here so that the failure ends.
        h.append(r, e.wait(5) ? 1 : 0);
      },
      [event, results],
      N,
    );
    try {
      await waitThreadsBlocked(N);
      event.set();
      event.clear();
    } finally {
      await bunch.finish();
    }
    expect(listItems(results)).toEqual(Array(N).fill(1));
  });

  test('EventTests.test_repr', () => {
    const evt = new Event();
    expect(String(evt)).toMatch(/<.*Event.*unset>/);
    evt.set();
    expect(String(evt)).toMatch(/<.*Event.* set>/);
  });
});

describe('ConditionTests (threading.Condition)', () => {
  test('ConditionTests.test_acquire', () => {
    let cond = new Condition();
    cond.acquire();
    cond.acquire();
    cond.release();
    cond.release();
    const lock = new Lock();
    cond = new Condition(lock);
    cond.acquire();
    expect(lock.acquire(false)).toBe(false);
    cond.release();
    expect(lock.acquire(false)).toBe(true);
    expect(cond.acquire(false)).toBe(false);
    lock.release();
    cond.withLock(() => expect(lock.acquire(false)).toBe(false));
  });

  test('ConditionTests.test_unacquired_wait', () => {
    const cond = new Condition();
    expect(() => cond.wait()).toThrow(RuntimeError);
  });

  test('ConditionTests.test_unacquired_notify', () => {
    const cond = new Condition();
    expect(() => cond.notify()).toThrow(RuntimeError);
  });

  // state: [phaseNum]; ready, results1, results2 are shared lists of
  // result*10+phase.
  const notifyWorker = (
    h: ThreadHelpers,
    c: Condition,
    state: Int32Array,
    ready: Int32Array,
    r1: Int32Array,
    r2: Int32Array,
  ) => {
    c.acquire();
    h.append(ready, Atomics.load(state, 0));
    let result = c.wait();
    c.release();
    h.append(r1, (result ? 10 : 0) + Atomics.load(state, 0));
    c.acquire();
    h.append(ready, Atomics.load(state, 0));
    result = c.wait();
    c.release();
    h.append(r2, (result ? 10 : 0) + Atomics.load(state, 0));
  };

  async function checkNotify(cond: Condition): Promise<void> {
    const state = new Int32Array(new SharedArrayBuffer(4));
    const ready = sharedList();
    const results1 = sharedList();
    const results2 = sharedList();
    const N = 5;
    const bunch = await Bunch.start(notifyWorker, [cond, state, ready, results1, results2], N);
    try {
      await waitUntil(() => listLen(ready) >= N);
      Atomics.store(ready, 0, 0);
      expect(listItems(results1)).toEqual([]);
      const count1 = 3;
      cond.acquire();
      cond.notify(count1);
      await waitThreadsBlocked(count1);
      Atomics.store(state, 0, 1);
      cond.release();
      await waitUntil(() => listLen(results1) >= count1);
      expect(listItems(results1)).toEqual(Array(count1).fill(11));
      expect(listItems(results2)).toEqual([]);
      await waitUntil(() => listLen(ready) >= count1);
      cond.acquire();
      cond.notify(5);
      await waitThreadsBlocked(N);
      Atomics.store(state, 0, 2);
      cond.release();
      await waitUntil(() => listLen(results1) + listLen(results2) >= N + count1);
      const count2 = N - count1;
      expect(listItems(results1)).toEqual([...Array(count1).fill(11), ...Array(count2).fill(12)]);
      expect(listItems(results2)).toEqual(Array(count1).fill(12));
      await waitUntil(() => listLen(ready) >= N);
      cond.acquire();
      cond.notifyAll();
      await waitThreadsBlocked(N);
      Atomics.store(state, 0, 3);
      cond.release();
      await waitUntil(() => listLen(results2) >= N);
      expect(listItems(results1)).toEqual([...Array(count1).fill(11), ...Array(count2).fill(12)]);
      expect(listItems(results2)).toEqual([...Array(count1).fill(12), ...Array(count2).fill(13)]);
    } finally {
      // Whatever happened, no thread may stay asleep.
      for (let i = 0; i < 3 && bunch.finished < N; i++) {
        cond.withLock(() => cond.notifyAll());
        await sleep(0.05);
      }
      await bunch.finish();
    }
  }

  test('ConditionTests.test_notify', async () => {
    const cond = new Condition();
    await checkNotify(cond);
    await checkNotify(cond);
  });

  test('ConditionTests.test_timeout', async () => {
    const cond = new Condition();
    const N = 5;
    const results = new Float64Array(new SharedArrayBuffer(8 * 2 * N));
    const index = new Int32Array(new SharedArrayBuffer(4));
    await Bunch.run(
      (h: ThreadHelpers, c: Condition, r: Float64Array, idx: Int32Array) => {
        c.acquire();
        const t1 = h.monotonic();
        const result = c.wait(0.5);
        const t2 = h.monotonic();
        c.release();
        const i = Atomics.add(idx, 0, 1);
        r[2 * i] = t2 - t1;
        r[2 * i + 1] = result ? 1 : 0;
      },
      [cond, results, index],
      N,
    );
    expect(index[0]).toBe(N);
    for (let i = 0; i < N; i++) {
      expectTimeout(results[2 * i], 0.5);
      expect(results[2 * i + 1]).toBe(0);
    }
  });

  test('ConditionTests.test_waitfor', async () => {
    const cond = new Condition();
    const state = new Int32Array(new SharedArrayBuffer(4));
    const bunch = await Bunch.start(
      (h: ThreadHelpers, c: Condition, s: Int32Array) => {
        c.withLock(() => {
          const result = c.waitFor(() => Atomics.load(s, 0) === 4);
          h.assert.ok(result);
          h.assert.strictEqual(Atomics.load(s, 0), 4);
        });
      },
      [cond, state],
      1,
    );
    try {
      for (let i = 0; i < 4; i++) {
        await sleep(0.01);
        cond.withLock(() => {
          Atomics.add(state, 0, 1);
          cond.notify();
        });
      }
    } finally {
      await bunch.finish();
    }
  });

  test('ConditionTests.test_waitfor_timeout', async () => {
    const cond = new Condition();
    const state = new Int32Array(new SharedArrayBuffer(4));
    const success = sharedList();
    const bunch = await Bunch.start(
      (h: ThreadHelpers, c: Condition, s: Int32Array, ok: Int32Array) => {
        c.withLock(() => {
          let dt = h.monotonic();
          const result = c.waitFor(() => Atomics.load(s, 0) === 4, 0.1);
          dt = h.monotonic() - dt;
          h.assert.ok(!result);
          h.assert.ok(dt >= 0.06 && dt < 1, `waited ${dt}`);
          h.append(ok, 1);
        });
      },
      [cond, state, success],
      1,
    );
    try {
      for (let i = 0; i < 3; i++) {
        await sleep(0.01);
        cond.withLock(() => {
          Atomics.add(state, 0, 1);
          cond.notify();
        });
      }
    } finally {
      await bunch.finish();
    }
    expect(listLen(success)).toBe(1);
  });
});

/** BaseSemaphoreTests, for Semaphore and BoundedSemaphore. */
function baseSemaphoreTests(semtype: (value?: number) => Semaphore): void {
  test('BaseSemaphoreTests.test_constructor', () => {
    expect(() => semtype(-1)).toThrow(ValueError);
    expect(() => semtype(-Number.MAX_SAFE_INTEGER)).toThrow(ValueError);
  });

  test('BaseSemaphoreTests.test_acquire', () => {
    let sem = semtype(1);
    sem.acquire();
    sem.release();
    sem = semtype(2);
    sem.acquire();
    sem.acquire();
    sem.release();
    sem.release();
  });

  test('BaseSemaphoreTests.test_acquire_destroy', () => {
    const sem = semtype();
    sem.acquire();
  });

  const phaseWorker = (
    h: ThreadHelpers,
    s: Semaphore,
    phase: Int32Array,
    semResults: Int32Array,
    r1: Int32Array,
    r2: Int32Array,
  ) => {
    h.append(semResults, s.acquire() ? 1 : 0);
    h.append(r1, Atomics.load(phase, 0));
    h.append(semResults, s.acquire() ? 1 : 0);
    h.append(r2, Atomics.load(phase, 0));
  };

  async function phases(multirelease: boolean): Promise<void> {
    const semValue = 7;
    const sem = semtype(semValue);
    sem.acquire();
    const semResults = sharedList();
    const results1 = sharedList();
    const results2 = sharedList();
    const phase = new Int32Array(new SharedArrayBuffer(4));
    const all = () => [...listItems(results1), ...listItems(results2)].sort();
    const waitCount = (count: number) => waitUntil(() => all().length >= count);
    const N = 10;
    const bunch = await Bunch.start(phaseWorker, [sem, phase, semResults, results1, results2], N);
    let count4 = 0;
    try {
      const count1 = semValue - 1;
      await waitCount(count1);
      expect(all()).toEqual(Array(count1).fill(0));
      Atomics.store(phase, 0, 1);
      if (multirelease) sem.release(semValue);
      else for (let i = 0; i < semValue; i++) sem.release();
      const count2 = semValue;
      await waitCount(count1 + count2);
      expect(all()).toEqual([...Array(count1).fill(0), ...Array(count2).fill(1)]);
      Atomics.store(phase, 0, 2);
      const count3 = semValue - 1;
      if (multirelease) sem.release(count3);
      else for (let i = 0; i < count3; i++) sem.release();
      await waitCount(count1 + count2 + count3);
      expect(all()).toEqual([
        ...Array(count1).fill(0),
        ...Array(count2).fill(1),
        ...Array(count3).fill(2),
      ]);
      expect(sem.acquire(false)).toBe(false);
      count4 = 1;
      sem.release();
    } finally {
      // Release every thread still waiting, whatever failed above.
      while (bunch.finished < N && listLen(semResults) < 2 * N) {
        sem.release();
        await sleep(0.01);
      }
      await bunch.finish();
    }
    if (!multirelease) {
      expect(listItems(semResults)).toEqual(
        Array(semValue - 1 + semValue + semValue - 1 + count4).fill(1),
      );
    }
  }

  test('BaseSemaphoreTests.test_acquire_contended', () => phases(false));

  test('BaseSemaphoreTests.test_multirelease', () => phases(true));

  test('BaseSemaphoreTests.test_try_acquire', () => {
    const sem = semtype(2);
    expect(sem.acquire(false)).toBe(true);
    expect(sem.acquire(false)).toBe(true);
    expect(sem.acquire(false)).toBe(false);
    sem.release();
    expect(sem.acquire(false)).toBe(true);
  });

  test('BaseSemaphoreTests.test_try_acquire_contended', async () => {
    const sem = semtype(4);
    sem.acquire();
    const results = sharedList();
    await Bunch.run(
      (h: ThreadHelpers, s: Semaphore, r: Int32Array) => {
        h.append(r, s.acquire(false) ? 1 : 0);
        h.append(r, s.acquire(false) ? 1 : 0);
      },
      [sem, results],
      5,
    );
    expect(listItems(results).sort()).toEqual([...Array(7).fill(0), ...Array(3).fill(1)]);
  });

  test('BaseSemaphoreTests.test_acquire_timeout', () => {
    const sem = semtype(2);
    expect(() => sem.acquire(false, 1.0)).toThrow(ValueError);
    expect(sem.acquire({ timeout: 0.005 })).toBe(true);
    expect(sem.acquire({ timeout: 0.005 })).toBe(true);
    expect(sem.acquire({ timeout: 0.005 })).toBe(false);
    sem.release();
    expect(sem.acquire({ timeout: 0.005 })).toBe(true);
    const t = monotonic();
    expect(sem.acquire({ timeout: 0.5 })).toBe(false);
    expectTimeout(monotonic() - t, 0.5);
  });

  test('BaseSemaphoreTests.test_default_value', async () => {
    const sem = semtype();
    sem.acquire();
    const bunch = await Bunch.start(
      (_h: ThreadHelpers, s: Semaphore) => {
        s.acquire();
        s.release();
      },
      [sem],
      1,
    );
    try {
      await waitThreadsBlocked(1);
      expect(bunch.finished).toBe(0);
    } finally {
      sem.release();
      await bunch.finish();
    }
  });

  test('BaseSemaphoreTests.test_with', () => {
    const sem = semtype(2);
    const withSem = (err?: Error) =>
      sem.withLock(() => {
        expect(sem.acquire(false)).toBe(true);
        sem.release();
        sem.withLock(() => {
          expect(sem.acquire(false)).toBe(false);
          if (err) throw err;
        });
      });
    withSem();
    expect(sem.acquire(false)).toBe(true);
    sem.release();
    expect(() => withSem(new TypeError())).toThrow(TypeError);
    expect(sem.acquire(false)).toBe(true);
    sem.release();
  });
}

describe('SemaphoreTests (threading.Semaphore)', () => {
  baseSemaphoreTests((value?: number) => new Semaphore(value));

  test('SemaphoreTests.test_release_unacquired', () => {
    const sem = new Semaphore(1);
    sem.release();
    sem.acquire();
    sem.acquire();
    sem.release();
  });

  test('SemaphoreTests.test_repr', () => {
    const sem = new Semaphore(3);
    expect(String(sem)).toMatch(/<.*Semaphore.*value=3>/);
    sem.acquire();
    expect(String(sem)).toMatch(/<.*Semaphore.*value=2>/);
    sem.release();
    sem.release();
    expect(String(sem)).toMatch(/<.*Semaphore.*value=4>/);
  });
});

describe('BoundedSemaphoreTests (threading.BoundedSemaphore)', () => {
  baseSemaphoreTests((value?: number) => new BoundedSemaphore(value));

  test('BoundedSemaphoreTests.test_release_unacquired', () => {
    const sem = new BoundedSemaphore();
    expect(() => sem.release()).toThrow(ValueError);
    sem.acquire();
    sem.release();
    expect(() => sem.release()).toThrow(ValueError);
  });

  test('BoundedSemaphoreTests.test_repr', () => {
    const sem = new BoundedSemaphore(3);
    expect(String(sem)).toMatch(/<.*BoundedSemaphore.*value=3\/3>/);
    sem.acquire();
    expect(String(sem)).toMatch(/<.*BoundedSemaphore.*value=2\/3>/);
  });
});

describe('BarrierTests (threading.Barrier)', () => {
  const N = 5;
  const defaultTimeout = 2.0;
  let barrier: Barrier;

  beforeEach(() => {
    barrier = new Barrier(N, { timeout: defaultTimeout });
  });
  afterEach(() => {
    barrier.abort();
  });

  const runThreads = (f: (h: ThreadHelpers, ...args: never[]) => void, args: unknown[]) =>
    Bunch.run(f, args, N);

  const multipass = (h: ThreadHelpers, b: Barrier, r0: Int32Array, r1: Int32Array, n: number) => {
    const m = b.parties;
    h.assert.strictEqual(m, 5);
    for (let i = 0; i < n; i++) {
      h.append(r0, 1);
      h.assert.strictEqual(h.len(r1), i * m);
      b.wait();
      h.append(r1, 1);
      h.assert.strictEqual(h.len(r0), (i + 1) * m);
      b.wait();
    }
    h.assert.strictEqual(b.nWaiting, 0);
    h.assert.ok(!b.broken);
  };

  test('BarrierTests.test_constructor', () => {
    expect(() => new Barrier(0)).toThrow(ValueError);
    expect(() => new Barrier(-1)).toThrow(ValueError);
  });

  test('BarrierTests.test_barrier', () =>
    runThreads(multipass, [barrier, sharedList(), sharedList(), 1]));

  test('BarrierTests.test_barrier_10', () =>
    runThreads(multipass, [barrier, sharedList(), sharedList(), 10]));

  test('BarrierTests.test_wait_return', async () => {
    const results = sharedList();
    await runThreads(
      (h: ThreadHelpers, b: Barrier, r: Int32Array) => h.append(r, b.wait()),
      [barrier, results],
    );
    expect(listItems(results).reduce((a, b) => a + b, 0)).toBe((N * (N - 1)) / 2);
  });

  test('BarrierTests.test_action', async () => {
    // Documented difference: the action is a function, which does not travel
    // to a Thread; each thread assigns it to its copy (docs/synchronize.md).
    const results = sharedList();
    const b = new Barrier(N, () => listAppend(results, 1));
    await runThreads(
      (h: ThreadHelpers, bar: Barrier, r: Int32Array) => {
        bar.action = () => h.append(r, 1);
        bar.wait();
        h.assert.strictEqual(h.len(r), 1);
      },
      [b, results],
    );
    expect(listLen(results)).toBe(1);
  });

  const abortWorker = (h: ThreadHelpers, b: Barrier, r1: Int32Array, r2: Int32Array) => {
    const { BrokenBarrierError: Broken } = h.require('forkful');
    try {
      const i = b.wait();
      if (i === 2) throw new RangeError('the middle one');
      b.wait();
      h.append(r1, 1);
    } catch (err) {
      if (err instanceof Broken) h.append(r2, 1);
      else if (err instanceof RangeError) b.abort();
      else throw err;
    }
  };

  test('BarrierTests.test_abort', async () => {
    const results1 = sharedList();
    const results2 = sharedList();
    await runThreads(abortWorker, [barrier, results1, results2]);
    expect(listLen(results1)).toBe(0);
    expect(listLen(results2)).toBe(N - 1);
    expect(barrier.broken).toBe(true);
  });

  test('BarrierTests.test_reset', async () => {
    const results1 = sharedList();
    const results2 = sharedList();
    const results3 = sharedList();
    await runThreads(
      (h: ThreadHelpers, b: Barrier, r1: Int32Array, r2: Int32Array, r3: Int32Array) => {
        const { BrokenBarrierError: Broken } = h.require('forkful');
        const i = b.wait();
        if (i === 2) {
          h.waitUntil(() => b.nWaiting >= 4);
          b.reset();
        } else {
          try {
            b.wait();
            h.append(r1, 1);
          } catch (err) {
            if (!(err instanceof Broken)) throw err;
            h.append(r2, 1);
          }
        }
        b.wait();
        h.append(r3, 1);
      },
      [barrier, results1, results2, results3],
    );
    expect(listLen(results1)).toBe(0);
    expect(listLen(results2)).toBe(N - 1);
    expect(listLen(results3)).toBe(N);
  });

  test('BarrierTests.test_abort_and_reset', async () => {
    const results1 = sharedList();
    const results2 = sharedList();
    const results3 = sharedList();
    const barrier2 = new Barrier(N);
    await runThreads(
      (
        h: ThreadHelpers,
        b: Barrier,
        b2: Barrier,
        r1: Int32Array,
        r2: Int32Array,
        r3: Int32Array,
      ) => {
        const { BrokenBarrierError: Broken } = h.require('forkful');
        try {
          const i = b.wait();
          if (i === 2) throw new RangeError('the middle one');
          b.wait();
          h.append(r1, 1);
        } catch (err) {
          if (err instanceof Broken) h.append(r2, 1);
          else if (err instanceof RangeError) b.abort();
          else throw err;
        }
        if (b2.wait() === 2) b.reset();
        b2.wait();
        b.wait();
        h.append(r3, 1);
      },
      [barrier, barrier2, results1, results2, results3],
    );
    expect(listLen(results1)).toBe(0);
    expect(listLen(results2)).toBe(N - 1);
    expect(listLen(results3)).toBe(N);
  });

  test('BarrierTests.test_timeout', async () => {
    await runThreads(
      (h: ThreadHelpers, b: Barrier) => {
        const { BrokenBarrierError: Broken } = h.require('forkful');
        const i = b.wait();
        if (i === 2) h.sleep(2.0 / 2);
        h.assert.throws(() => b.wait(2.0 / 4), Broken);
      },
      [barrier],
    );
  });

  test('BarrierTests.test_default_timeout', async () => {
    const timeout = 0.1;
    const b = new Barrier(2, { timeout });
    const start = monotonic();
    await Bunch.run(
      (h: ThreadHelpers, bar: Barrier) => {
        const { BrokenBarrierError: Broken } = h.require('forkful');
        h.assert.throws(() => bar.wait(), Broken);
      },
      [b],
      1,
    );
    expect(monotonic() - start).toBeGreaterThanOrEqual(timeout);
    expect(() => b.wait()).toThrow(BrokenBarrierError);
  });

  test('BarrierTests.test_single_thread', () => {
    const b = new Barrier(1);
    b.wait();
    b.wait();
  });

  test('BarrierTests.test_repr', async () => {
    const b = new Barrier(3);
    expect(String(b)).toMatch(/<.*Barrier.*waiters=0\/3>/);
    const bunch = await Bunch.start(
      (_h: ThreadHelpers, bar: Barrier) => {
        bar.wait(60);
      },
      [b],
      2,
    );
    try {
      await waitUntil(() => b.nWaiting >= 2);
      expect(String(b)).toMatch(/<.*Barrier.*waiters=2\/3>/);
      b.wait(LONG_TIMEOUT);
    } finally {
      b.abort();
      await bunch.finish().catch(() => {});
    }
    b.reset();
    expect(String(b)).toMatch(/<.*Barrier.*waiters=0\/3>/);
    b.abort();
    expect(String(b)).toMatch(/<.*Barrier.*broken>/);
  });
});
