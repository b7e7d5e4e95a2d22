// The one timeout parser (lib/core/timeout.ts), and the same mistake giving
// the same error class in every public wait.
import { OverflowError, ValueError } from '../../lib/core/errors';
import {
  deadline,
  FOREVER,
  parseTimeout,
  remaining,
  TIMEOUT_MAX,
  timeoutMs,
} from '../../lib/core/timeout';
import { Pipe, Process, Queue } from '../../lib/multiprocessing';
import { Event, Lock, Thread, TIMEOUT_MAX as threadingMax } from '../../lib/threading';
import { sleep } from '../../lib/coroutine';

describe('parseTimeout', () => {
  test('null and undefined wait without limit; numbers are seconds', () => {
    expect(parseTimeout(null, 'w')).toBe(FOREVER);
    expect(parseTimeout(undefined, 'w')).toBe(FOREVER);
    expect(parseTimeout(0, 'w')).toBe(0);
    expect(parseTimeout(1.5, 'w')).toBe(1.5);
    expect(parseTimeout(TIMEOUT_MAX, 'w')).toBe(TIMEOUT_MAX);
  });

  test("Python's classes: TypeError, ValueError for NaN, OverflowError above TIMEOUT_MAX", () => {
    expect(() => parseTimeout('1', 'Queue.get')).toThrow(TypeError);
    expect(() => parseTimeout('1', 'Queue.get')).toThrow(/Queue.get: .*the string '1'/);
    expect(() => parseTimeout(1n, 'w')).toThrow(TypeError);
    expect(() => parseTimeout(NaN, 'w')).toThrow(ValueError);
    expect(() => parseTimeout(TIMEOUT_MAX + 1, 'w')).toThrow(OverflowError);
    expect(() => parseTimeout(Infinity, 'w')).toThrow(OverflowError);
  });

  test('negative values follow the wait: 0, -1 forever for acquire, an error for strict', () => {
    expect(parseTimeout(-5, 'w')).toBe(0);
    expect(parseTimeout(-1, 'a', { negative: 'acquire' })).toBe(FOREVER);
    expect(() => parseTimeout(-2, 'a', { negative: 'acquire' })).toThrow(ValueError);
    expect(() => parseTimeout(-0.5, 's', { negative: 'strict' })).toThrow(ValueError);
    expect(parseTimeout(1e12, 's', { max: Number.MAX_VALUE })).toBe(1e12);
  });

  test('ms, deadlines and what remains keep FOREVER as it is', () => {
    expect(timeoutMs(FOREVER)).toBe(FOREVER);
    expect(timeoutMs(0.25)).toBe(250);
    expect(deadline(FOREVER)).toBe(FOREVER);
    expect(remaining(FOREVER)).toBe(FOREVER);
    const soon = deadline(10);
    expect(remaining(soon)).toBeGreaterThan(9);
    expect(remaining(soon)).toBeLessThanOrEqual(10);
    expect(remaining(deadline(0))).toBe(0);
  });

  test("threading's TIMEOUT_MAX is the parser's", () => {
    expect(threadingMax).toBe(TIMEOUT_MAX);
  });
});

describe('a timeout that looks like milliseconds', () => {
  // A fresh copy of the module per case: the warning is once per process.
  function freshParser(): typeof import('../../lib/core/timeout') {
    let mod: typeof import('../../lib/core/timeout') | undefined;
    jest.isolateModules(() => {
      mod = require('../../lib/core/timeout');
    });
    return mod!;
  }
  let warn: jest.SpyInstance;
  const env = process.env.NODE_ENV;
  beforeEach(() => {
    warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  });
  afterEach(() => {
    warn.mockRestore();
    process.env.NODE_ENV = env;
  });

  test('warns once, naming the call and the seconds, and still obeys the value', () => {
    const { parseTimeout: parse } = freshParser();
    expect(parse(999, 'Process.join')).toBe(999);
    expect(warn).not.toHaveBeenCalled();
    expect(parse(5000, 'Queue.get')).toBe(5000);
    expect(parse(3000, 'Process.join')).toBe(3000);
    expect(warn).toHaveBeenCalledTimes(1);
    // A value refused as too large is an error, not also a warning.
    expect(() => freshParser().parseTimeout(1e100, 'Lock.acquire')).toThrow(/too large/);
    expect(warn).toHaveBeenCalledTimes(1);
    const [message, options] = warn.mock.calls[0];
    expect(message).toMatch(/^Queue.get: timeout 5000 is read as 5000 seconds .*pass 5\.$/);
    expect(options).toEqual({ type: 'TimeoutWarning', code: 'FORKFUL_TIMEOUT_SECONDS' });
  });

  test('NODE_ENV=production stays quiet', () => {
    process.env.NODE_ENV = 'production';
    const { parseTimeout: parse } = freshParser();
    expect(parse(60000, 'Thread.join')).toBe(60000);
    expect(warn).not.toHaveBeenCalled();
  });
});

describe('the same mistake, the same class, in every wait', () => {
  const [a, b] = Pipe();
  const queue = new Queue();
  const event = new Event();
  const lock = new Lock();
  const thread = new Thread({ target: () => {} });
  thread.start();
  afterAll(async () => {
    await thread.join(10);
    a.close();
    b.close();
    queue.close();
  });

  const waits: Array<[string, (t: unknown) => unknown]> = [
    ['Lock.acquire', (t) => lock.acquire({ timeout: t as number })],
    ['Event.wait', (t) => event.wait(t as number)],
    ['Connection.poll', (t) => a.poll(t as number)],
    ['Queue.getSync', (t) => queue.getSync({ timeout: t as number })],
    ['Queue.get', (t) => queue.get({ timeout: t as number })],
    ['Process.join', (t) => new Process().join(t as number)],
    ['Thread.join', (t) => thread.join(t as number)],
    ['coroutine sleep', (t) => sleep(t as number)],
  ];

  async function errorOf(call: () => unknown): Promise<unknown> {
    try {
      await call();
    } catch (err) {
      return err;
    }
    return null;
  }

  test.each(waits)('%s', async (_name, wait) => {
    expect(await errorOf(() => wait('2'))).toBeInstanceOf(TypeError);
    expect(await errorOf(() => wait(NaN))).toBeInstanceOf(ValueError);
    expect(await errorOf(() => wait(Infinity))).toBeInstanceOf(OverflowError);
  });
});
