// Port of gevent's src/gevent/tests/test__joinall.py: joinall() of a list
// that holds one greenlet twice.
import { joinall, spawn } from '../../lib/coroutine';

jest.setTimeout(30000);

describe('Test', () => {
  // (the wait is bounded so that a failure ends)
  test('Test.test', async () => {
    const func = () => {};
    const a = spawn(func);
    const b = spawn(func);
    const bound = new Promise((resolve) => setTimeout(() => resolve('hung'), 5000).unref());
    expect(await Promise.race([joinall([a, b, a]).then(() => 'returned'), bound])).toBe('returned');
  });
});
