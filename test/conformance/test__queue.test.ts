// Port of gevent's src/gevent/tests/test__queue.py to forkful/coroutine's
// SimpleQueue, Queue (JoinableQueue), LifoQueue, PriorityQueue and Channel.
// get/put/peek are Promises (`await q.get()`); getNowait/putNowait/
// peekNowait are synchronous. gevent's hub callbacks
// (get_hub().loop.run_callback) are microtasks: there is no hub greenlet
// here, and the *Nowait methods behave everywhere as gevent's do in the hub
// (they serve a waiting getter or putter at once).
// Not ported: test_init_and_bottleneck_methods and
// test_subclass_assign_queue (the stdlib's _init/_get/_put/`queue`
// subclass hooks), SubscriptMixin.test_subscript (Python's generic alias:
// TypeScript's generics exist at compile time only), the LoopExit half of
// test_peek_empty (a blocked main greenlet; Node just waits), and
// TestChannel.test_iterable (iteration ends at a StopIteration item in
// gevent; here `for await` ends when a Queue is shut down, and a Channel
// is left with break).
import {
  AsyncResult,
  Channel,
  Greenlet,
  JoinableQueue,
  LifoQueue,
  PriorityQueue,
  Queue,
  SimpleQueue,
  Timeout,
  joinall,
  sleep,
  spawn,
} from '../../lib/coroutine';
import { Empty, Full, ShutDown, ValueError } from '../../lib/core/errors';
import { genericGetTests, inGreenlet } from './helpers/gevent';

jest.setTimeout(30000);

type AnyQueue = SimpleQueue<unknown> | Channel<unknown>;
type Kind = new (maxsize?: number) => AnyQueue;

/** util.wrap_errors(errorClass, fn): the error is returned, not thrown. */
function wrapErrors<A extends unknown[]>(
  errorClass: new (...args: never[]) => unknown,
  fn: (...args: A) => unknown,
): (...args: A) => unknown {
  return (...args) => {
    try {
      return fn(...args);
    } catch (err) {
      if (err instanceof errorClass) return err;
      throw err;
    }
  };
}

/** Joins, bounded: a hang fails the test instead of the run. */
async function joinBounded(g: Greenlet<unknown>, seconds = 10): Promise<void> {
  await g.join(seconds);
  if (!g.ready()) throw new Error(`${g} did not finish within ${seconds} s`);
}

/** `with gevent.Timeout(0, RuntimeError()): q.get()` in a greenlet. */
async function doReceive(q: AnyQueue, evt: AsyncResult<unknown>): Promise<void> {
  const t = Timeout.startNew(0, new RuntimeError());
  try {
    evt.set(await q.get());
  } catch (err) {
    if (!(err instanceof RuntimeError)) throw err;
    evt.set('timed out');
  } finally {
    t.cancel();
  }
}

class RuntimeError extends Error {}

// UsesOnlyOneItemMixin: SimpleQueue, Queue and Channel.
describe.each([
  ['TestSimpleQueue', SimpleQueue as Kind, true],
  ['TestQueue', Queue as Kind, true],
  ['TestChannel', Channel as Kind, false],
])('%s', (name, kind, supportsPuttingWithoutGetting) => {
  test(`${name}.test_put_nowait_simple`, async () => {
    const result: unknown[] = [];
    const q = new kind(1);
    const storeResult = (fn: (...a: unknown[]) => unknown, ...args: unknown[]): number =>
      result.push(fn(...args));
    queueMicrotask(() =>
      storeResult(
        wrapErrors(Full, (v) => q.putNowait(v)),
        2,
      ),
    );
    queueMicrotask(() =>
      storeResult(
        wrapErrors(Full, (v) => q.putNowait(v)),
        3,
      ),
    );
    await sleep(0);
    expect(result.length).toBe(2);
    if (supportsPuttingWithoutGetting) expect(result[0]).toBeUndefined();
    else expect(result[0]).toBeInstanceOf(Full);
    expect(result[1]).toBeInstanceOf(Full);
  });

  // put_nowait must work from the mainloop
  test(`${name}.test_put_nowait_unlock`, async () => {
    const result: unknown[] = [];
    const q = new kind();
    const p = spawn(() => q.get());
    const assertFull = (full: boolean): void => expect(full).toBe(!supportsPuttingWithoutGetting);
    expect(q.empty()).toBe(true);
    assertFull(q.full());
    await sleep(0.001);
    expect(q.empty()).toBe(true);
    assertFull(q.full());
    queueMicrotask(() => result.push(q.putNowait(10)));
    expect(p.ready()).toBe(false);
    await sleep(0.001);
    expect(result).toEqual([undefined]);
    expect(p.ready()).toBe(true);
    assertFull(q.full());
    expect(q.empty()).toBe(true);
    expect(p.value).toBe(10);
  });

  test(`${name}.test_send_last`, async () => {
    const q = new kind();
    const waiter = (): Promise<string> =>
      new Timeout(0.5).run(async () => {
        expect(await q.get()).toBe('hi2');
        return 'OK';
      });
    const p = spawn(waiter);
    await sleep(0.01);
    await q.put('hi2');
    await sleep(0.01);
    await joinBounded(p);
    expect(await p.get({ timeout: 0 })).toBe('OK');
  });
});

