// forkful/coroutine generator coroutines: Python's send protocol.
import { AsyncCoroutine, Coroutine, StopIteration, coroutine, sleep } from '../../lib/coroutine';
import { RuntimeError } from '../../lib/core/errors';

describe('coroutine() with a generator', () => {
  test("the article's producer/consumer prints the article's lines", () => {
    const lines: string[] = [];
    function* consumer(): Generator<string, void, number | undefined> {
      let r = '';
      while (true) {
        const n = yield r;
        if (!n) return;
        lines.push(`[CONSUMER] Consuming ${n}...`);
        r = '200 OK';
      }
    }
    const c = coroutine(consumer);
    expect(c).toBeInstanceOf(Coroutine);
    expect(c.initial).toBe('');
    let n = 0;
    while (n < 5) {
      n = n + 1;
      lines.push(`[PRODUCER] Producing ${n}...`);
      const r = c.send(n);
      lines.push(`[PRODUCER] Consumer return: ${r}`);
    }
    c.close();
    expect(c.closed).toBe(true);
    const expected: string[] = [];
    for (let i = 1; i <= 5; i++) {
      expected.push(
        `[PRODUCER] Producing ${i}...`,
        `[CONSUMER] Consuming ${i}...`,
        '[PRODUCER] Consumer return: 200 OK',
      );
    }
    expect(lines).toEqual(expected);
  });

  test('a returning generator raises StopIteration carrying the return value', () => {
    function* adder(): Generator<number, string, number | undefined> {
      let total = 0;
      for (;;) {
        const x = yield total;
        if (x === undefined) return `total ${total}`;
        total += x;
      }
    }
    const c = coroutine(adder);
    expect(c.send(2)).toBe(2);
    expect(c.send(3)).toBe(5);
    let stop: unknown;
    try {
      c.next();
    } catch (error) {
      stop = error;
    }
    expect(stop).toBeInstanceOf(StopIteration);
    expect((stop as StopIteration).value).toBe('total 5');
    expect(c.closed).toBe(true);
    expect(() => c.send(1)).toThrow(StopIteration);
    c.close(); // no-op once finished
  });

  test('close runs finally blocks; a generator that yields while closing is a RuntimeError', () => {
    const log: string[] = [];
    function* tidy(): Generator<number, void, unknown> {
      try {
        for (;;) yield 1;
      } finally {
        log.push('cleaned');
      }
    }
    const c = coroutine(tidy);
    c.close();
    expect(log).toEqual(['cleaned']);
    function* stubborn(): Generator<number, void, unknown> {
      try {
        yield 1;
      } finally {
        yield 2;
      }
    }
    expect(() => coroutine(stubborn).close()).toThrow(RuntimeError);
  });

  test('throw raises at the yield; iterating sends undefined', () => {
    function* catcher(): Generator<string, void, unknown> {
      for (;;) {
        try {
          yield 'waiting';
        } catch (error) {
          yield `caught ${(error as Error).message}`;
        }
      }
    }
    const c = coroutine(catcher());
    expect(c.throw(new Error('x'))).toBe('caught x');
    expect(c.next()).toBe('waiting');
    function* three(): Generator<number, void, unknown> {
      yield 1;
      yield 2;
      yield 3;
    }
    expect([...coroutine(three)]).toEqual([2, 3]); // 1 was taken by priming
  });

  test('arguments reach the generator function; non-generators are TypeErrors', () => {
    function* echo(prefix: string): Generator<string, void, string> {
      let got = '';
      for (;;) got = yield `${prefix}${got}`;
    }
    const c = coroutine(echo, '> ');
    expect(c.initial).toBe('> ');
    expect(c.send('hi')).toBe('> hi');
    expect(() => coroutine((() => 42) as never)).toThrow(TypeError);
  });
});

describe('coroutine() with an async generator', () => {
  test('send returns Promises in call order; StopIteration and close as for generators', async () => {
    const log: string[] = [];
    async function* consumer(): AsyncGenerator<string, string, number | undefined> {
      let r = '';
      try {
        for (;;) {
          const n = yield r;
          if (!n) return 'finished';
          await sleep(0);
          log.push(`consumed ${n}`);
          r = `ok ${n}`;
        }
      } finally {
        log.push('finally');
      }
    }
    const c = coroutine(consumer);
    expect(c).toBeInstanceOf(AsyncCoroutine);
    expect(await c.initial).toBe('');
    // Sent without waiting: still handled one after another.
    const replies = await Promise.all([c.send(1), c.send(2), c.send(3)]);
    expect(replies).toEqual(['ok 1', 'ok 2', 'ok 3']);
    await expect(c.send(0)).rejects.toBeInstanceOf(StopIteration);
    expect(c.closed).toBe(true);
    await c.close();
    expect(log).toEqual(['consumed 1', 'consumed 2', 'consumed 3', 'finally']);

    const d = coroutine(consumer);
    await d.send(5);
    await d.close();
    expect(d.closed).toBe(true);
    await expect(d.send(6)).rejects.toBeInstanceOf(StopIteration);
  });
});
