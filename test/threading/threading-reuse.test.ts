// A finished Thread's isolate runs the next Thread (lib/threading/isolates.ts):
// what Python keeps per thread starts afresh in it, and a target that left
// something running ends its isolate instead of handing it on.
import {
  ExceptHookArgs,
  Lock,
  RLock,
  Thread,
  Timer,
  enumerate,
  idleThreads,
  local,
  mainThread,
  setExcepthook,
} from '../../lib/threading';

function cells(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}

async function run(target: (...args: never[]) => unknown, args: unknown[] = []): Promise<Thread> {
  const t = new Thread({ target, args });
  t.start();
  await t.join(20);
  if (t.isAlive()) throw new Error(`${t.name} still runs after 20 s`);
  return t;
}

afterEach(() => {
  expect(enumerate().map(String)).toEqual([String(mainThread())]);
});

describe('a reused isolate', () => {
  // Threads run one after another reuse at most the isolates that were idle
  // (the first thread's and the spare booted beside it): six threads
  // repeat an ident.
  test('starts each thread with no threading.local values, its own identity', async () => {
    const data = new local();
    const out = cells(6 * 4);
    const probe = (d: Record<string, unknown>, c: Int32Array, i: number) => {
      const { currentThread, getIdent } = require('forkful/threading');
      const me = currentThread();
      c[4 * i] = d.owner === undefined ? 1 : 2; // unset: no thread before set it here
      d.owner = i;
      c[4 * i + 1] = getIdent();
      c[4 * i + 2] = me.name === `reuse-${i}` ? 1 : 2;
      c[4 * i + 3] = me.daemon === (i % 2 === 1) ? 1 : 2;
    };
    const threads: Thread[] = [];
    for (let i = 0; i < 6; i++) {
      const t = new Thread({ target: probe, args: [data, out, i], name: `reuse-${i}` });
      t.daemon = i % 2 === 1;
      t.start();
      await t.join(20);
      threads.push(t);
    }
    const rows = threads.map((t, i) => Array.from(out.subarray(4 * i, 4 * i + 4)));
    expect(rows).toEqual(threads.map((t) => [1, t.ident, 1, 1]));
    const idents = threads.map((t) => t.ident);
    expect(new Set(idents).size).toBeLessThan(6); // reused, as Python reuses idents
    expect(data.owner).toBeUndefined(); // the main thread's own copy
  });

  test('resets the excepthook a thread set for the threads it starts', async () => {
    const out = cells(6);
    const setHook = (c: Int32Array, i: number) => {
      const threading = require('forkful/threading');
      c[2 * i] = threading.excepthook === threading.__excepthook__ ? 1 : 2;
      threading.setExcepthook(() => undefined);
      c[2 * i + 1] = threading.getIdent();
    };
    for (let i = 0; i < 3; i++) await run(setHook, [out, i]);
    expect([out[0], out[2], out[4]]).toEqual([1, 1, 1]);
    expect(new Set([out[1], out[3], out[5]]).size).toBeLessThan(3);
  });

  test('reports an exception to excepthook, then runs the next thread', async () => {
    const seen: ExceptHookArgs[] = [];
    const previous = setExcepthook((args) => seen.push(args));
    const out = cells(2);
    let failing: Thread;
    try {
      failing = await run(() => {
        throw new RangeError('from the first thread');
      });
      for (let i = 0; i < 2; i++) {
        await run((c: Int32Array, k: number) => (c[k] = 1), [out, i]);
      }
    } finally {
      setExcepthook(previous);
    }
    expect(seen.map((a) => [a.excType, String(a.excValue), a.thread])).toEqual([
      [RangeError, 'RangeError: from the first thread', failing],
    ]);
    expect(Array.from(out)).toEqual([1, 1]);
  });

  test('joinSync hands the isolate back at once: the next start reuses it', async () => {
    const idents: Array<number | null> = [];
    for (let i = 0; i < 4; i++) {
      const t = new Thread({ target: () => undefined });
      t.start();
      t.joinSync(20);
      expect(t.isAlive()).toBe(false);
      idents.push(t.ident);
    }
    expect(new Set(idents).size).toBeLessThan(4);
  });

  test('runs Timers, and a cancelled Timer does not fire in it', async () => {
    const out = cells(2);
    const fired = new Timer(0.01, (c: Int32Array) => (c[0] = 1), [out]);
    fired.start();
    await fired.join(20);
    const cancelled = new Timer(30, (c: Int32Array) => (c[1] = 1), [out]);
    cancelled.start();
    cancelled.cancel();
    await cancelled.join(20);
    expect(cancelled.isAlive()).toBe(false);
    expect(Array.from(out)).toEqual([1, 0]);
  });
});

describe('a target that leaves something running', () => {
  test.each([
    ['a ref’d interval', 'ref'],
    ['a listening server', 'server'],
    ['a process listener', 'listener'],
  ])('ends its isolate with it (%s): the next thread does not see it', async (_what, kind) => {
    const out = cells(3);
    const leave = (c: Int32Array, how: string) => {
      const { getIdent } = require('forkful/threading');
      c[0] = getIdent();
      if (how === 'ref') setInterval(() => Atomics.add(c, 2, 1), 1);
      if (how === 'server') require('node:net').createServer().listen(0);
      if (how === 'listener') process.on('beforeExit', () => Atomics.add(c, 2, 1));
    };
    const leaver = await run(leave, [out, kind]);
    expect(out[0]).toBe(leaver.ident);
    const after = Atomics.load(out, 2);
    // Threads after it never run in its isolate: it ended with the thread.
    for (let i = 0; i < 3; i++) {
      const next = await run(
        (c: Int32Array) => {
          const wait = new Int32Array(new SharedArrayBuffer(4));
          Atomics.wait(wait, 0, 0, 20); // an interval left here would tick meanwhile
          c[1] = require('forkful/threading').getIdent();
        },
        [out],
      );
      expect(next.ident).not.toBe(leaver.ident);
      expect(out[1]).toBe(next.ident);
    }
    expect(Atomics.load(out, 2)).toBe(after);
  });
});

describe('a thread that ends holding a lock', () => {
  // Its isolate ends with it: the holder's tid ends, so the lock's next
  // acquirer takes it over (warned), and no later thread in that isolate
  // has the holder's tid (an RLock would have taken it as its own).
  test.each([
    ['Lock', () => new Lock()],
    ['RLock', () => new RLock()],
  ])('%s: the next thread does not own it; a blocking acquire takes it over', async (_, make) => {
    const lock = make();
    await run((l: Lock) => void l.acquire(), [lock as never]);
    const seen = cells(1);
    await run(
      (l: Lock, c: Int32Array) => {
        c[0] = l.acquire(false) ? 1 : 2;
        if (c[0] === 1) l.release();
      },
      [lock as never, seen as never],
    );
    expect(seen[0]).toBe(2);
    // Held by a live thread (its isolate kept for reuse), this times out.
    expect(lock.acquire(true, 10)).toBe(true);
    lock.release();
  });
});

describe('idleThreads', () => {
  test('0 ends every isolate with its thread; the count comes back', async () => {
    const previous = idleThreads(0);
    const idents: Array<number | null> = [];
    try {
      for (let i = 0; i < 3; i++) idents.push((await run(() => undefined)).ident);
    } finally {
      expect(idleThreads(previous)).toBe(0);
    }
    expect(new Set(idents).size).toBe(3);
    expect(() => idleThreads(-1)).toThrow(RangeError);
  });
});
