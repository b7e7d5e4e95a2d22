// Port of gevent's src/gevent/tests/test__event.py to forkful/coroutine's
// Event and AsyncResult, plus lock_tests.py's EventTests (gevent's copy)
// applied to Event, greenlets standing in for its threads. Waits are Promises; gevent.wait(objs) is
// `await wait(objs)`; gevent.with_timeout(s, f) is withTimeout(f, s)
// (documented: function first); an AsyncResult's `exc_info` (a Python
// traceback triple) has no counterpart and is not checked.
// Not ported: TestAsyncResultCrossThread and TestEventCrossThread (gevent
// objects shared by OS threads of one interpreter; forkful's Threads are
// isolates that share no JavaScript objects), TestEventBasics.test_weakref
// as a GC test (a WeakRef check stands in), test_raises_timeout_Timeout*
// of the generic get tests (a Timeout object as the timeout: forkful's are
// seconds; see helpers/gevent.ts).
import {
  AsyncResult,
  Event,
  Greenlet,
  Timeout,
  sleep,
  spawn,
  spawnLater,
  wait,
  withTimeout,
} from '../../lib/coroutine';
import { monotonic } from './helpers/common';
import {
  ExpectedException,
  SMALL_TICK,
  SMALL_TICK_MAX_ADJ,
  genericGetTests,
  genericWaitTests,
  inGreenlet,
} from './helpers/gevent';

jest.setTimeout(30000);

const DELAY = SMALL_TICK + SMALL_TICK_MAX_ADJ;

class MyException extends Error {}

/** Joins, bounded: a hang fails the test instead of the run. */
async function joinBounded(g: Greenlet<unknown>, seconds = 10): Promise<void> {
  await g.join(seconds);
  if (!g.ready()) throw new Error(`${g} did not finish within ${seconds} s`);
}

describe('TestEventWait', () => {
  genericWaitTests('TestEventWait', async (timeout) => {
    await new Event().wait(timeout);
  });

  test('TestEventWait.test_cover', () => {
    expect(String(new Event())).toBe('<Event clear _links[0]>');
  });
});

describe('TestGeventWaitOnEvent', () => {
  genericWaitTests('TestGeventWaitOnEvent', async (timeout) => {
    await wait([new Event()], { timeout });
  });

  test('TestGeventWaitOnEvent.test_set_during_wait', async () => {
    // gevent issue 771: no new links while the callbacks run.
    const event = new Event();
    const setter = (): void => event.set();
    const waiter = async (): Promise<void> => {
      const s = spawn(setter);
      const res = await event.wait();
      expect(res).toBe(true);
      expect(event.ready()).toBe(true);
      await joinBounded(s);
      event.clear();
      expect(event.ready()).toBe(false);
      const o = await wait([event], { timeout: 0.01 });
      expect(event.ready()).toBe(false);
      expect(o).not.toContain(event);
    };
    const g = spawn(waiter);
    await joinBounded(g);
    expect(g.successful()).toBe(true);
    await g; // the assertions' failure, if any
  });
});

describe('TestAsyncResultWait', () => {
  genericWaitTests('TestAsyncResultWait', async (timeout) => {
    await new AsyncResult().wait(timeout);
  });
});

describe('TestWaitAsyncResult', () => {
  genericWaitTests('TestWaitAsyncResult', async (timeout) => {
    await wait([new AsyncResult()], { timeout });
  });
});

describe('TestAsyncResultGet', () => {
  genericGetTests('TestAsyncResultGet', (timeout) => new AsyncResult().get({ timeout }));
});