// TestSimpleQueue, and TestQueue (its subclass upstream).
describe.each([
  ['TestSimpleQueue', SimpleQueue],
  ['TestQueue', Queue],
])('%s', (name, kind) => {
  test(`${name}.test_get_nowait_simple`, async () => {
    const result: unknown[] = [];
    const q = new kind(1);
    await q.put(4);
    queueMicrotask(() => result.push(wrapErrors(Empty, () => q.getNowait())()));
    queueMicrotask(() => result.push(wrapErrors(Empty, () => q.getNowait())()));
    await sleep(0);
    expect(result.length).toBe(2);
    expect(result[0]).toBe(4);
    expect(result[1]).toBeInstanceOf(Empty);
  });

  // get_nowait must work from the mainloop
  test(`${name}.test_get_nowait_unlock`, async () => {
    const result: unknown[] = [];
    const q = new kind(1);
    const p = spawn(() => q.put(5));
    expect(q.empty()).toBe(true);
    await sleep(0);
    expect(q.full()).toBe(true);
    queueMicrotask(() => result.push(q.getNowait()));
    await sleep(0);
    expect(q.empty()).toBe(true);
    expect(result).toEqual([5]);
    expect(p.ready()).toBe(true);
    expect(p.dead).toBe(true);
    expect(q.empty()).toBe(true);
  });

  test(`${name}.test_send_first`, async () => {
    const q = new kind();
    await q.put('hi');
    expect(await q.peek()).toBe('hi');
    expect(await q.get()).toBe('hi');
  });

  test(`${name}.test_peek_empty`, async () => {
    const q = new kind();
    const g = spawn(async () => {
      await expect(q.peek({ timeout: 0.01 })).rejects.toBeInstanceOf(Empty);
    });
    await sleep(0.1);
    await joinBounded(g);
    await g;
  });

  test(`${name}.test_peek_multi_greenlet`, async () => {
    const q = new kind();
    const g = spawn(() => q.peek());
    g.start();
    await sleep(0);
    await q.put(1);
    await joinBounded(g);
    expect(g.exception).toBeUndefined();
    expect(await q.peek()).toBe(1);
  });

  test(`${name}.test_max_size`, async () => {
    const q = new kind(2);
    const results: string[] = [];
    const putter = async (): Promise<string> => {
      await q.put('a');
      results.push('a');
      await q.put('b');
      results.push('b');
      await q.put('c');
      results.push('c');
      return 'OK';
    };
    const p = spawn(putter);
    await sleep(0);
    expect(results).toEqual(['a', 'b']);
    expect(await q.get()).toBe('a');
    await sleep(0);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(await q.get()).toBe('b');
    expect(await q.get()).toBe('c');
    expect(await p.get({ timeout: 0 })).toBe('OK');
  });

  test(`${name}.test_multiple_waiters`, async () => {
    // tests that multiple waiters get their results back
    const q = new kind();
    const waiter = async (evt: AsyncResult<unknown>): Promise<void> => evt.set(await q.get());
    const sendings = ['1', '2', '3', '4'];
    const evts = sendings.map(() => new AsyncResult());
    for (const evt of evts) spawn(waiter, evt);
    await sleep(0.01); // get 'em all waiting
    const results = new Set<unknown>();
    const collectPendingResults = async (): Promise<number> => {
      for (const e of evts) {
        await new Timeout(0.001, false).run(async () => results.add(await e.get()));
      }
      return results.size;
    };
    await q.put(sendings[0]);
    expect(await collectPendingResults()).toBe(1);
    await q.put(sendings[1]);
    expect(await collectPendingResults()).toBe(2);
    await q.put(sendings[2]);
    await q.put(sendings[3]);
    expect(await collectPendingResults()).toBe(4);
  });

  test(`${name}.test_waiters_that_cancel`, async () => {
    const q = new kind();
    const evt = new AsyncResult();
    spawn(doReceive, q, evt);
    expect(await evt.get({ timeout: 10 })).toBe('timed out');
    await q.put('hi');
    expect(await q.get()).toBe('hi');
  });

  test(`${name}.test_senders_that_die`, async () => {
    const q = new kind();
    spawn(() => q.put('sent'));
    expect(await q.get({ timeout: 10 })).toBe('sent');
  });

  test(`${name}.test_two_waiters_one_dies`, async () => {
    const q = new kind();
    const waiter = async (evt: AsyncResult<unknown>): Promise<void> => evt.set(await q.get());
    const dyingEvt = new AsyncResult();
    const waitingEvt = new AsyncResult();
    spawn(doReceive, q, dyingEvt);
    spawn(waiter, waitingEvt);
    await sleep(0.1);
    await q.put('hi');
    expect(await dyingEvt.get({ timeout: 10 })).toBe('timed out');
    expect(await waitingEvt.get({ timeout: 10 })).toBe('hi');
  });

  test(`${name}.test_two_bogus_waiters`, async () => {
    const q = new kind();
    const e1 = new AsyncResult();
    const e2 = new AsyncResult();
    spawn(doReceive, q, e1);
    spawn(doReceive, q, e2);
    await sleep(0.1);
    await q.put('sent');
    expect(await e1.get({ timeout: 10 })).toBe('timed out');
    expect(await e2.get({ timeout: 10 })).toBe('timed out');
    expect(await q.get({ timeout: 10 })).toBe('sent');
  });
});

