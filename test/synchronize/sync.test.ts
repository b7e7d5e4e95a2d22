// Lock, RLock, Semaphore, Condition, Event, Barrier, Value/Array in one
// process: semantics, timeouts, typed errors, handles.
import {
  Array as SharedArray,
  Barrier,
  BoundedSemaphore,
  Condition,
  Event,
  Lock,
  RawArray,
  RawValue,
  RLock,
  Semaphore,
  Value,
  arenaEnvironment,
  arenaInfo,
} from '../../lib/synchronize';
import '../../lib/shareables'; // the revivers, as an entry point installs them
import { BrokenBarrierError, RuntimeError, ValueError } from '../../lib/core/errors';
import { decodeShareables, encodeShareables } from '../../lib/transfer/shareable';
import { portable } from '../../lib/synchronize/arena';

// The handle protocol of lib/serialize, with JSON standing in for v8's
// structured clone: v8.deserialize builds objects of the outer realm, which
// lib/shareable does not take for plain objects inside jest's vm context.
const roundTrip = <T>(v: T): T =>
  decodeShareables(JSON.parse(JSON.stringify(encodeShareables(v)))) as T;

describe('Lock', () => {
  test('acquire, release, locked, and releasing an unlocked lock', () => {
    const lock = new Lock();
    expect(lock.locked()).toBe(false);
    expect(lock.acquire()).toBe(true);
    expect(lock.locked()).toBe(true);
    expect(lock.acquire(false)).toBe(false);
    expect(lock.acquire({ blocking: false })).toBe(false);
    lock.release();
    expect(lock.locked()).toBe(false);
    expect(() => lock.release()).toThrow(RuntimeError);
  });

  test('timeouts return false after waiting', () => {
    const lock = new Lock();
    lock.acquire();
    const t0 = performance.now();
    expect(lock.acquire({ timeout: 0.05 })).toBe(false);
    expect(lock.acquire(true, 0.05)).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(90);
    lock.release();
    expect(lock.acquire({ timeout: 0.05 })).toBe(true);
    lock.release();
  });

  test('bad arguments are ValueErrors, and leave the lock as it was', () => {
    const lock = new Lock();
    expect(() => lock.acquire({ timeout: NaN })).toThrow(ValueError);
    expect(() => lock.acquire({ timeout: -2 })).toThrow(ValueError);
    expect(() => lock.acquire(false, 1)).toThrow(/non-blocking/);
    expect(lock.locked()).toBe(false);
    expect(lock.acquire({ timeout: -1 })).toBe(true);
    lock.release();
  });

  test('withLock, hold() and Symbol.dispose release the lock', () => {
    const lock = new Lock();
    expect(lock.withLock(() => lock.locked())).toBe(true);
    expect(lock.locked()).toBe(false);
    expect(() =>
      lock.withLock(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(lock.locked()).toBe(false);
    const guard = lock.hold();
    expect(lock.locked()).toBe(true);
    guard[Symbol.dispose]();
    expect(lock.locked()).toBe(false);
    lock.acquire();
    lock[Symbol.dispose]();
    expect(lock.locked()).toBe(false);
  });

  test('acquireAsync waits for a release without blocking the loop', async () => {
    const lock = new Lock();
    lock.acquire();
    setTimeout(() => lock.release(), 30);
    await expect(lock.acquireAsync({ timeout: 10 })).resolves.toBe(true);
    await expect(lock.acquireAsync({ timeout: 0.02 })).resolves.toBe(false);
    await expect(lock.acquireAsync({ blocking: false })).resolves.toBe(false);
    lock.release();
    await expect(lock.withLockAsync(async () => lock.locked())).resolves.toBe(true);
    expect(lock.locked()).toBe(false);
  });

  test('a handle revives to the same lock', () => {
    const lock = new Lock();
    const copy = roundTrip(lock);
    expect(copy).toBeInstanceOf(Lock);
    lock.acquire();
    expect(copy.locked()).toBe(true);
    copy.release();
    expect(lock.locked()).toBe(false);
  });
});

describe('RLock', () => {
  test('re-entrance and release counts', () => {
    const rl = new RLock();
    expect(rl.acquire()).toBe(true);
    expect(rl.acquire()).toBe(true);
    rl.release();
    expect(rl.locked()).toBe(true);
    rl.release();
    expect(rl.locked()).toBe(false);
    expect(() => rl.release()).toThrow(RuntimeError);
    expect(() => rl.acquire({ timeout: NaN })).toThrow(ValueError);
  });
});

describe('Semaphore', () => {
  test('counts, times out, and rejects bad values', () => {
    const sem = new Semaphore(2);
    expect(sem.acquire()).toBe(true);
    expect(sem.acquire()).toBe(true);
    expect(sem.acquire(false)).toBe(false);
    expect(sem.acquire({ timeout: 0.02 })).toBe(false);
    sem.release(2);
    expect(sem.getValue()).toBe(2);
    expect(() => new Semaphore(-1)).toThrow(ValueError);
    expect(() => new Semaphore(1.5)).toThrow(ValueError);
    expect(() => sem.release(0)).toThrow(ValueError);
    expect(() => sem.acquire({ timeout: NaN })).toThrow(ValueError);
  });

  test('BoundedSemaphore refuses to release above its initial value', () => {
    const sem = new BoundedSemaphore(1);
    expect(() => sem.release()).toThrow(ValueError);
    sem.acquire();
    sem.release();
    expect(() => sem.release()).toThrow(/too many times/);
    const copy = roundTrip(sem);
    expect(copy).toBeInstanceOf(BoundedSemaphore);
    expect(() => copy.release()).toThrow(ValueError);
  });

  test('acquireAsync is woken by release', async () => {
    const sem = new Semaphore(0);
    setTimeout(() => sem.release(), 20);
    await expect(sem.acquireAsync({ timeout: 10 })).resolves.toBe(true);
    await expect(sem.acquireAsync({ timeout: 0.01 })).resolves.toBe(false);
  });
});

describe('Condition', () => {
  test('wait needs the lock; wait times out; notify needs the lock', () => {
    const cond = new Condition();
    expect(() => cond.wait(0.01)).toThrow(RuntimeError);
    expect(() => cond.notify()).toThrow(RuntimeError);
    cond.acquire();
    expect(cond.wait(0.02)).toBe(false);
    expect(cond.waitFor(() => 0, 0.02)).toBe(0);
    expect(() => cond.wait(NaN)).toThrow(ValueError);
    expect(() => cond.notify(-1)).toThrow(ValueError);
    cond.notifyAll();
    cond.release();
  });

  // Python's repr: <Condition(<its lock's repr>, waiters not yet notified)>.
  test('toString shows its lock and its un-notified waiters', async () => {
    const cond = new Condition(new Lock());
    expect(String(cond)).toBe('<forkful.Condition(<unlocked forkful.Lock>, 0)>');
    cond.acquire();
    const waiting = cond.waitAsync(10);
    expect(String(cond)).toBe('<forkful.Condition(<unlocked forkful.Lock>, 1)>');
    cond.acquire();
    cond.notify();
    expect(String(cond)).toBe('<forkful.Condition(<locked forkful.Lock>, 0)>');
    cond.release();
    expect(await waiting).toBe(true);
    cond.release();
  });

  // CPython's Condition takes _is_owned, _release_save and _acquire_restore
  // from its lock.
  test("_isOwned, _releaseSave and _acquireRestore are its lock's", () => {
    const cond = new Condition();
    expect(cond._isOwned()).toBe(false);
    expect(() => cond._releaseSave()).toThrow(RuntimeError);
    cond.acquire();
    cond.acquire();
    expect(cond._isOwned()).toBe(true);
    const saved = cond._releaseSave();
    expect(saved).toBe(2);
    expect(String(cond.lock)).toMatch(/^<unlocked /);
    cond._acquireRestore(saved);
    expect(cond._isOwned()).toBe(true);
    cond.release();
    cond.release();
    expect(cond._isOwned()).toBe(false);
  });

  test('waitAsync is woken by notify from the same loop', async () => {
    const cond = new Condition(new Lock());
    let ready = false;
    setTimeout(() => {
      cond.acquire();
      ready = true;
      cond.notify();
      cond.release();
    }, 20);
    await cond.acquireAsync();
    const result = await cond.waitForAsync(() => ready, 10);
    cond.release();
    expect(result).toBe(true);
  });

  // Python: notify(n) wakes at most n waiters. Each waitAsync below has
  // entered and released the lock, but its futex sleep starts later, on a
  // waiter thread, typically after the notify: a wait that returned true
  // whenever the sequence had moved would wake them all.
  test('notify(n) wakes n waiters, even those not yet asleep', async () => {
    const cond = new Condition(new Lock());
    const waiters = (n: number, timeout: number): Promise<boolean[]> =>
      Promise.all(
        Array.from({ length: n }, () => {
          cond.acquire();
          return cond.waitAsync(timeout).then((woken) => {
            cond.release();
            return woken;
          });
        }),
      );
    const notifying = (notify: () => void): void => {
      cond.acquire();
      notify();
      cond.release();
    };
    const five = waiters(5, 0.5);
    notifying(() => cond.notify(2));
    expect((await five).filter(Boolean)).toHaveLength(2);
    // The three that timed out left the count: notify(1) wakes one of three.
    const three = waiters(3, 0.5);
    notifying(() => cond.notify(1));
    expect((await three).filter(Boolean)).toHaveLength(1);
    const all = waiters(3, 5);
    notifying(() => cond.notifyAll());
    expect(await all).toEqual([true, true, true]);
  });

  test('a waitAsync aborted after its notify resolves true; before it, rejects', async () => {
    const lock = new Lock();
    const cond = new Condition(lock);
    const first = new AbortController();
    cond.acquire();
    const notified = cond.waitAsync(5, { signal: first.signal });
    cond.acquire();
    cond.notify();
    first.abort();
    cond.release();
    await expect(notified).resolves.toBe(true);
    cond.release();
    const second = new AbortController();
    cond.acquire();
    const aborted = cond.waitAsync(5, { signal: second.signal });
    second.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    expect(lock.locked()).toBe(true); // taken back before rejecting
    cond.release();
  });

  test('travels with its lock', () => {
    const cond = new Condition();
    const copy = roundTrip(cond);
    expect(copy).toBeInstanceOf(Condition);
    cond.acquire();
    expect(copy.lock.acquire(false)).toBe(true); // the same RLock, same owner thread
    copy.lock.release();
    cond.release();
  });
});

describe('Event', () => {
  test('set, clear, isSet, wait with timeout', async () => {
    const ev = new Event();
    expect(ev.isSet()).toBe(false);
    expect(ev.wait(0.02)).toBe(false);
    ev.set();
    expect(ev.wait()).toBe(true);
    ev.clear();
    expect(ev.isSet()).toBe(false);
    setTimeout(() => ev.set(), 20);
    await expect(ev.waitAsync(10)).resolves.toBe(true);
    expect(() => ev.wait(NaN)).toThrow(ValueError);
    expect(roundTrip(ev).isSet()).toBe(true);
  });
});

describe('Barrier', () => {
  test('bad parties are ValueErrors', () => {
    expect(() => new Barrier(0)).toThrow(ValueError);
    expect(() => new Barrier(-3)).toThrow(ValueError);
    expect(() => new Barrier(1.5)).toThrow(ValueError);
    expect(() => new Barrier(2, null, NaN)).toThrow(ValueError);
  });

  test('one party passes at once and runs the action', () => {
    let ran = 0;
    const b = new Barrier(1, () => ran++);
    expect(b.wait()).toBe(0);
    expect(b.wait()).toBe(0);
    expect(ran).toBe(2);
    expect(b.parties).toBe(1);
  });

  test('a lone waiter times out and breaks the barrier; reset repairs it', () => {
    const b = new Barrier(2);
    expect(() => b.wait(0.02)).toThrow(BrokenBarrierError);
    expect(b.broken).toBe(true);
    expect(() => b.wait()).toThrow(BrokenBarrierError);
    b.reset();
    expect(b.broken).toBe(false);
    b.abort();
    expect(b.broken).toBe(true);
  });

  test('an action that throws breaks the barrier', () => {
    const b = new Barrier(1, () => {
      throw new Error('action failed');
    });
    expect(() => b.wait()).toThrow('action failed');
    expect(b.broken).toBe(true);
  });
});

describe('Value and Array', () => {
  test('typecodes, locks and views', () => {
    const v = Value('i', 41);
    v.value = (v.value as number) + 1;
    expect(v.value).toBe(42);
    expect(v.getLock()).toBeInstanceOf(RLock);
    const q = Value('q', 5);
    expect(q.value).toBe(5n);
    const raw = Value('d', 1.5, { lock: false });
    expect(raw).toBeInstanceOf(RawValue);
    const lock = new Lock();
    expect(Value('f', 0, { lock }).getLock()).toBe(lock);
    const a = SharedArray('h', [1, 2, 3]);
    expect(a.length).toBe(3);
    a.set(-1, 7);
    expect(a.toArray()).toEqual([1, 2, 7]);
    expect(a.view).toBeInstanceOf(Int16Array);
    expect(() => a.get(3)).toThrow(RangeError);
    const zeros = new RawArray('d', 4);
    expect(Array.from(zeros)).toEqual([0, 0, 0, 0]);
    expect(() => Value('x' as never, 0)).toThrow(ValueError);
    expect(() => SharedArray('i', -1)).toThrow(ValueError);
    expect(() => Value('i', 'a' as never)).toThrow(ValueError);
  });

  test('handles revive to the same memory', () => {
    const v = Value('i', 1);
    const a = SharedArray('d', 3);
    const [v2, a2] = roundTrip([v, a]);
    v2.value = 9;
    a2.set(1, 2.5);
    expect(v.value).toBe(9);
    expect(a.get(1)).toBe(2.5);
    expect(v2.getLock()).toBeInstanceOf(RLock);
  });
});

describe('arena', () => {
  test('arenaEnvironment names the arena of this process', () => {
    new Lock();
    const env = arenaEnvironment();
    const info = arenaInfo();
    expect(info).not.toBeNull();
    // The portable arena (no addon) is one process's memory: nothing to name.
    if (portable) expect(env).toEqual({});
    else expect(env.FORKFUL_ARENA).toBe(`${info!.path}#${info!.id}`);
  });

  test('a handle from another arena is refused with a RuntimeError', () => {
    const lock = new Lock();
    const text = JSON.stringify(encodeShareables(lock)).replace(
      arenaInfo()!.id,
      '0123456789abcdef',
    );
    expect(() => decodeShareables(JSON.parse(text))).toThrow(
      portable ? /another process's memory/ : /another forkful arena/,
    );
    expect(() => decodeShareables(JSON.parse(text))).toThrow(RuntimeError);
  });
});
