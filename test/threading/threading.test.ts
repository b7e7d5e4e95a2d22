// forkful/threading in the test process: Threads are Workers, so they run
// here safely (no fork). Targets sent by source must be self-contained: they
// report back through SharedArrayBuffers (shared, not copied) and forkful's
// shareable objects.
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import {
  Barrier,
  ExceptHookArgs,
  Lock,
  Thread,
  Timer,
  activeCount,
  currentThread,
  enumerate,
  getIdent,
  getNativeId,
  local,
  mainThread,
  setExcepthook,
  stackSize,
} from '../../lib/threading';
import { RuntimeError, SerializationError, ValueError } from '../../lib/core/errors';

function cells(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}

/** Collects what reaches threading.excepthook during a test. */
function captureExceptions(): { seen: ExceptHookArgs[]; restore(): void } {
  const seen: ExceptHookArgs[] = [];
  const previous = setExcepthook((args) => seen.push(args));
  return { seen, restore: () => setExcepthook(previous) };
}

/** Blocks (bounded) until cell `i` holds `value`; fails with a message. */
function waitFor(c: Int32Array, i: number, value: number, what: string): void {
  const deadline = Date.now() + 15000;
  while (Atomics.load(c, i) !== value) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    Atomics.wait(c, i, Atomics.load(c, i), 50);
  }
}

function osThreadCount(): number | null {
  try {
    return fs.readdirSync('/proc/self/task').length;
  } catch {
    return null;
  }
}

/** Compares thread lists by identity (Thread objects hold Workers, which
 * jest's deep equality cannot walk). */
function same(actual: Thread[], expected: Thread[]): boolean {
  return actual.length === expected.length && actual.every((t, i) => t === expected[i]);
}

afterEach(() => {
  expect(enumerate().map(String)).toEqual([String(mainThread())]);
});