describe('TestChannel', () => {
  test('TestChannel.test_get_nowait_unlock_channel', async () => {
    // getNowait serves a waiting putter at once.
    const result: unknown[] = [];
    const q = new Channel();
    const p = spawn(() => q.put(5));
    expect(q.empty()).toBe(true);
    expect(q.full()).toBe(true);
    await sleep(0.001);
    expect(q.empty()).toBe(true);
    expect(q.full()).toBe(true);
    queueMicrotask(() => result.push(q.getNowait()));
    await sleep(0.001);
    expect(q.empty()).toBe(true);
    expect(q.full()).toBe(true);
    expect(result).toEqual([5]);
    expect(p.ready()).toBe(true);
    expect(p.dead).toBe(true);
    expect(q.empty()).toBe(true);
  });

  test('TestChannel.test_zero_max_size', async () => {
    const q = new Channel();
    const sender = async (evt: AsyncResult<unknown>): Promise<void> => {
      await q.put('hi');
      evt.set('done');
    };
    const receiver = async (evt: AsyncResult<unknown>): Promise<void> => {
      evt.set(await q.get());
    };
    const e1 = new AsyncResult();
    const e2 = new AsyncResult();
    const p1 = spawn(sender, e1);
    await sleep(0.001);
    expect(e1.ready()).toBe(false);
    const p2 = spawn(receiver, e2);
    expect(await e2.get({ timeout: 10 })).toBe('hi');
    expect(await e1.get({ timeout: 10 })).toBe('done');
    await new Timeout(0).run(() => joinall([p1, p2]));
  });

  test('TestChannel.test_send', async () => {
    const channel = new Channel();
    const events: unknown[] = [];
    const g = spawn(async () => {
      events.push(await channel.get());
      events.push(await channel.get());
    });
    events.push('sending');
    await channel.put('hello');
    events.push('sent hello');
    await channel.put('world');
    events.push('sent world');
    expect(events).toEqual(['sending', 'hello', 'sent hello', 'world', 'sent world']);
    await g.get({ timeout: 10 });
  });

  test('TestChannel.test_wait', async () => {
    const channel = new Channel();
    const events: unknown[] = [];
    const g = spawn(async () => {
      events.push('sending hello');
      await channel.put('hello');
      events.push('sending world');
      await channel.put('world');
      events.push('sent world');
    });
    events.push('waiting');
    events.push(await channel.get());
    events.push(await channel.get());
    expect(events).toEqual(['waiting', 'sending hello', 'hello', 'sending world', 'world']);
    await sleep(0);
    expect(events).toEqual([
      'waiting',
      'sending hello',
      'hello',
      'sending world',
      'world',
      'sent world',
    ]);
    await g.get({ timeout: 10 });
  });
});

