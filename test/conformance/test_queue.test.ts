// Port of CPython's Lib/test/test_queue.py to forkful's queues, with forkful
// Threads as the producers and consumers.
//
// queue.Queue -> forkful JoinableQueue (forkful has no separate thread-only
// queue: its multiprocessing queues serve threads too, and Queue with
// task_done/join is JoinableQueue). queue.SimpleQueue (put/get with
// block and timeout, qsize) -> forkful Queue (forkful's SimpleQueue is
// multiprocessing's, without timeouts). Blocking calls use the Sync forms.
// Queue.shutdown() and ShutDown (Python 3.13): `q.shutdown(immediate =
// false)`, `q.isShutdown`, `q.unfinishedTasks`, `ShutDown` from the root.
import * as errors from '../../lib/core/errors';
import { Empty, Full, ValueError } from '../../lib/core/errors';
import { Event, JoinableQueue, Lock, Queue } from '../../lib/multiprocessing';
import { Thread } from '../../lib/threading';
import {
  Bunch,
  SHORT_TIMEOUT,
  ThreadHelpers,
  api,
  expectNoStrays,
  listItems,
  sharedList,
} from './helpers/common';

jest.setTimeout(120000);

afterEach(() => expectNoStrays());

const QUEUE_SIZE = 5;

function qfull(q: Queue, maxsize: number): boolean {
  return maxsize > 0 && q.qsize() === maxsize;
}

/** _TriggerThread: sleeps 0.1 s, sets its started flag, then calls
 * q.getSync() ('get') or q.putSync(arg) ('put'). */
function triggerThread(q: Queue, op: 'get' | 'put', arg?: unknown) {
  const started = new Int32Array(new SharedArrayBuffer(4));
  const thread = new Thread({
    target: (qq: Queue, s: Int32Array, o: string, a: unknown) => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      Atomics.store(s, 0, 1);
      if (o === 'get') qq.getSync();
      else qq.putSync(a);
    },
    args: [q, started, op, arg],
  });
  return { thread, started };
}

/** BlockingTestMixin.do_blocking_test: `block` must block until the
 * trigger thread has acted. */
async function doBlockingTest<T>(
  block: () => T,
  q: Queue,
  op: 'get' | 'put',
  arg?: unknown,
): Promise<T> {
  const { thread, started } = triggerThread(q, op, arg);
  thread.start();
  try {
    const result = block();
    if (!Atomics.load(started, 0)) throw new Error('blocking function appeared not to block');
    return result;
  } finally {
    await thread.join(SHORT_TIMEOUT);
    expect(thread.isAlive()).toBe(false);
  }
}

