// forkful/coroutine's Event, AsyncResult, Semaphore, RLock: kill and
// Timeout end their waits without leaving a waiter behind, links run soon
// (never synchronously), FIFO hand-over, and the errors of bad arguments.
import {
  AsyncResult,
  BoundedSemaphore,
  Event,
  GreenletExit,
  RLock,
  Semaphore,
  Timeout,
  sleep,
  spawn,
  withTimeout,
} from '../../lib/coroutine';
import { ValueError } from '../../lib/core/errors';

describe('kill and Timeout end the waits', () => {
  const waits: Array<[string, () => { wait(): Promise<unknown>; linkcount(): number }]> = [
    [
      'Event.wait',
      () => {
        const e = new Event();
        return { wait: () => e.wait(), linkcount: () => e.linkcount() };
      },
    ],
    [
      'AsyncResult.get',
      () => {
        const r = new AsyncResult();
        return { wait: () => r.get(), linkcount: () => r.linkcount() };
      },
    ],
    [
      'AsyncResult.wait',
      () => {
        const r = new AsyncResult();
        return { wait: () => r.wait(), linkcount: () => r.linkcount() };
      },
    ],
    [
      'Semaphore.acquire',
      () => {
        const s = new Semaphore(0);
        return { wait: () => s.acquire(), linkcount: () => s.linkcount() };
      },
    ],
    [
      'Semaphore.wait',
      () => {
        const s = new Semaphore(0);
        return { wait: () => s.wait(), linkcount: () => s.linkcount() };
      },
    ],
  ];

  test.each(waits)('%s: a killed greenlet stops waiting and unlinks', async (_name, make) => {
    const obj = make();
    const g = spawn(() => obj.wait());
    await sleep(0);
    expect(obj.linkcount()).toBe(1);
    await g.kill({ timeout: 10 });
    expect(g.dead).toBe(true);
    expect(g.value).toBeInstanceOf(GreenletExit);
    expect(obj.linkcount()).toBe(0);
  });

  test.each(waits)('%s: withTimeout ends the wait and unlinks', async (_name, make) => {
    const obj = make();
    await expect(withTimeout(() => obj.wait(), 0.01)).rejects.toBeInstanceOf(Timeout);
    expect(obj.linkcount()).toBe(0);
  });

  test('a waiter killed before release does not take the count', async () => {
    const s = new Semaphore(0);
    const a = spawn(() => s.acquire());
    const b = spawn(() => s.acquire());
    await sleep(0);
    await a.kill({ timeout: 10 });
    s.release();
    expect(await b.get({ timeout: 10 })).toBe(true);
    expect(s.counter).toBe(0);
    expect(s.linkcount()).toBe(0);
  });

  test('a waiter that timed out does not take the count', async () => {
    const s = new Semaphore(0);
    expect(await s.acquire(true, 0.01)).toBe(false);
    s.release();
    expect(s.counter).toBe(1);
  });
});

