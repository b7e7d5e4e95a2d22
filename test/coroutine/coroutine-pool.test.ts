// forkful/coroutine Pool and Group: the concurrency bound, map/imap, kill, join.
import { Greenlet, GreenletExit, Group, Pool, getcurrent, sleep, spawn } from '../../lib/coroutine';
import { ValueError } from '../../lib/core/errors';

function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** A task that records how many of its kind run at once. */
function meter(): { task: (n: number) => Promise<number>; max: () => number; now: () => number } {
  let inFlight = 0;
  let max = 0;
  return {
    async task(n: number) {
      inFlight += 1;
      max = Math.max(max, inFlight);
      try {
        // A different number of turns per task, so completions interleave.
        for (let i = 0; i < (n * 7) % 5; i++) await sleep(0);
        await sleep(0.001);
        return n * n;
      } finally {
        inFlight -= 1;
      }
    },
    max: () => max,
    now: () => inFlight,
  };
}

describe('Pool', () => {
  test('spawn never has more than size in flight; queued greenlets start in order', async () => {
    const pool = new Pool(3);
    const m = meter();
    const started: number[] = [];
    const greenlets: Greenlet<number>[] = [];
    for (let i = 0; i < 20; i++) {
      greenlets.push(
        pool.spawn((n: number) => {
          started.push(n);
          return m.task(n);
        }, i),
      );
    }
    expect(pool.length).toBe(20);
    expect(pool.full()).toBe(true);
    expect(pool.freeCount()).toBe(0);
    expect(greenlets.map((g) => g.started)).toEqual(greenlets.map((_, i) => i < 3));
    expect(await pool.join({ timeout: 10 })).toBe(true);
    expect(m.max()).toBe(3);
    expect(started).toEqual([...Array(20).keys()]);
    expect(greenlets.map((g) => g.value)).toEqual([...Array(20).keys()].map((n) => n * n));
    expect([pool.length, pool.freeCount(), pool.full()]).toEqual([0, 3, false]);
  });

  test('map keeps input order and the bound; imap pulls items lazily', async () => {
    const pool = new Pool(4);
    const m = meter();
    expect(await pool.map((n: number) => m.task(n), [...Array(30).keys()])).toEqual(
      [...Array(30).keys()].map((n) => n * n),
    );
    expect(m.max()).toBe(4);
    // imap takes items from the source only as slots free up.
    let pulled = 0;
    function* source(): Generator<number> {
      for (let i = 0; i < 10; i++) {
        pulled += 1;
        yield i;
      }
    }
    const seen: Array<[number, number]> = [];
    for await (const value of pool.imap((n: number) => m.task(n), source())) {
      seen.push([value, pulled]);
    }
    expect(seen.map(([value]) => value)).toEqual([...Array(10).keys()].map((n) => n * n));
    expect(seen[0][1]).toBeLessThanOrEqual(4 + 1);
    expect(m.max()).toBe(4);
  });

  test('imap yields in input order, imapUnordered in completion order', async () => {
    const pool = new Pool(5);
    const gates = [0, 1, 2, 3, 4].map(() => gate());
    const task = (i: number): Promise<number> => gates[i].promise.then(() => i);
    const ordered: number[] = [];
    const unordered: number[] = [];
    const a = (async () => {
      for await (const v of pool.imap(task, [0, 1, 2, 3, 4])) ordered.push(v);
    })();
    await sleep(0);
    await sleep(0);
    for (const i of [4, 2, 0, 3, 1]) {
      gates[i].open();
      await sleep(0);
    }
    await a;
    expect(ordered).toEqual([0, 1, 2, 3, 4]);

    const gates2 = [0, 1, 2, 3, 4].map(() => gate());
    const b = (async () => {
      for await (const v of pool.imapUnordered(
        (i: number) => gates2[i].promise.then(() => i),
        [0, 1, 2, 3, 4],
      )) {
        unordered.push(v);
      }
    })();
    await sleep(0);
    await sleep(0);
    for (const i of [4, 2, 0, 3, 1]) {
      gates2[i].open();
      await sleep(0);
      await sleep(0);
    }
    await b;
    expect(unordered).toEqual([4, 2, 0, 3, 1]);
  });

  test('map rejects with the first failure and kills what it started; break kills too', async () => {
    const pool = new Pool(2);
    const killed: number[] = [];
    const task = async (n: number): Promise<number> => {
      if (n === 1) throw new ValueError(`bad item ${n}`);
      try {
        await sleep(30);
      } catch (error) {
        if (error instanceof GreenletExit) killed.push(n);
        throw error;
      }
      return n;
    };
    // map fails as soon as one item fails (item 0 is still sleeping).
    await expect(pool.map(task, [0, 1, 2, 3])).rejects.toThrow('bad item 1');
    expect(await pool.join({ timeout: 10 })).toBe(true);
    expect(killed).toEqual([0]);
    expect(pool.length).toBe(0);

    const seen: number[] = [];
    for await (const v of pool.imap(
      (n: number) => (n < 2 ? n : sleep(30).then(() => n)),
      [0, 1, 2, 3, 4],
    )) {
      seen.push(v);
      if (v === 1) break;
    }
    expect(seen).toEqual([0, 1]);
    expect(await pool.join({ timeout: 10 })).toBe(true);
  });

  test('imap over an async iterable, with maxsize', async () => {
    const pool = new Pool(10);
    const m = meter();
    async function* source(): AsyncGenerator<number> {
      for (let i = 0; i < 8; i++) {
        await sleep(0);
        yield i;
      }
    }
    const out: number[] = [];
    for await (const v of pool.imapUnordered((n: number) => m.task(n), source(), { maxsize: 2 })) {
      out.push(v);
    }
    expect(out.sort((x, y) => x - y)).toEqual([0, 1, 4, 9, 16, 25, 36, 49]);
    expect(m.max()).toBeLessThanOrEqual(2);
  });

  test('apply, applyAsync and mapAsync; apply from inside the pool does not deadlock', async () => {
    const pool = new Pool(1);
    expect(await pool.apply((a: number, b: number) => a * b, [6, 7])).toBe(42);
    let callbackValue: unknown;
    const g = pool.applyAsync(
      (s: string) => s.toUpperCase(),
      ['x'],
      (v) => (callbackValue = v),
    );
    expect(await g).toBe('X');
    await sleep(0);
    expect(callbackValue).toBe('X');
    // A pool greenlet applying to its own full pool runs the function directly.
    const nested = pool.spawn(async () => {
      // (Returning the greenlet itself would await it: greenlets are awaitable.)
      const inner = await pool.apply(() => getcurrent()!.name);
      return inner === getcurrent()!.name;
    });
    expect(await nested).toBe(true);
    let mapped: unknown;
    const mg = pool.mapAsync(
      (n: number) => n + 1,
      [1, 2, 3],
      (r) => (mapped = r),
    );
    expect(await mg).toEqual([2, 3, 4]);
    await sleep(0);
    expect(mapped).toEqual([2, 3, 4]);
  });

  test('join with a timeout, join raiseError, waitAvailable', async () => {
    const pool = new Pool(2);
    const a = gate();
    const first = pool.spawn(() => a.promise.then(() => 'a'));
    const failing = pool.spawn(async () => {
      await sleep(0);
      throw new ValueError('pool task failed');
    });
    const queued = pool.spawn(() => 'queued');
    expect(queued.started).toBe(false);
    // Checked once all have finished, among the greenlets the pool holds now.
    const joined = pool.join({ raiseError: true, timeout: 10 });
    expect(await pool.join({ timeout: 0.02 })).toBe(false);
    expect(await pool.waitAvailable(10)).toBe(1);
    expect(queued.value).toBe('queued');
    a.open();
    await expect(joined).rejects.toThrow('pool task failed');
    expect(first.value).toBe('a');
    expect(failing.exception).toBeInstanceOf(ValueError);
  });

  test('kill kills running and queued greenlets; queued ones never run', async () => {
    const pool = new Pool(2);
    let ran = 0;
    const greenlets = [0, 1, 2, 3, 4].map(() =>
      pool.spawn(async () => {
        ran += 1;
        await sleep(30);
      }),
    );
    await sleep(0);
    await pool.kill({ timeout: 10 });
    expect(pool.length).toBe(0);
    expect(ran).toBe(2);
    expect(greenlets.every((g) => g.dead && (g.value as unknown) instanceof GreenletExit)).toBe(
      true,
    );
    await sleep(0);
    expect(ran).toBe(2);
  });

  test('Group and an unbounded Pool never queue', async () => {
    const group = new Group();
    expect(group.size).toBeNull();
    expect(group.freeCount()).toBe(Infinity);
    const greenlets = [1, 2, 3].map((n) => group.spawn(() => n));
    expect(greenlets.every((g) => g.started)).toBe(true);
    expect(group.has(greenlets[0])).toBe(true);
    expect(group.has(spawn(() => 0))).toBe(false);
    await group.join();
    expect(greenlets.map((g) => g.value)).toEqual([1, 2, 3]);
  });

  test('bad sizes are ValueErrors', () => {
    expect(() => new Pool(0)).toThrow(ValueError);
    expect(() => new Pool(1.5)).toThrow(ValueError);
    expect(() => new Pool(-2)).toThrow(ValueError);
  });
});
