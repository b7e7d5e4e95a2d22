// Port of CPython's Lib/test/test_threading_local.py (BaseLocalTest, run for
// ThreadLocalTest; PyThreadingLocalTest runs the same cases on the
// pure-Python copy, which forkful has no counterpart of) and of the
// _threading_local doctests it loads, to forkful's threading.local.
//
// Documented form: a local reaches a thread in the Thread's args; a
// subclass (or init function) travels by source and runs once per thread.
import { Thread, local } from '../../lib/threading';
import { collectGarbage } from './helpers/gc';
import { captureExcepthook, expectNoStrays } from './helpers/common';

jest.setTimeout(60000);

afterEach(() => expectNoStrays());

/** Runs `target(...args)` in a Thread and fails the test with whatever the
 * thread raised. */
async function inThread(target: (...args: never[]) => unknown, args: unknown[]): Promise<void> {
  const hook = captureExcepthook();
  try {
    const t = new Thread({ target, args });
    t.start();
    await t.join(30);
    expect(t.isAlive()).toBe(false);
  } finally {
    hook.restore();
  }
  expect(hook.seen.map((s) => String((s.excValue as Error)?.stack ?? s.excValue))).toEqual([]);
}

describe('ThreadLocalTest', () => {
  test('BaseLocalTest.test_derived', async () => {
    class Local extends local {
      constructor() {
        super();
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      }
    }
    const obj = new Local();
    const threads = Array.from(
      { length: 10 },
      (_, i) =>
        new Thread({
          target: (l: { x?: number }, n: number) => {
            l.x = n;
            require('node:assert').strictEqual(l.x, n);
          },
          args: [obj, i],
        }),
    );
    const hook = captureExcepthook();
    try {
      for (const t of threads) t.start();
      for (const t of threads) await t.join(30);
    } finally {
      hook.restore();
    }
    expect(hook.seen).toEqual([]);
  });

  test('BaseLocalTest.test_arguments', () => {
    class MyLocal extends local {
      constructor(...args: unknown[]) {
        super(...args);
      }
    }
    new MyLocal({ a: 1 });
    new MyLocal(1);
    expect(() => new local({ a: 1 } as never)).toThrow(TypeError);
    expect(() => new local(1 as never)).toThrow(TypeError);
  });

  async function testOneClass(obj: local): Promise<void> {
    const e1 = new Int32Array(new SharedArrayBuffer(8)); // [e1, e2]
    const failed = new Int32Array(new SharedArrayBuffer(4));
    failed[0] = -1; // "No error message set or cleared."
    const hook = captureExcepthook();
    const t1 = new Thread({
      target: (o: Record<string, unknown>, e: Int32Array) => {
        o.x = 'foo';
        o.y = 'bar';
        delete o.y;
        Atomics.store(e, 0, 1);
        Atomics.notify(e, 0);
        Atomics.wait(e, 1, 0, 30000);
      },
      args: [obj, e1],
    });
    try {
      t1.start();
      const deadline = Date.now() + 30000;
      while (Atomics.load(e1, 0) === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await inThread(
        (o: Record<string, unknown>, f: Int32Array) => {
          // AttributeError expected: this thread never set obj.x.
          f[0] = 'x' in o ? 1 : 0;
        },
        [obj, failed],
      );
    } finally {
      Atomics.store(e1, 1, 1);
      Atomics.notify(e1, 1);
      await t1.join(30);
      hook.restore();
    }
    expect(hook.seen).toEqual([]);
    expect(failed[0]).toBe(0);
  }

  test('BaseLocalTest.test_threading_local', () => testOneClass(new local()));

  test('BaseLocalTest.test_threading_local_subclass', () => {
    class LocalSubclass extends local {}
    return testOneClass(new LocalSubclass());
  });

  function testDictAttribute(obj: local): void {
    (obj as unknown as { x: number }).x = 5;
    // obj.__dict__: the attributes this thread set (assigning or deleting
    // __dict__ itself has no JavaScript counterpart).
    expect({ ...obj }).toEqual({ x: 5 });
  }

  test('BaseLocalTest.test_dict_attribute', () => testDictAttribute(new local()));

  test('BaseLocalTest.test_dict_attribute_subclass', () => {
    class LocalSubclass extends local {}
    testDictAttribute(new LocalSubclass());
  });

  test('BaseLocalTest.test_cycle_collection', async () => {
    let x: { local?: local & { x?: unknown } } | null = {};
    x.local = new local();
    x.local.x = x;
    const wr = new WeakRef(x);
    x = null;
    await collectGarbage();
    expect(wr.deref()).toBeUndefined();
  });
});

describe('_threading_local doctests', () => {
  // The thread function of the doctest: reads the thread's own attributes,
  // sets number = 11.
  const f = (mydata: Record<string, unknown>, log: Int32Array, names: string[]) => {
    const items = Object.entries(mydata).sort();
    names.length = 0;
    // log.append(items): the items travel back as JSON in shared memory.
    const text = JSON.stringify(items);
    const bytes = new TextEncoder().encode(text);
    new Uint8Array(log.buffer).set(bytes, 8);
    log[0] = bytes.length;
    mydata.number = 11;
    log[1] = mydata.number as number;
  };
  const readLog = (log: Int32Array) => [
    JSON.parse(new TextDecoder().decode(new Uint8Array(log.buffer, 8, log[0]))),
    log[1],
  ];

  test('local: attributes are per thread', async () => {
    const mydata = new local() as local & Record<string, unknown>;
    mydata.number = 42;
    expect(mydata.number).toBe(42);
    expect({ ...mydata }).toEqual({ number: 42 });
    (mydata as Record<string, unknown>).widgets ??= [];
    expect(mydata.widgets).toEqual([]);
    const log = new Int32Array(new SharedArrayBuffer(4096));
    await inThread(f, [mydata, log, []]);
    expect(readLog(log)).toEqual([[], 11]);
    expect(mydata.number).toBe(42);
  });

  test('local subclass: defaults, methods and initialization per thread', async () => {
    class MyLocal extends local {
      static {
        (this.prototype as unknown as { number: number }).number = 2;
      }
      declare number: number;
      declare color?: string;
      constructor(kw: { color?: string }) {
        super(kw);
        Object.assign(this, kw);
      }
      squared(): number {
        return this.number ** 2;
      }
    }
    const mydata = new MyLocal({ color: 'red' });
    expect(mydata.number).toBe(2);
    expect(mydata.color).toBe('red');
    delete mydata.color;
    expect(mydata.squared()).toBe(4);
    const log = new Int32Array(new SharedArrayBuffer(4096));
    await inThread(f, [mydata, log, []]);
    expect(readLog(log)).toEqual([[['color', 'red']], 11]);
    expect(mydata.number).toBe(2);
    expect(mydata.color).toBeUndefined();
  });
});