describe('QueueTest (queue.Queue -> JoinableQueue)', () => {
  async function basicQueueTest(q: JoinableQueue): Promise<void> {
    if (q.qsize()) throw new Error('Call this function with an empty queue');
    expect(q.empty()).toBe(true);
    expect(q.full()).toBe(false);
    q.putSync(111);
    q.putSync(333);
    q.putSync(222);
    expect([q.getSync(), q.getSync(), q.getSync()]).toEqual([111, 333, 222]);
    for (let i = 0; i < QUEUE_SIZE - 1; i++) {
      q.putSync(i);
      expect(q.qsize()).toBeTruthy();
    }
    expect(qfull(q, QUEUE_SIZE)).toBe(false);
    const last = 2 * QUEUE_SIZE;
    const full = 3 * 2 * QUEUE_SIZE;
    q.putSync(last);
    expect(qfull(q, QUEUE_SIZE)).toBe(true);
    expect(q.empty()).toBe(false);
    expect(q.full()).toBe(true);
    expect(() => q.putSync(full, { block: false })).toThrow(Full);
    expect(() => q.putSync(full, { timeout: 0.01 })).toThrow(Full);
    await doBlockingTest(() => q.putSync(full), q, 'get');
    await doBlockingTest(() => q.putSync(full, true, 10), q, 'get');
    for (let i = 0; i < QUEUE_SIZE; i++) q.getSync();
    expect(q.qsize()).toBe(0);
    expect(() => q.getSync({ block: false })).toThrow(Empty);
    expect(() => q.getSync({ timeout: 0.01 })).toThrow(Empty);
    await doBlockingTest(() => q.getSync(), q, 'put', 'empty');
    await doBlockingTest(() => q.getSync(true, 10), q, 'put', 'empty');
  }

  const worker = (_h: ThreadHelpers, q: JoinableQueue, cum: Int32Array, cumlock: Lock) => {
    for (;;) {
      const x = q.getSync({ timeout: 30 }) as number;
      if (x < 0) {
        q.taskDone();
        return;
      }
      cumlock.withLock(() => {
        cum[0] += x;
      });
      q.taskDone();
    }
  };

  async function queueJoinTest(q: JoinableQueue): Promise<void> {
    const cum = new Int32Array(new SharedArrayBuffer(4));
    const cumlock = new Lock();
    const threads = await Bunch.start(worker, [q, cum, cumlock], 2);
    try {
      for (let i = 0; i < 100; i++) q.putSync(i);
      await q.join();
      expect(cum[0]).toBe((99 * 100) / 2);
      for (let i = 0; i < 2; i++) q.putSync(-1);
      await q.join(); // verify that you can join twice
    } finally {
      await threads.finish();
    }
  }

  test('BaseQueueTestMixin.test_queue_task_done', () => {
    const q = new JoinableQueue();
    expect(() => q.taskDone()).toThrow(ValueError);
  });

  test('BaseQueueTestMixin.test_queue_join', async () => {
    const q = new JoinableQueue();
    await queueJoinTest(q);
    await queueJoinTest(q);
    expect(() => q.taskDone()).toThrow(ValueError);
  });

  // joinSync() blocks the event loop: it writes what this process's feeder
  // still holds first (Python's feeder thread runs on meanwhile). Run in a
  // Process: bounded.
  test('BaseQueueTestMixin.test_queue_join (joinSync)', async () => {
    const { Process } = await import('../../lib/multiprocessing');
    const q = new JoinableQueue();
    const cum = new Int32Array(new SharedArrayBuffer(4));
    const cumlock = new Lock();
    const threads = await Bunch.start(worker, [q, cum, cumlock], 2);
    const p = new Process({
      target: (qq: JoinableQueue) => {
        for (let i = 0; i < 100; i++) qq.putSync(i);
        qq.joinSync();
      },
      args: [q],
    });
    try {
      p.start();
      await p.join(10);
      expect(p.exitcode).toBe(0);
      expect(cum[0]).toBe((99 * 100) / 2);
    } finally {
      if (p.exitcode === null) p.kill();
      await p.join(10);
      for (let i = 0; i < 2; i++) q.putSync(-1);
      await threads.finish();
    }
  });

  // empty(), getNowait() and get({ block: false }) see what this thread put
  // in the same event-loop turn (queue.Queue has no delay).
  test('BaseQueueTestMixin.test_basic', async () => {
    const q = new JoinableQueue(QUEUE_SIZE);
    await basicQueueTest(q);
    await basicQueueTest(q);
  });

  // Documented difference (docs/architecture.md, Timeouts): forkful's
  // queues are multiprocessing's, whose negative timeout reads as 0
  // (SemLock.acquire), not queue.Queue's ValueError.
  test('BaseQueueTestMixin.test_negative_timeout_raises_exception', async () => {
    const q = new JoinableQueue(1);
    expect(() => q.getSync({ block: true, timeout: -1 })).toThrow(Empty);
    await expect(q.get({ block: true, timeout: -1 })).rejects.toThrow(Empty);
    q.putSync(1, { timeout: -1 });
    expect(() => q.putSync(2, { timeout: -1 })).toThrow(Full);
    await expect(q.put(2, { timeout: -1 })).rejects.toThrow(Full);
  });

  // As test_basic: getNowait() sees the items putNowait() just queued.
  test('BaseQueueTestMixin.test_nowait', () => {
    const q = new JoinableQueue(QUEUE_SIZE);
    for (let i = 0; i < QUEUE_SIZE; i++) q.putNowait(1);
    expect(() => q.putNowait(1)).toThrow(Full);
    for (let i = 0; i < QUEUE_SIZE; i++) q.getNowait();
    expect(() => q.getNowait()).toThrow(Empty);
  });

  test('BaseQueueTestMixin.test_shrinking_queue', () => {
    const q = new JoinableQueue(3);
    q.putSync(1);
    q.putSync(2);
    q.putSync(3);
    expect(() => q.putNowait(4)).toThrow(Full);
    expect(q.qsize()).toBe(3);
    (q as unknown as { maxsize: number }).maxsize = 2; // shrink the queue
    expect(() => q.putNowait(4)).toThrow(Full);
  });

  // ---- shutdown (Python 3.13) -------------------------------------------

  interface Shutdownable {
    shutdown(immediate?: boolean): void;
    readonly isShutdown: boolean;
    readonly unfinishedTasks: number;
  }
  type ErrorClass = new (...args: never[]) => Error;

  /** The shutdown API, looked up before any thread starts. */
  function shutdownApi(q: JoinableQueue): { s: Shutdownable; ShutDown: ErrorClass } {
    const ShutDown = api<ErrorClass>(errors, 'ShutDown');
    api(q, 'shutdown');
    return { s: q as unknown as Shutdownable, ShutDown };
  }

  test('BaseQueueTestMixin.test_shutdown_empty', () => {
    const q = new JoinableQueue();
    const { s, ShutDown } = shutdownApi(q);
    s.shutdown();
    expect(() => q.putSync('data')).toThrow(ShutDown);
    expect(() => q.getSync()).toThrow(ShutDown);
  });

  test('BaseQueueTestMixin.test_shutdown_nonempty', () => {
    const q = new JoinableQueue();
    const { s, ShutDown } = shutdownApi(q);
    q.putSync('data');
    s.shutdown();
    q.getSync();
    expect(() => q.getSync()).toThrow(ShutDown);
  });

  test('BaseQueueTestMixin.test_shutdown_immediate', () => {
    const q = new JoinableQueue();
    const { s, ShutDown } = shutdownApi(q);
    q.putSync('data');
    s.shutdown(true);
    expect(() => q.getSync()).toThrow(ShutDown);
  });

  test('BaseQueueTestMixin.test_shutdown_allowed_transitions', () => {
    const q = new JoinableQueue();
    const { s } = shutdownApi(q);
    expect(s.isShutdown).toBe(false);
    s.shutdown();
    expect(s.isShutdown).toBe(true);
    s.shutdown(true);
    expect(s.isShutdown).toBe(true);
    s.shutdown(false);
  });

  async function shutdownAllMethodsInOneThread(immediate: boolean): Promise<void> {
    const q = new JoinableQueue(2);
    const { s, ShutDown } = shutdownApi(q);
    q.putSync('L');
    q.putNowait('O');
    s.shutdown(immediate);
    expect(() => q.putSync('E')).toThrow(ShutDown);
    expect(() => q.putNowait('W')).toThrow(ShutDown);
    if (immediate) {
      expect(() => q.getSync()).toThrow(ShutDown);
      expect(() => q.getNowait()).toThrow(ShutDown);
      expect(() => q.taskDone()).toThrow(ValueError);
      await q.join();
    } else {
      expect('LO').toContain(q.getSync());
      q.taskDone();
      expect('LO').toContain(q.getSync());
      q.taskDone();
      await q.join();
      expect(() => q.getSync()).toThrow(ShutDown);
      expect(() => q.getNowait()).toThrow(ShutDown);
      expect(() => q.getSync(true, 1.0)).toThrow(ShutDown);
    }
  }

  test('BaseQueueTestMixin.test_shutdown_all_methods_in_one_thread', () =>
    shutdownAllMethodsInOneThread(false));

  test('BaseQueueTestMixin.test_shutdown_immediate_all_methods_in_one_thread', () =>
    shutdownAllMethodsInOneThread(true));

  /** The thread side of the many-threads shutdown cases. */
  const manyThreadsRole = (
    h: ThreadHelpers,
    role: string,
    q: JoinableQueue & Shutdownable,
    results: Int32Array,
    barrierStart: import('../../lib/threading').Barrier,
    eventShutdown: Event,
    n: number,
    whenShutdown: number,
    immediate: boolean,
  ) => {
    const { ShutDown, Empty: EmptyError } = h.require('forkful');
    if (role === 'write') {
      for (let i = 0; i < Math.floor(whenShutdown / 2); i++) q.putSync([i, 'LOYD']);
      barrierStart.wait();
      for (let i = Math.floor(whenShutdown / 2); i < n; i++) {
        try {
          q.putSync([i, 'YDLO']);
        } catch (err) {
          if (!(err instanceof ShutDown)) throw err;
          h.append(results, 0);
          break;
        }
        if (i === whenShutdown && !eventShutdown.isSet()) {
          eventShutdown.set();
          h.append(results, 1);
        }
      }
    } else if (role === 'read') {
      q.getSync(true);
      q.taskDone();
      barrierStart.wait();
      for (;;) {
        try {
          q.getSync(false);
          q.taskDone();
        } catch (err) {
          if (err instanceof ShutDown) {
            h.append(results, 1);
            break;
          }
          if (!(err instanceof EmptyError)) throw err;
        }
      }
    } else if (role === 'shutdown') {
      eventShutdown.wait();
      q.shutdown(immediate);
      h.append(results, q.qsize() === 0 ? 1 : 0);
    } else {
      barrierStart.wait();
      q.joinSync();
    }
  };

  async function shutdownAllMethodsInManyThreads(immediate: boolean): Promise<void> {
    const { Barrier } = await import('../../lib/threading');
    const q = new JoinableQueue();
    shutdownApi(q);
    const resPuts = sharedList(64);
    const resGets = sharedList(64);
    const resShutdown = sharedList(64);
    const writeThreads = 4;
    const readThreads = 6;
    const joinThreads = 2;
    const nbMsgs = 1024 * 64;
    const nbMsgsW = nbMsgs / writeThreads;
    const whenExecShutdown = nbMsgsW / 2;
    let nparties = writeThreads + readThreads;
    if (immediate) nparties += joinThreads;
    const barrierStart = new Barrier(nparties);
    const evExecShutdown = new Event();
    const common = [barrierStart, evExecShutdown, nbMsgsW, whenExecShutdown, immediate];
    const bunches = [
      await Bunch.start(manyThreadsRole, ['write', q, resPuts, ...common], writeThreads),
      await Bunch.start(manyThreadsRole, ['read', q, resGets, ...common], readThreads),
      await Bunch.start(manyThreadsRole, ['shutdown', q, resShutdown, ...common], 1),
    ];
    if (immediate) {
      bunches.push(await Bunch.start(manyThreadsRole, ['join', q, sharedList(), ...common], 2));
    }
    for (const b of bunches) await b.finish();
    expect(listItems(resPuts)).toContain(1);
    expect(listItems(resGets).filter((x) => x === 1).length).toBe(readThreads);
    if (immediate) {
      expect(listItems(resShutdown)).toEqual([1]);
      expect(q.empty()).toBe(true);
    }
  }

  test('BaseQueueTestMixin.test_shutdown_all_methods_in_many_threads', () =>
    shutdownAllMethodsInManyThreads(false));

  test('BaseQueueTestMixin.test_shutdown_immediate_all_methods_in_many_threads', () =>
    shutdownAllMethodsInManyThreads(true));

  /** _get, _get_shutdown, _get_task_done, _put, _put_shutdown, _join,
   * _join_shutdown: results get 1 for True, 0 for False. */
  const role = (
    h: ThreadHelpers,
    kind: string,
    q: JoinableQueue,
    go: Event,
    results: Int32Array,
    msg: unknown,
  ) => {
    const { ShutDown } = h.require('forkful');
    const shutdown = kind.endsWith('_shutdown');
    const attempt = (fn: () => void, onOk: number, onShutDown: number) => {
      try {
        fn();
        h.append(results, onOk);
      } catch (err) {
        if (!(err instanceof ShutDown)) throw err;
        h.append(results, onShutDown);
      }
    };
    if (kind.startsWith('get_task_done')) {
      go.wait();
      attempt(() => (q.getSync(), q.taskDone()), 1, 0);
    } else if (kind.startsWith('get')) {
      go.wait();
      attempt(() => q.getSync(), shutdown ? 0 : 1, shutdown ? 1 : 0);
    } else if (kind.startsWith('put')) {
      go.wait();
      attempt(() => q.putSync(msg), shutdown ? 0 : 1, shutdown ? 1 : 0);
    } else {
      attempt(() => q.joinSync(), shutdown ? 0 : 1, shutdown ? 1 : 0);
    }
  };

  async function runRoles(
    q: JoinableQueue,
    go: Event,
    results: Int32Array,
    roles: Array<[string, unknown?]>,
  ): Promise<Bunch[]> {
    const bunches: Bunch[] = [];
    for (const [kind, msg] of roles) {
      bunches.push(await Bunch.start(role, [kind, q, go, results, msg ?? null], 1));
    }
    return bunches;
  }

  async function shutdownGet(immediate: boolean): Promise<void> {
    const q = new JoinableQueue(2);
    const { s } = shutdownApi(q);
    const results = sharedList();
    const go = new Event();
    q.putSync('Y');
    q.putSync('D');
    const roles: Array<[string]> = immediate
      ? [['get_shutdown'], ['get_shutdown']]
      : [['get'], ['get'], ['get']];
    const bunches = await runRoles(q, go, results, roles);
    s.shutdown(immediate);
    go.set();
    for (const b of bunches) await b.finish();
    if (immediate) expect(listItems(results)).toEqual([1, 1]);
    else expect(listItems(results).sort()).toEqual([0, 1, 1]);
  }

  test('BaseQueueTestMixin.test_shutdown_get', () => shutdownGet(false));
  test('BaseQueueTestMixin.test_shutdown_immediate_get', () => shutdownGet(true));

  async function shutdownPut(): Promise<void> {
    const q = new JoinableQueue(2);
    const { s } = shutdownApi(q);
    const results = sharedList();
    const go = new Event();
    q.putSync('Y');
    q.putSync('D');
    const bunches = await runRoles(q, go, results, [
      ['put_shutdown', 'E'],
      ['put_shutdown', 'W'],
    ]);
    s.shutdown();
    go.set();
    for (const b of bunches) await b.finish();
    expect(listItems(results)).toEqual([1, 1]);
  }

  test('BaseQueueTestMixin.test_shutdown_put', () => shutdownPut());
  test('BaseQueueTestMixin.test_shutdown_immediate_put', () => shutdownPut());

  async function shutdownJoin(immediate: boolean): Promise<void> {
    const q = new JoinableQueue();
    const { s } = shutdownApi(q);
    const results = sharedList();
    q.putSync('Y');
    const go = new Event();
    const nb = q.qsize();
    const bunches = await runRoles(q, go, results, [['join'], ['join']]);
    if (!immediate) {
      const res = sharedList();
      for (let i = 0; i < nb; i++) {
        bunches.push(await Bunch.start(role, ['get_task_done', q, go, res, null], 1));
      }
    }
    s.shutdown(immediate);
    go.set();
    for (const b of bunches) await b.finish();
    expect(listItems(results)).toEqual([1, 1]);
  }

  test('BaseQueueTestMixin.test_shutdown_immediate_join', () => shutdownJoin(true));
  test('BaseQueueTestMixin.test_shutdown_join', () => shutdownJoin(false));

  async function shutdownPutJoin(immediate: boolean): Promise<void> {
    const q = new JoinableQueue(2);
    const { s, ShutDown } = shutdownApi(q);
    const results = sharedList();
    const go = new Event();
    q.putSync('Y');
    const bunches = await runRoles(q, go, results, [['put_shutdown', 'E'], ['join']]);
    expect(s.unfinishedTasks).toBe(1);
    s.shutdown(immediate);
    go.set();
    if (immediate) {
      expect(() => q.getNowait()).toThrow(ShutDown);
    } else {
      expect(q.getSync()).toBe('Y');
      q.taskDone();
    }
    for (const b of bunches) await b.finish();
    expect(listItems(results)).toEqual([1, 1]);
  }

  test('BaseQueueTestMixin.test_shutdown_immediate_put_join', () => shutdownPutJoin(true));
  test('BaseQueueTestMixin.test_shutdown_put_join', () => shutdownPutJoin(false));

  test('BaseQueueTestMixin.test_shutdown_get_task_done_join', async () => {
    const q = new JoinableQueue(2);
    const { s } = shutdownApi(q);
    const results = sharedList();
    const go = new Event();
    q.putSync('Y');
    q.putSync('D');
    expect(s.unfinishedTasks).toBe(q.qsize());
    const bunches = await runRoles(q, go, results, [
      ['get_task_done'],
      ['get_task_done'],
      ['join'],
      ['join'],
    ]);
    go.set();
    s.shutdown(false);
    for (const b of bunches) await b.finish();
    expect(listItems(results)).toEqual([1, 1, 1, 1]);
  });

  test('BaseQueueTestMixin.test_shutdown_pending_get', async () => {
    const q = new JoinableQueue();
    const { s, ShutDown } = shutdownApi(q);
    const result = new Int32Array(new SharedArrayBuffer(8)); // [count, isShutDown]
    const getThread = new Thread({
      target: (qq: JoinableQueue, r: Int32Array) => {
        try {
          qq.getSync();
        } catch (err) {
          r[1] = err instanceof require('forkful').ShutDown ? 1 : 2;
        }
        Atomics.add(r, 0, 1);
      },
      args: [q, result],
    });
    getThread.start();
    s.shutdown(false);
    await getThread.join(10.0);
    expect(getThread.isAlive()).toBe(false);
    expect(result[0]).toBe(1);
    expect(result[1]).toBe(1);
    expect(ShutDown).toBeDefined();
  });
});