describe('links and hand-over', () => {
  test('rawlink callbacks run soon after set, never synchronously, once', async () => {
    const e = new Event();
    const calls: unknown[] = [];
    const cb = (source: Event): number => calls.push(source);
    e.rawlink(cb);
    e.set();
    expect(calls).toEqual([]);
    await sleep(0);
    expect(calls).toEqual([e]);
    e.clear();
    e.set();
    await sleep(0);
    expect(calls).toEqual([e]); // unlinked before it was called
  });

  test('unlink before set: the callback does not run', async () => {
    const r = new AsyncResult();
    const calls: unknown[] = [];
    const cb = (): number => calls.push(1);
    r.rawlink(cb);
    r.unlink(cb);
    r.set(1);
    await sleep(0);
    expect(calls).toEqual([]);
  });

  test('Semaphore waiters get it in the order they began waiting', async () => {
    const s = new Semaphore(0);
    const order: number[] = [];
    const gs = [0, 1, 2, 3].map((i) =>
      spawn(async () => {
        await s.acquire();
        order.push(i);
      }),
    );
    await sleep(0);
    for (let i = 0; i < 4; i++) s.release();
    for (const g of gs) await g.join(10);
    expect(order).toEqual([0, 1, 2, 3]);
  });

  test('a release is handed to the waiter: acquire(false) right after cannot steal it', async () => {
    const s = new Semaphore(0);
    const waiter = spawn(() => s.acquire());
    await sleep(0);
    s.release();
    await sleep(0);
    expect(await s.acquire(false)).toBe(false);
    expect(await waiter.get({ timeout: 10 })).toBe(true);
  });

  test('AsyncResult: set, value, successful, get after set', async () => {
    const r = new AsyncResult<number>();
    expect(r.ready()).toBe(false);
    expect(r.value).toBeUndefined();
    r.set(5);
    expect(r.ready()).toBe(true);
    expect(r.successful()).toBe(true);
    expect(r.value).toBe(5);
    expect(await r.get()).toBe(5);
    expect(await r.wait()).toBe(5);
    expect(await r.result()).toBe(5);
    expect(r.done()).toBe(true);
    expect(r.cancel()).toBe(false);
  });

  test('AsyncResult.wait resolves undefined when it holds an exception', async () => {
    const r = new AsyncResult();
    const err = new Error('x');
    r.setException(err);
    expect(await r.wait()).toBeUndefined();
    expect(r.successful()).toBe(false);
    expect(r.exception).toBe(err);
    await expect(r.get()).rejects.toBe(err);
  });

  test('RLock: each greenlet is an owner; code outside greenlets is one owner', async () => {
    const lock = new RLock();
    await lock.acquire();
    await lock.acquire(); // the same (main) owner
    const other = spawn(() => lock.acquire(false));
    expect(await other.get({ timeout: 10 })).toBe(false);
    lock.release();
    lock.release();
    expect(lock.locked()).toBe(false);
    const holder = spawn(async () => {
      await lock.acquire();
      await lock.acquire();
      lock.release();
      return lock.locked();
    });
    expect(await holder.get({ timeout: 10 })).toBe(true);
  });

  test('hold() and Symbol.dispose release', async () => {
    const s = new BoundedSemaphore(1);
    {
      const guard = await s.hold();
      expect(s.locked()).toBe(true);
      guard[Symbol.dispose]();
      guard[Symbol.dispose](); // once only
    }
    expect(s.counter).toBe(1);
    await s.acquire();
    s[Symbol.dispose]();
    expect(s.counter).toBe(1);
  });
});

describe('argument errors', () => {
  test('negative or non-numeric timeouts', async () => {
    await expect(new Event().wait(-1)).rejects.toBeInstanceOf(ValueError);
    await expect(new AsyncResult().get({ timeout: -1 })).rejects.toBeInstanceOf(ValueError);
    await expect(new Semaphore().acquire(true, -1)).rejects.toBeInstanceOf(ValueError);
    await expect(new Semaphore().acquire(true, '1' as never)).rejects.toBeInstanceOf(TypeError);
    await expect(new RLock().acquire({ timeout: NaN })).rejects.toBeInstanceOf(ValueError);
  });

  test('unknown options', async () => {
    await expect(new AsyncResult().get({ blok: false } as never)).rejects.toThrow(/blok/);
    await expect(new Semaphore().acquire({ blok: false } as never)).rejects.toThrow(/blok/);
  });

  test('bad semaphore values and rawlink callbacks', () => {
    expect(() => new Semaphore(-1)).toThrow(ValueError);
    expect(() => new Semaphore(1.5)).toThrow(TypeError);
    expect(() => new BoundedSemaphore(1).release()).toThrow(ValueError);
    expect(() => new Event().rawlink('x' as never)).toThrow(TypeError);
    expect(() => new Semaphore().rawlink(undefined as never)).toThrow(TypeError);
  });

  test('withLock needs a function', async () => {
    const s = new Semaphore();
    await expect(s.withLock(undefined as never)).rejects.toBeInstanceOf(TypeError);
    expect(s.counter).toBe(1);
  });
});
