// forkful/coroutine's Event, AsyncResult, Semaphore, RLock, queues: kill and
// Timeout end their waits without leaving a waiter behind, links run soon
// (never synchronously), FIFO hand-over, and the errors of bad arguments.
import {
  AsyncResult,
  BoundedSemaphore,
  Channel,
  Event,
  GreenletExit,
  LifoQueue,
  PriorityQueue,
  Queue,
  RLock,
  Semaphore,
  SimpleQueue,
  Timeout,
  comparePriority,
  sleep,
  spawn,
  withTimeout,
} from '../../lib/coroutine';
import { Empty, Full, ShutDown, ValueError } from '../../lib/core/errors';

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

describe('queues', () => {
  test('LifoQueue and PriorityQueue order; copy() keeps items and order', async () => {
    const lifo = new LifoQueue<number>(null, [1, 2]);
    await lifo.put(3);
    const lifoCopy = lifo.copy();
    expect([lifo.getNowait(), lifo.getNowait(), lifo.getNowait()]).toEqual([3, 2, 1]);
    expect(lifoCopy.qsize()).toBe(3);
    expect(await lifoCopy.peek()).toBe(3);

    const pq = new PriorityQueue<[number, string]>();
    for (const entry of [
      [3, 'c'],
      [1, 'a'],
      [2, 'b'],
      [1, 'A'],
    ] as Array<[number, string]>) {
      await pq.put(entry);
    }
    const pqCopy = pq.copy();
    const out: Array<[number, string]> = [];
    while (!pq.empty()) out.push(await pq.get());
    expect(out).toEqual([
      [1, 'A'],
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
    expect(pqCopy.getNowait()).toEqual([1, 'A']);
    const byLength = new PriorityQueue<string>(
      null,
      ['ccc', 'a', 'bb'],
      (a, b) => a.length - b.length,
    );
    expect([byLength.getNowait(), byLength.getNowait(), byLength.getNowait()]).toEqual([
      'a',
      'bb',
      'ccc',
    ]);
  });

  test('PriorityQueue refuses entries it cannot order', async () => {
    const pq = new PriorityQueue<unknown>();
    await pq.put(1);
    await expect(pq.put({})).rejects.toBeInstanceOf(TypeError);
    expect(() => comparePriority('a', 1)).toThrow(TypeError);
  });

  test('a killed getter or putter leaves no waiter behind', async () => {
    const q = new Queue<number>(1);
    const getter = spawn(() => q.get());
    await sleep(0);
    expect(String(q)).toBe('<Queue maxsize=1 getters[1]>');
    await getter.kill({ timeout: 10 });
    q.putNowait(1);
    const putter = spawn(() => q.put(2));
    await sleep(0);
    expect(String(q)).toContain('putters[1]');
    await putter.kill({ timeout: 10 });
    expect(String(q)).toBe('<Queue maxsize=1 queue=[1] tasks=1>');
    expect(q.getNowait()).toBe(1);
    expect(q.empty()).toBe(true);
    const c = new Channel<number>();
    const cg = spawn(() => c.get());
    await sleep(0);
    expect(c.balance).toBe(-1);
    await cg.kill({ timeout: 10 });
    expect(c.balance).toBe(0);
  });

  test('for await reads until shutdown; join waits for taskDone', async () => {
    const q = new Queue<number>();
    const seen: number[] = [];
    const consumer = spawn(async () => {
      for await (const item of q) {
        seen.push(item);
        q.taskDone();
      }
      return 'ended';
    });
    for (const i of [1, 2, 3]) await q.put(i);
    expect(await q.join(10)).toBe(true);
    q.shutdown();
    expect(await consumer.get({ timeout: 10 })).toBe('ended');
    expect(seen).toEqual([1, 2, 3]);
  });

  test('a shutdown wakes blocked getters and putters with ShutDown', async () => {
    const q = new Queue<number>(1, [0]);
    const putter = spawn(() => q.put(1));
    const empty = new Queue<number>();
    const getter = spawn(() => empty.get());
    await sleep(0);
    q.shutdown();
    empty.shutdown();
    await expect(putter.get({ timeout: 10 })).rejects.toBeInstanceOf(ShutDown);
    await expect(getter.get({ timeout: 10 })).rejects.toBeInstanceOf(ShutDown);
    expect(q.getNowait()).toBe(0); // what is in the queue can still be read
  });

  test('maxsize: none, 0 and negative are no limit; raising it lets putters in', async () => {
    expect(new Queue().maxsize).toBeNull();
    expect(new Queue(0).maxsize).toBeNull();
    expect(new Queue(-1).full()).toBe(false);
    const q = new SimpleQueue<number>(1, [1]);
    const putter = spawn(() => q.put(2));
    await sleep(0);
    expect(putter.ready()).toBe(false);
    q.maxsize = 2;
    await putter.join(10);
    expect(putter.successful()).toBe(true);
    expect(q.qsize()).toBe(2);
  });

  test('argument errors', async () => {
    expect(() => new Channel(2)).toThrow(ValueError);
    expect(() => new Queue('1' as never)).toThrow(TypeError);
    await expect(new Queue().get(true, -1)).rejects.toBeInstanceOf(ValueError);
    // gevent checks a blocking put's timeout even when there is room (as CPython)
    await expect(new Queue().put(1, { timeout: -1 })).rejects.toBeInstanceOf(ValueError);
    await expect(new Queue().put(1, { block: false, timeout: -1 })).resolves.toBeUndefined();
    await expect(new Queue().get({ blocking: false } as never)).rejects.toThrow(/blocking/);
    expect(() => new Queue().taskDone()).toThrow('task_done() called too many times');
    expect(() => new Queue().getNowait()).toThrow(Empty);
    expect(() => new Queue(1, [1]).putNowait(2)).toThrow(Full);
    expect(() => new Channel().getNowait()).toThrow(Empty);
    expect(() => new Channel().putNowait(1)).toThrow(Full);
  });
});