describe('TestAsyncResult', () => {
  test('TestAsyncResult.test_link', () => {
    const ar = new AsyncResult();
    expect(() => ar.rawlink(null as never)).toThrow(TypeError);
    ar.unlink(null as never); // doesn't raise
    ar.unlink(null as never); // doesn't raise
    expect(String(ar)).toBe('<AsyncResult unset _links[0]>');
  });

  test('TestAsyncResult.test_set_exc', async () => {
    const log: unknown[] = [];
    const e = new AsyncResult();
    expect(e.exception).toBeUndefined();
    spawn(async () => {
      await expect(e.get()).rejects.toBeInstanceOf(MyException);
      log.push(['caught', await e.get().catch((err) => err)]);
    });
    const obj = new MyException();
    e.setException(obj);
    await sleep(0);
    await sleep(0);
    expect(log).toEqual([['caught', obj]]);
    expect(e.exception).toBe(obj);
  });

  test('TestAsyncResult.test_set', async () => {
    const event1 = new AsyncResult<string>();
    const timerExc = new MyException('interrupted');
    const g = spawnLater(DELAY, (v: string) => event1.set(v), 'hello event1');
    try {
      await inGreenlet(async () => {
        const t = Timeout.startNew(0, timerExc);
        try {
          await expect(event1.get()).rejects.toBe(timerExc);
        } finally {
          t.cancel();
        }
      });
    } finally {
      await g.kill();
    }
  });

  test('TestAsyncResult.test_set_with_timeout', async () => {
    const event2 = new AsyncResult();
    const X = {};
    const result = await withTimeout(() => event2.get(), DELAY, { timeoutValue: X });
    expect(result).toBe(X); // nobody sent anything to event2
    expect(event2.linkcount()).toBe(0);
  });

  test('TestAsyncResult.test_nonblocking_get', async () => {
    const ar = new AsyncResult();
    await expect(ar.get({ block: false })).rejects.toBeInstanceOf(Timeout);
    await expect(ar.getNowait()).rejects.toBeInstanceOf(Timeout);
  });
});

describe('TestAsyncResultAsLinkTarget', () => {
  test('TestAsyncResultAsLinkTarget.test_set', async () => {
    const g = spawn(() => 1);
    const [s1, s2, s3] = [new AsyncResult(), new AsyncResult(), new AsyncResult()];
    g.link(s1);
    g.linkValue(s2);
    g.linkException(s3);
    expect(await s1.get()).toBe(1);
    expect(await s2.get()).toBe(1);
    const X = {};
    expect(await withTimeout(() => s3.get(), DELAY, { timeoutValue: X })).toBe(X);
  });

  test('TestAsyncResultAsLinkTarget.test_set_exception', async () => {
    const g = spawn(() => {
      throw new ExpectedException('TestAsyncResultAsLinkTarget.test_set_exception');
    });
    const [s1, s2, s3] = [new AsyncResult(), new AsyncResult(), new AsyncResult()];
    g.link(s1);
    g.linkValue(s2);
    g.linkException(s3);
    await expect(s1.get()).rejects.toBeInstanceOf(ExpectedException);
    const X = {};
    expect(await withTimeout(() => s2.get(), DELAY, { timeoutValue: X })).toBe(X);
    await expect(s3.get()).rejects.toBeInstanceOf(ExpectedException);
  });
});

describe.each([
  ['TestEvent_SetThenClear', 1],
  ['TestEvent_SetThenClear100', 100],
  ['TestEvent_SetThenClear1000', 1000],
])('%s', (name, N) => {
  test(`${name}.test`, async () => {
    const e = new Event();
    const waiters = Array.from({ length: N }, () => spawn(() => e.wait()));
    await sleep(0.001);
    e.set();
    e.clear();
    for (const greenlet of waiters) await joinBounded(greenlet);
    // Every waiter was woken with true (the flag was set while it waited).
    expect(waiters.map((g) => g.value)).toEqual(Array(N).fill(true));
  });
});