describe('SimpleQueueTest (queue.SimpleQueue -> Queue)', () => {
  /** feed: takes the next input (a shared counter over range(n)), puts it,
   * sometimes sleeps; at the end puts the sentinel (null). */
  const feed = (h: ThreadHelpers, q: Queue, seq: Int32Array, n: number) => {
    for (;;) {
      const val = Atomics.add(seq, 0, 1);
      if (val >= n) {
        q.putSync(null);
        return;
      }
      q.putSync(val);
      if (Math.random() > 0.5) h.sleep(Math.random() * 1e-3);
    }
  };
  // Every get is bounded (a lost item would otherwise hold the thread forever).
  const consume = (h: ThreadHelpers, q: Queue, results: Int32Array) => {
    for (;;) {
      const val = q.getSync({ timeout: 10 });
      if (val === null) return;
      h.append(results, val as number);
    }
  };
  const consumeNonblock = (h: ThreadHelpers, q: Queue, results: Int32Array) => {
    const { Empty: EmptyError } = h.require('forkful');
    const end = Date.now() + 10000;
    for (;;) {
      let val: unknown;
      for (;;) {
        try {
          val = q.getSync({ block: false });
          break;
        } catch (err) {
          if (!(err instanceof EmptyError) || Date.now() > end) throw err;
          h.sleep(1e-5);
        }
      }
      if (val === null) return;
      h.append(results, val as number);
    }
  };
  const consumeTimeout = (h: ThreadHelpers, q: Queue, results: Int32Array) => {
    const { Empty: EmptyError } = h.require('forkful');
    const end = Date.now() + 10000;
    for (;;) {
      let val: unknown;
      for (;;) {
        try {
          val = q.getSync({ timeout: 1e-5 });
          break;
        } catch (err) {
          if (!(err instanceof EmptyError) || Date.now() > end) throw err;
        }
      }
      if (val === null) return;
      h.append(results, val as number);
    }
  };

  async function runThreads(
    nThreads: number,
    q: Queue,
    n: number,
    consumeFunc: typeof consume,
  ): Promise<number[]> {
    const results = sharedList(n + 16);
    const seq = new Int32Array(new SharedArrayBuffer(4));
    const feeders = await Bunch.start(feed, [q, seq, n], nThreads);
    const consumers = await Bunch.start(consumeFunc, [q, results], nThreads);
    const outcome = await Promise.allSettled([feeders.finish(), consumers.finish()]);
    expect(outcome.filter((o) => o.status === 'rejected')).toEqual([]);
    expect(q.empty()).toBe(true);
    expect(q.qsize()).toBe(0);
    return listItems(results);
  }

  // As BaseQueueTestMixin.test_basic: no delay between put and get.
  test('BaseSimpleQueueTest.test_basic', () => {
    const q = new Queue();
    expect(q.empty()).toBe(true);
    expect(q.qsize()).toBe(0);
    q.putSync(1);
    expect(q.empty()).toBe(false);
    expect(q.qsize()).toBe(1);
    q.putSync(2);
    q.putNowait(3);
    q.putSync(4);
    expect(q.empty()).toBe(false);
    expect(q.qsize()).toBe(4);
    expect(q.getSync()).toBe(1);
    expect(q.qsize()).toBe(3);
    expect(q.getNowait()).toBe(2);
    expect(q.qsize()).toBe(2);
    expect(q.getSync({ block: false })).toBe(3);
    expect(q.empty()).toBe(false);
    expect(q.qsize()).toBe(1);
    expect(q.getSync({ timeout: 0.1 })).toBe(4);
    expect(q.empty()).toBe(true);
    expect(q.qsize()).toBe(0);
    expect(() => q.getSync({ block: false })).toThrow(Empty);
    expect(() => q.getSync({ timeout: 1e-3 })).toThrow(Empty);
    expect(() => q.getNowait()).toThrow(Empty);
    expect(q.empty()).toBe(true);
    expect(q.qsize()).toBe(0);
  });

  // Documented difference: as BaseQueueTestMixin's (a negative timeout is 0).
  test('BaseSimpleQueueTest.test_negative_timeout_raises_exception', () => {
    const q = new Queue();
    expect(() => q.getSync({ timeout: -1 })).toThrow(Empty);
  });

  test('BaseSimpleQueueTest.test_order', async () => {
    const q = new Queue();
    const inputs = Array.from({ length: 100 }, (_, i) => i);
    expect(await runThreads(1, q, 100, consume)).toEqual(inputs);
  });

  test('BaseSimpleQueueTest.test_many_threads', async () => {
    const q = new Queue();
    const results = await runThreads(50, q, 10000, consume);
    expect(results.sort((a, b) => a - b)).toEqual(Array.from({ length: 10000 }, (_, i) => i));
  });

  test('BaseSimpleQueueTest.test_many_threads_nonblock', async () => {
    const q = new Queue();
    const results = await runThreads(50, q, 10000, consumeNonblock);
    expect(results.sort((a, b) => a - b)).toEqual(Array.from({ length: 10000 }, (_, i) => i));
  });

  test('BaseSimpleQueueTest.test_many_threads_timeout', async () => {
    const q = new Queue();
    const results = await runThreads(50, q, 1000, consumeTimeout);
    expect(results.sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });
});