describe('TestQueue', () => {
  test('TestQueue.test_task_done', async () => {
    const channel = new JoinableQueue();
    const X = {};
    spawn(() => channel.put(X));
    const result = await channel.get({ timeout: 10 });
    expect(result).toBe(X);
    expect(channel.unfinishedTasks).toBe(1);
    channel.taskDone();
    expect(channel.unfinishedTasks).toBe(0);
  });

  async function shutdownAllMethodsInOneThread(immediate: boolean): Promise<void> {
    const q = new Queue<string>();
    await q.put('L');
    q.putNowait('O');
    q.shutdown(immediate);
    await expect(q.put('E')).rejects.toBeInstanceOf(ShutDown);
    expect(() => q.putNowait('W')).toThrow(ShutDown);
    if (immediate) {
      await expect(q.get()).rejects.toBeInstanceOf(ShutDown);
      expect(() => q.getNowait()).toThrow(ShutDown);
      expect(() => q.taskDone()).toThrow(ValueError);
      expect(await q.join(10)).toBe(true);
    } else {
      expect('LO').toContain(await q.get());
      q.taskDone();
      expect('LO').toContain(await q.get());
      q.taskDone();
      expect(await q.join(10)).toBe(true);
      // on shutdown(immediate=false), an empty queue raises ShutDown
      await expect(q.get()).rejects.toBeInstanceOf(ShutDown);
      expect(() => q.getNowait()).toThrow(ShutDown);
      await expect(q.get(true, 1.0)).rejects.toBeInstanceOf(ShutDown);
    }
  }

  test('TestQueue.test_shutdown_all_methods_in_one_thread', () =>
    shutdownAllMethodsInOneThread(false));

  test('TestQueue.test_shutdown_immediate_all_methods_in_one_thread', () =>
    shutdownAllMethodsInOneThread(true));

  test('TestQueue.test_issue_45', async () => {
    // join() resolves at once if no jobs were put into the queue
    const q = new Queue();
    expect(await q.join(0)).toBe(true);
  });
});

const kinds: Array<[string, Kind]> = [
  ['', SimpleQueue],
  ['JoinableQueue', Queue],
  ['LifoQueue', LifoQueue],
  ['PriorityQueue', PriorityQueue],
  ['Channel', Channel],
];

describe.each(kinds)('TestGetInterrupt%s', (suffix, kind) => {
  const name = `TestGetInterrupt${suffix}`;
  genericGetTests(name, (timeout) => new kind().get({ timeout }), Empty);

  test(`${name}.test_weak_reference`, () => {
    const one = new kind();
    expect(new WeakRef(one).deref()).toBe(one);
  });
});

describe.each(kinds)('TestPutInterrupt%s', (suffix, kind) => {
  const name = `TestPutInterrupt${suffix}`;
  const makeOne = (): AnyQueue => (kind === Channel ? new Channel() : new kind(1));
  genericGetTests(
    name,
    async (timeout) => {
      const queue = makeOne();
      while (!queue.full()) await queue.put(1);
      return queue.put(2, { timeout });
    },
    Full,
  );
});

describe('the outer Timeout of a blocked put is not lost', () => {
  test('TestPutInterrupt.test_outer_timeout_is_not_lost (Channel, via inGreenlet)', async () => {
    await inGreenlet(async () => {
      const t = Timeout.startNew(0.001);
      try {
        await expect(new Channel().put(1)).rejects.toBe(t);
      } finally {
        t.cancel();
      }
    });
  });
});
