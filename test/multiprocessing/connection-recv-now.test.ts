// Connection[kRecvNow], the pool's non-blocking reader: it takes every whole
// message there is, and after a read that emptied the pipe it answers null
// without another read system call (the fd's watch reports new data), so a
// wake-up of the pool costs one read, not a poll before and after it.
import { native } from '../../lib/core/native';
import { Pipe } from '../../lib/multiprocessing';
import { kRecvNow } from '../../lib/multiprocessing/connection';
import { decodeMessage } from '../../lib/transfer/wire';

const describeNative = native ? describe : describe.skip;

/** The reads `fn` makes: calls of the addon's two reads (readInto, and
 * recvFdsInto, the recvmsg a Unix-socket Connection reads with), one system
 * call each (/proc's syscr does not count recvmsg). */
function readsOf(fn: () => void): number {
  const addon = native as unknown as Record<
    'readInto' | 'recvFdsInto',
    (...a: unknown[]) => number
  >;
  const saved = { readInto: addon.readInto, recvFdsInto: addon.recvFdsInto };
  let calls = 0;
  for (const name of ['readInto', 'recvFdsInto'] as const) {
    addon[name] = (...args: unknown[]) => {
      calls++;
      return saved[name](...args);
    };
  }
  try {
    fn();
  } finally {
    Object.assign(addon, saved);
  }
  return calls;
}

describeNative('Connection[kRecvNow]', () => {
  test('takes what is there with one read, then null without reading again', () => {
    const [a, b] = Pipe();
    a.send(['one', 1]);
    a.send(['two', 2]);
    a.flush();
    let first: Buffer | null = null;
    let second: Buffer | null = null;
    let none: Buffer | null = Buffer.alloc(0);
    const reads = readsOf(() => {
      first = b[kRecvNow](true);
      second = b[kRecvNow](false);
      none = b[kRecvNow](false);
    });
    expect(decodeMessage(first!)).toEqual(['one', 1]);
    expect(decodeMessage(second!)).toEqual(['two', 2]);
    expect(none).toBeNull();
    expect(reads).toBe(1); // the short read emptied the pipe: no second read
    a.close();
    b.close();
  });

  test('told the fd is readable, it reads again and gets what came since', () => {
    const [a, b] = Pipe();
    a.send('first');
    a.flush();
    expect(decodeMessage(b[kRecvNow](true)!)).toBe('first');
    a.send('later');
    a.flush();
    expect(b[kRecvNow](false)).toBeNull(); // no read: the watch would report it
    expect(decodeMessage(b[kRecvNow](true)!)).toBe('later');
    a.close();
    expect(() => b[kRecvNow](true)).toThrow(/closed/);
    b.close();
  });

  test('a message is its own copy: the next read does not change it', () => {
    const [a, b] = Pipe();
    a.send(Buffer.from('aaaa'));
    a.flush();
    const frame = b[kRecvNow](true)!;
    a.send(Buffer.from('bbbb'));
    a.flush();
    b[kRecvNow](true);
    expect(decodeMessage(frame)).toEqual(Buffer.from('aaaa'));
    a.close();
    b.close();
  });
});
