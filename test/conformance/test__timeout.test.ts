// Port of gevent's src/gevent/tests/test__timeout.py to forkful/coroutine's
// Timeout. gevent's "block until the timer fires" (get_hub().switch()) is a
// forkful wait in a greenlet (a sleep that outlasts the Timeout);
// `with timeout:` is timeout.run(fn); with_timeout(s, f, *args) is
// withTimeout(fn, s) (documented: function first). Not ported:
// test_expires_non_exception (Python's TypeError for raising a non-exception:
// JavaScript throws any value).
import { Timeout, sleep, withTimeout } from '../../lib/coroutine';
import { inGreenlet } from './helpers/gevent';

jest.setTimeout(30000);

const SHOULD_EXPIRE = 0.01;
// gevent's CI value (SHOULD_EXPIRE * 20): a shared machine.
const SHOULD_NOT_EXPIRE = SHOULD_EXPIRE * 20.0;

describe('TestDirectRaise', () => {
  test('TestDirectRaise.test_direct_raise_class', () => {
    try {
      throw new Timeout();
    } catch (t) {
      expect(t).toBeInstanceOf(Timeout);
      expect((t as Timeout).pending).toBe(false);
    }
  });

  test('TestDirectRaise.test_direct_raise_instance', () => {
    const timeout = new Timeout();
    try {
      throw timeout;
    } catch (t) {
      expect(t).toBe(timeout);
      expect((t as Timeout).pending).toBe(false);
    }
  });
});

describe('Test', () => {
  /** _test: blocks until the timer fires; what is raised must be `timeout`. */
  async function blockUntilFired(timeout: Timeout, close: boolean): Promise<unknown> {
    let caught: unknown = undefined;
    try {
      await sleep(60);
    } catch (ex) {
      caught = ex;
    }
    expect(caught).not.toBeUndefined(); // 'Must raise Timeout'
    expect(caught).toBe(timeout);
    if (close) (caught as Timeout).close();
    return caught;
  }

  function checkExpires(timeout: Timeout): Promise<unknown> {
    return inGreenlet(async () => {
      timeout.start();
      await blockUntilFired(timeout, false);
      timeout.start(); // restart
      return blockUntilFired(timeout, true);
    });
  }

  test('Test.test_expires', async () => {
    await checkExpires(new Timeout(SHOULD_EXPIRE));
  });

  test('Test.test_expires_false', async () => {
    await checkExpires(new Timeout(SHOULD_EXPIRE, false));
  });

  test('Test.test_expires_str', async () => {
    const ex = await checkExpires(new Timeout(SHOULD_EXPIRE, 'XXX'));
    expect(String(ex).endsWith('XXX')).toBe(true);
  });

  /** _check_context_manager_expires: `with timeout: block`. */
  async function contextManagerExpires(timeout: Timeout, raises = true): Promise<unknown> {
    try {
      await timeout.run(() => sleep(60));
    } catch (ex) {
      expect(ex).toBe(timeout);
      return ex;
    }
    if (raises) throw new Error('Must raise Timeout');
    return undefined;
  }

  test('Test.test_context_manager', async () => {
    await contextManagerExpires(new Timeout(SHOULD_EXPIRE));
  });

  test('Test.test_context_manager_false', async () => {
    const timeout = new Timeout(SHOULD_EXPIRE, false);
    await contextManagerExpires(timeout, false);
    expect(String(timeout).endsWith('(silent)')).toBe(true);
  });

  test('Test.test_context_manager_str', async () => {
    const timeout = new Timeout(SHOULD_EXPIRE, 'XXX');
    const ex = await contextManagerExpires(timeout);
    expect(String(ex).endsWith('XXX')).toBe(true);
  });

  test('Test.test_cancel', async () => {
    await inGreenlet(async () => {
      const timeout = new Timeout(SHOULD_EXPIRE);
      timeout.start();
      timeout.cancel();
      await sleep(SHOULD_NOT_EXPIRE);
      expect(timeout.pending).toBe(false);
      timeout.close();
    });
  });

  test('Test.test_with_timeout', async () => {
    await expect(withTimeout(() => sleep(SHOULD_NOT_EXPIRE), SHOULD_EXPIRE)).rejects.toBeInstanceOf(
      Timeout,
    );
    const X = {};
    let r = await withTimeout(() => sleep(SHOULD_NOT_EXPIRE), SHOULD_EXPIRE, { timeoutValue: X });
    expect(r).toBe(X);
    r = await withTimeout(() => sleep(SHOULD_EXPIRE), SHOULD_NOT_EXPIRE, { timeoutValue: X });
    expect(r).toBeUndefined();
  });
});