describe('Thread', () => {
  test('two threads meet while both run (real parallelism)', async () => {
    // c[0] counts arrivals; each thread waits (bounded) until both arrived.
    const out = cells(3);
    const meet = (c: Int32Array, i: number) => {
      Atomics.add(c, 0, 1);
      Atomics.notify(c, 0);
      const deadline = Date.now() + 20000;
      while (Atomics.load(c, 0) < 2 && Date.now() < deadline) {
        Atomics.wait(c, 0, Atomics.load(c, 0), 100);
      }
      c[1 + i] = Atomics.load(c, 0) >= 2 ? 1 : 2;
    };
    const threads = [0, 1].map((i) => new Thread({ target: meet, args: [out, i] }));
    for (const t of threads) t.start();
    for (const t of threads) await t.join(30);
    expect(Array.from(out)).toEqual([2, 1, 1]);
    expect(threads.map((t) => t.isAlive())).toEqual([false, false]);
  });

  test('two threads meet at a Barrier while both run (the Barrier passes by handle)', async () => {
    const barrier = new Barrier(3);
    const out = cells(2);
    const { seen, restore } = captureExceptions();
    const meet = (b: { wait(t: number): number }, c: Int32Array, i: number) => {
      b.wait(20); // raises BrokenBarrierError after 20 s unless all three meet
      Atomics.store(c, i, 1);
    };
    const threads = [0, 1].map((i) => new Thread({ target: meet, args: [barrier, out, i] }));
    try {
      for (const t of threads) t.start();
      barrier.wait(20); // the third party: passes only while both threads wait
      for (const t of threads) await t.join(30);
    } finally {
      restore();
    }
    expect(seen.map((a) => String(a.excValue))).toEqual([]);
    expect(Array.from(out)).toEqual([1, 1]);
  });

  test('a forkful Lock passes by handle: the thread sees the same lock', async () => {
    const lock = new Lock();
    const out = cells(3);
    const probe = (
      l: { acquire(b?: boolean, t?: number): boolean; release(): void },
      c: Int32Array,
    ) => {
      c[0] = l.acquire(false) ? 1 : 2; // held by the main thread: 2
      Atomics.store(c, 2, 1);
      Atomics.notify(c, 2);
      c[1] = l.acquire(true, 20) ? 1 : 2; // after main released it: 1
      l.release();
    };
    lock.acquire();
    const t = new Thread({ target: probe, args: [lock, out] });
    t.start();
    try {
      waitFor(out, 2, 1, 'the thread to try the lock');
    } finally {
      lock.release();
    }
    await t.join(20);
    expect(Array.from(out)).toEqual([2, 1, 1]);
    expect(lock.locked()).toBe(false);
  });

  test('names, idents and nativeIds are distinct and match inside the thread', async () => {
    const out = cells(3 * 3);
    const report = (c: Int32Array, i: number) => {
      const { currentThread, getIdent, getNativeId } = require('forkful/threading');
      const me = currentThread();
      c[3 * i] = me.ident;
      c[3 * i + 1] = me.nativeId;
      c[3 * i + 2] =
        me.name === `Worker-${i}` && getIdent() === me.ident && getNativeId() === me.nativeId
          ? 1
          : 0;
    };
    const threads = [0, 1, 2].map(
      (i) => new Thread({ target: report, args: [out, i], name: `Worker-${i}` }),
    );
    const unnamed = new Thread({ target: () => undefined });
    expect(unnamed.name).toMatch(/^Thread-\d+ \(target\)$/); // Python: 'Thread-N (f)'
    expect(threads[0].ident).toBeNull();
    expect(threads[0].nativeId).toBeNull();
    for (const t of threads) t.start();
    for (const t of threads) await t.join(20);
    const idents = threads.map((t) => t.ident);
    const nativeIds = threads.map((t) => t.nativeId);
    expect(threads.map((t, i) => [out[3 * i], out[3 * i + 1], out[3 * i + 2]])).toEqual(
      threads.map((t) => [t.ident, t.nativeId, 1]),
    );
    expect(new Set([...idents, getIdent()]).size).toBe(4);
    expect(new Set([...nativeIds, getNativeId()]).size).toBe(4);
    expect(nativeIds.every((id) => typeof id === 'number' && id > 0)).toBe(true);
    expect(new Set(threads.map((t) => t.name)).size).toBe(3);
    expect(currentThread().name).toBe('MainThread');
    expect(currentThread()).toBe(mainThread());
    expect(mainThread().ident).toBe(0);
  });

  test('join(timeout) and joinSync(timeout) return while the thread still runs', async () => {
    const gate = cells(2);
    const hold = (g: Int32Array) => {
      Atomics.store(g, 1, 1);
      while (Atomics.load(g, 0) === 0) Atomics.wait(g, 0, 0, 1000);
    };
    const t = new Thread({ target: hold, args: [gate] });
    t.start();
    try {
      waitFor(gate, 1, 1, 'the thread to start');
      await t.join(0.05);
      expect(t.isAlive()).toBe(true);
      t.joinSync(0.05);
      expect(t.isAlive()).toBe(true);
      expect(enumerate().includes(t)).toBe(true);
    } finally {
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
    }
    await t.join(20);
    expect(t.isAlive()).toBe(false);
  });

  test('joinSync waits for the end with a real blocking wait', () => {
    const out = cells(1);
    const t = new Thread({
      target: (c: Int32Array) => {
        Atomics.wait(c, 0, 0, 100); // still running when joinSync starts
        c[0] = 42;
      },
      args: [out],
    });
    t.start();
    t.joinSync(20);
    expect(t.isAlive()).toBe(false);
    expect(out[0]).toBe(42);
  });

  test('exceptions reach excepthook (join and joinSync) and join resolves', async () => {
    const { seen, restore } = captureExceptions();
    try {
      const t1 = new Thread({
        name: 'Failing-1',
        target: () => {
          const { ValueError } = require('forkful');
          throw new ValueError('bad value in thread');
        },
      });
      t1.start();
      await t1.join(20);
      expect(t1.isAlive()).toBe(false);
      expect(seen).toHaveLength(1);
      expect(seen[0].thread).toBe(t1);
      expect(seen[0].excType).toBe(ValueError);
      expect(seen[0].excValue).toBeInstanceOf(ValueError);
      expect((seen[0].excValue as Error).message).toBe('bad value in thread');
      expect((seen[0].excValue as Error).name).toBe('ValueError');
      expect(seen[0].excTraceback).toContain('bad value in thread');

      const t2 = new Thread({
        name: 'Failing-2',
        target: async () => {
          await new Promise((resolve) => setTimeout(resolve, 10));
          throw Object.assign(new TypeError('async failure'), { code: 'E_CUSTOM' });
        },
      });
      t2.start();
      t2.joinSync(20);
      // The report is handled before joinSync returns.
      expect(seen).toHaveLength(2);
      expect(seen[1].thread).toBe(t2);
      expect((seen[1].excValue as { code?: string }).code).toBe('E_CUSTOM');
      expect((seen[1].excValue as Error).name).toBe('TypeError');
      await t2.join(20);
      expect(seen).toHaveLength(2);
    } finally {
      restore();
    }
  });

  test('a closure variable gives a ReferenceError that says to pass args', async () => {
    const { seen, restore } = captureExceptions();
    const secret = 41;
    try {
      const t = new Thread({ target: () => secret + 1 });
      t.start();
      await t.join(20);
    } finally {
      restore();
    }
    expect(seen).toHaveLength(1);
    const err = seen[0].excValue as Error;
    expect(err.name).toBe('ReferenceError');
    expect(err.message).toMatch(/secret is not defined/);
    expect(err.message).toMatch(/cannot see the caller's closure/);
    expect(err.message).toMatch(/args/);
  });

  test('a module export runs as target', async () => {
    const out = cells(2);
    const t = new Thread({
      target: { module: '../fixtures/threading-target.js', export: 'record' },
      args: [out, 7],
    });
    t.start();
    await t.join(20);
    expect(Array.from(out)).toEqual([t.ident, 7]);
    expect(() => new Thread({ target: { module: '../fixtures/missing.js', export: 'x' } })).toThrow(
      ValueError,
    );
  });

  test('misuse raises typed errors', async () => {
    const t = new Thread({ target: () => undefined });
    await expect(t.join()).rejects.toThrow(RuntimeError);
    expect(() => t.joinSync()).toThrow(/before it is started/);
    t.start();
    expect(() => t.start()).toThrow(/only be started once/);
    expect(() => {
      t.daemon = true;
    }).toThrow(RuntimeError);
    await t.join(20);
    await expect(mainThread().join()).rejects.toThrow(RuntimeError);
    const noClone = new Thread({ target: () => undefined, args: [() => 1] });
    expect(() => noClone.start()).toThrow(SerializationError);
    expect(() => new Thread({ target: Math.max })).toThrow(SerializationError);
    class Sub extends Thread {
      run() {
        return 1;
      }
    }
    expect(() => new Sub().start()).toThrow(/overrides run/);
  });

  test('enumerate and activeCount before, during and after', async () => {
    const gate = cells(1);
    const wait = (g: Int32Array) => {
      while (Atomics.load(g, 0) === 0) Atomics.wait(g, 0, 0, 1000);
    };
    const threads = [0, 1].map(() => new Thread({ target: wait, args: [gate] }));
    expect(activeCount()).toBe(1);
    expect(same(enumerate(), [mainThread()])).toBe(true);
    for (const t of threads) t.start();
    try {
      expect(activeCount()).toBe(3);
      expect(same(enumerate(), [mainThread(), ...threads])).toBe(true);
    } finally {
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
    }
    for (const t of threads) await t.join(20);
    expect(activeCount()).toBe(1);
  });

  test('a thread sees its own view and joins the threads it starts', async () => {
    const out = cells(4);
    const outer = (c: Int32Array) => {
      const { Thread, currentThread, enumerate, activeCount } = require('forkful/threading');
      c[0] = currentThread().name === 'Outer' ? 1 : 0;
      c[1] = activeCount(); // MainThread and itself
      const inner = new Thread({
        name: 'Inner',
        target: (c2: Int32Array) => {
          Atomics.wait(c2, 3, 0, 50);
          c2[2] = 1;
        },
        args: [c],
      });
      inner.start();
      c[3] = enumerate().length; // plus Inner
      // Returns without joining: a non-daemon Inner still finishes first.
    };
    const t = new Thread({ name: 'Outer', target: outer, args: [out] });
    t.start();
    await t.join(20);
    expect(Array.from(out)).toEqual([1, 2, 1, 3]);
  });
  test('stackSize() sets the stack of threads started later', async () => {
    expect(() => stackSize(1000)).toThrow(ValueError);
    const previous = stackSize(4 * 1024 * 1024);
    const out = cells(1);
    try {
      const t = new Thread({
        target: (c: Int32Array) => {
          const depth = (n: number): number => (n === 0 ? 0 : 1 + depth(n - 1));
          c[0] = depth(20000);
        },
        args: [out],
      });
      t.start();
      await t.join(20);
    } finally {
      expect(stackSize(previous)).toBe(4 * 1024 * 1024);
    }
    expect(out[0]).toBe(20000);
  });

  test('a Worker forkful did not start sees itself as a Dummy thread', async () => {
    const out = cells(2);
    const worker = new Worker(
      `const { currentThread } = require(${JSON.stringify(require.resolve('../../dist/threading'))});
       const { workerData: c } = require('node:worker_threads');
       const me = currentThread();
       c[0] = /^Dummy-\\d+$/.test(me.name) && me.daemon ? 1 : 2;
       c[1] = me.ident;`,
      { eval: true, workerData: out },
    );
    const ident = worker.threadId; // -1 once it has exited
    await new Promise((resolve, reject) => {
      worker.on('exit', resolve);
      worker.on('error', reject);
    });
    expect(Array.from(out)).toEqual([1, ident]);
  });
});

describe('Timer', () => {
  test('fires after its interval', async () => {
    const out = cells(1);
    const timer = new Timer(0.05, (c: Int32Array, v: number) => Atomics.store(c, 0, v), [out, 5]);
    timer.start();
    await timer.join(20);
    expect(out[0]).toBe(5);
  });

  test('cancel() before it fires means it never runs', async () => {
    const out = cells(2);
    const fire = (c: Int32Array) => Atomics.store(c, 0, 1);
    const timer = new Timer(30, fire, [out]);
    timer.start();
    timer.cancel();
    await timer.join(20);
    expect(timer.isAlive()).toBe(false);
    const early = new Timer(0, fire, [out]);
    early.cancel();
    early.start();
    early.joinSync(20);
    expect(out[0]).toBe(0);
  });
});

describe('local', () => {
  test('each of 4 threads has its own attributes on the same local', async () => {
    const data = new local() as local & Record<string, unknown>;
    data.who = 'main';
    const out = cells(5); // out[4] counts arrivals
    const worker = (
      d: Record<string, unknown>,
      again: Record<string, unknown>,
      c: Int32Array,
      i: number,
    ) => {
      const ok = d.who === undefined && d === again;
      d.who = `thread-${i}`;
      // Wait (bounded) until all four have set their own value.
      Atomics.add(c, 4, 1);
      Atomics.notify(c, 4);
      const deadline = Date.now() + 20000;
      while (Atomics.load(c, 4) < 4 && Date.now() < deadline) {
        Atomics.wait(c, 4, Atomics.load(c, 4), 100);
      }
      const all = Atomics.load(c, 4) === 4;
      c[i] = ok && all && d.who === `thread-${i}` && Object.keys(d).join() === 'who' ? 1 : 2;
    };
    const threads = [0, 1, 2, 3].map(
      (i) => new Thread({ target: worker, args: [data, data, out, i] }),
    );
    for (const t of threads) t.start();
    for (const t of threads) await t.join(20);
    expect(Array.from(out)).toEqual([1, 1, 1, 1, 4]);
    expect(data.who).toBe('main');
  });

  test('an init function runs once per thread, with its args', async () => {
    const counted = new local((self: Record<string, unknown>, start: number) => {
      self.count = ((self.count as number) ?? start) + 1;
    }, 10) as local & Record<string, unknown>;
    expect(counted.count).toBe(11);
    counted.count = 100;
    const out = cells(2);
    const check = (a: Record<string, unknown>, a2: Record<string, unknown>, c: Int32Array) => {
      c[0] = a.count as number;
      c[1] = a === a2 ? 1 : 0;
    };
    const t = new Thread({ target: check, args: [counted, counted, out] });
    t.start();
    await t.join(20);
    expect(Array.from(out)).toEqual([11, 1]);
    expect(counted.count).toBe(100);
  });
});

describe('resources', () => {
  test('200 start/join cycles leak no threads and no memory', async () => {
    const nop = () => undefined;
    const cycle = async () => {
      const t = new Thread({ target: nop });
      t.start();
      await t.join(20);
      if (t.isAlive()) throw new Error('thread still alive after join');
    };
    for (let i = 0; i < 20; i++) await cycle();
    const threadsBefore = osThreadCount();
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    for (let i = 0; i < 200; i++) await cycle();
    global.gc?.();
    const growthMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    const threadsAfter = osThreadCount();
    console.log(
      `threading: 200 cycles, OS threads ${threadsBefore} -> ${threadsAfter}, rss ${growthMb >= 0 ? '+' : ''}${growthMb.toFixed(1)} MB`,
    );
    expect(same(enumerate(), [mainThread()])).toBe(true);
    // Idle isolates kept for reuse may end meanwhile (after 5 s idle): fewer
    // threads is fine, one more would be a leak.
    if (threadsBefore !== null) expect(threadsAfter).toBeLessThanOrEqual(threadsBefore);
    // Each Worker's isolate is ~10 MB: a leak of one per cycle would be GBs.
    expect(growthMb).toBeLessThan(100);
  }, 120000);
});