describe.each([
  ['TestWait', 5, null, 1],
  ['TestWait_notimeout', 5, null, null],
  ['TestWait_count1', 5, 1, 1],
  ['TestWait_count2', 5, 2, 1],
])('%s', (name, N, count, timeout) => {
  const period = 1 / 100.0;

  test(`${name}.test`, async () => {
    const events = Array.from({ length: N }, () => new Event());
    const asyncs = Array.from({ length: N }, () => new AsyncResult());
    const maxLen = events.length + asyncs.length;
    const ev = [...events];
    const as = [...asyncs];
    const sender = spawn(async () => {
      while (ev.length > 0 || as.length > 0) {
        await sleep(period);
        ev.pop()?.set();
        await sleep(period);
        as.pop()?.set();
      }
    });
    const results = await wait([...events, ...asyncs], { count, timeout });
    // gevent: min(max_len, timeout / period) with a 1 s timeout is all 10;
    // the timers of a shared machine can be slower than that, so the
    // untimed expectation is only checked where there is no timeout.
    let expectedLen = maxLen;
    if (count === null) {
      if (timeout === null) expect(sender.ready()).toBe(true);
    } else {
      expectedLen = Math.min(count, expectedLen);
      expect(sender.ready()).toBe(false);
      await sender.kill();
    }
    if (timeout === null || count !== null) expect(results.length).toBe(expectedLen);
    else expect(results.length).toBeLessThanOrEqual(expectedLen);
    await sender.kill();
  });
});

describe('TestEventBasics', () => {
  test('TestEventBasics.test_weakref', () => {
    const e = new Event();
    const r = new WeakRef(e);
    expect(r.deref()).toBe(e);
  });

  test('TestEventBasics.test_wait_while_notifying', async () => {
    // gevent issue 1520: a wait() on an Event that is set and still
    // notifying its waiters goes after them, without a loop iteration.
    const event = new Event();
    const results: number[] = [];
    const waitThenAppend = async (arg: number): Promise<void> => {
      await event.wait();
      results.push(arg);
    };
    spawn(waitThenAppend, 1);
    spawn(waitThenAppend, 2);
    await sleep(0); // gevent.idle()
    expect(event.linkcount()).toBe(2);
    // gevent's check watcher: the next loop iteration.
    const check = setImmediate(() => results.push(4));
    event.set();
    await waitThenAppend(3);
    expect(results).toEqual([1, 2, 3]);
    clearImmediate(check); // it did not run
  });

  test('TestEventBasics.test_gevent_wait_twice_when_already_set', async () => {
    const event = new Event();
    event.set();
    expect(await wait([event])).toEqual([event]);
    expect(await wait([event])).toEqual([event]);
  });
});

// lock_tests.EventTests
describe('EventTests', () => {
  /** lock_tests.Bunch(f, n): `f` in n greenlets. */
  function bunch(f: () => Promise<void>, n: number): Greenlet<void>[] {
    return Array.from({ length: n }, () => spawn(f));
  }

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
    // All greenlets get notified
    const N = 5;
    const results1: boolean[] = [];
    const results2: boolean[] = [];
    const gs = bunch(async () => {
      await evt.wait();
      results1.push(evt.isSet());
      await evt.wait();
      results2.push(evt.isSet());
    }, N);
    await sleep(0.01);
    expect(results1.length).toBe(0);
    evt.set();
    for (const g of gs) await joinBounded(g);
    for (const g of gs) await g;
    expect(results1).toEqual(Array(N).fill(true));
    expect(results2).toEqual(Array(N).fill(true));
  }

  test('EventTests.test_notify', async () => {
    const evt = new Event();
    await checkNotify(evt);
    // Another time, after an explicit clear()
    evt.set();
    evt.clear();
    await checkNotify(evt);
  });

  test('EventTests.test_timeout', async () => {
    const evt = new Event();
    let results1: boolean[] = [];
    let results2: Array<[boolean, number]> = [];
    const N = 5;
    const f = async (): Promise<void> => {
      await evt.wait(0.0);
      results1.push(evt.isSet());
      const t1 = monotonic();
      await evt.wait(0.2);
      const r = evt.isSet();
      results2.push([r, monotonic() - t1]);
    };
    for (const g of bunch(f, N)) await joinBounded(g);
    expect(results1).toEqual(Array(N).fill(false));
    for (const [r, dt] of results2) {
      expect(r).toBe(false);
      expect(dt).toBeGreaterThanOrEqual(0.18);
      expect(dt).toBeLessThanOrEqual(10);
    }
    // The event is set
    results1 = [];
    results2 = [];
    evt.set();
    for (const g of bunch(f, N)) await joinBounded(g);
    expect(results1).toEqual(Array(N).fill(true));
    for (const [r] of results2) expect(r).toBe(true);
  });
});
