// Pipe/Connection, in one process and across a Process (current start method).
import { backends, results, runFixture } from '../helpers/fixture';

describe.each(backends)('Pipe and Connection (%s backend)', (name, env) => {
  // The portable backend moves bytes through its hub: 20 MiB each way there.
  const mib = name === 'portable' ? 20 : 100;
  const run = runFixture('mp-connection.js', [], {
    timeoutMs: 90000,
    env: { ...env, MP_LARGE_MIB: String(mib) },
  });
  const r = results(run.stdout);

  test('the fixture completes', () => {
    expect(run.stderr).not.toMatch(/FIXTURE ERROR/);
    expect(r.done).toBe(true);
    expect(run.status).toBe(0);
  });

  test("the article's example 1 and values of every kind, in order", () => {
    expect(r.example1).toEqual([42, null, 'hello']);
    expect(r.values).toEqual({ same: true, map: true, negZero: true, undef: true });
  });

  test('plain data keeps structured-clone semantics (own __proto__, holes, extra props, shared refs)', () => {
    expect(r.plainData).toEqual({
      protoOwn: ['__proto__', 'k'],
      protoIsObject: true,
      hole: true,
      extra: 'kept',
      nested: { nested: { deep: [{ x: 'é' }, null, true, 1.25] } },
      sameRef: true,
    });
  });

  test('poll, pollAsync', () => {
    expect(r.pollEmpty).toBe(false);
    expect(r.pollReady).toEqual({ ready: true, value: 'x' });
    expect(r.pollAsyncEmpty).toBe(false);
  });

  test('sendBytes / recvBytes / recvBytesInto', () => {
    expect(r.bytes).toBe('23456');
    expect(r.bytesInto).toEqual({ n: 3, buf: [0, 0, 0, 0, 1, 2, 3, 0] });
    expect(r.bytesIntoShort).toEqual({ type: true, data: 10 });
    expect(r.largeInto).toEqual({ got: 20 * 1024 * 1024, before: 0, first: 9, last: 9, after: 0 });
  });

  test('large received messages are views of the read buffer that later reads never overwrite', () => {
    expect(r.lentViews).toEqual({
      wrong: [],
      smallsInOrder: true,
      kinds: [true, false, true],
      lent: true,
    });
  });

  test('an unserialisable value is a typed error and the pipe still works', () => {
    expect(r.unserialisable).toEqual({ type: true, message: true });
    expect(r.afterError).toBe('still works');
  });

  test('a corrupt message is a RangeError and the next one arrives whole (recvSync and recv)', () => {
    expect(r.corruptCompact).toEqual(Array(16).fill(true));
  });

  test('a recvSync() after sends queued in this turn gets them (they are written before it blocks)', () => {
    expect(r.queuedThenBlock).toEqual([
      ['queued', 1],
      ['queued', 2],
    ]);
  });

  test('one-way pipes', () => {
    expect(r.oneWay).toEqual({ r: [true, false], w: [false, true] });
    expect(r.readOnlySend).toBe(true);
  });

  test('a closed peer gives EOFError; a closed connection refuses use', () => {
    expect(r.eofPending).toBe(true);
    expect(r.eofSync).toBe(true);
    expect(r.closed).toEqual({ a: true, b: false });
    expect(r.sendClosed).toBe(true);
  });

  test('large messages (100 MiB, 20 on the portable backend) arrive whole, both ways, with a Process', () => {
    expect(r.large).toEqual({
      childGotIt: true,
      size: mib * 1024 * 1024,
      whole: true,
      nested: 1024 * 1024,
    });
    expect(r.eofAfterChild).toBe(true);
    expect(r.childExit).toBe(0);
  });
});
