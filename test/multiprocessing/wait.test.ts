// Process.sentinel and multiprocessing.connection.wait / waitAsync, on the
// current start method and without the addon. CPython's own cases (TestWait,
// test_sentinel) are ported in test/conformance/_test_multiprocessing.test.ts;
// these are forkful's: the backends, buffered messages, cancellation, errors.
import { backends, results, runFixture } from '../helpers/fixture';

describe.each(backends)('connection.wait and Process.sentinel (%s backend)', (name, env) => {
  const run = runFixture('mp-wait.js', [], { timeoutMs: 90000, env });
  const r = results(run.stdout);
  const native = name !== 'portable';

  test('the fixture completes and exits by itself (no watch left behind)', () => {
    expect(run.stderr).not.toMatch(/FIXTURE ERROR/);
    expect(r.done).toBe(true);
    expect(run.status).toBe(0);
    expect(r.backend).toMatchObject({ native });
  });

  test('a sentinel: ValueError before start and after close(), ready once the process ended', () => {
    expect(r.sentinel).toEqual({
      before: 'ValueError',
      integer: true,
      same: true,
      running: [],
      runningAsync: [],
      ended: true,
      again: true,
      // With the addon a real fd: a pidfd, closed by close().
      kind: native ? 'anon_inode:[pidfd]' : 'token',
      closedFd: true,
      afterClose: 'ValueError',
    });
  });

  test("waitAsync on a daemonic child's sentinel keeps the process alive until the end", () => {
    expect(r.asyncSentinel).toEqual({ ready: true, exitcode: 0 });
  });

  test('wait over several sentinels returns each as its process ends', () => {
    expect(r.many).toEqual({ all: [0, 1, 2], allEnded: true });
  });

  test('Connections: a message already buffered is ready; order given, each once; EOF is ready', () => {
    expect(r.connections).toEqual({
      first: 1,
      buffered: true,
      second: 2,
      empty: [],
      order: [0, 2],
      orderAsync: [0, 1],
      eof: true,
    });
  });

  test("waitAsync leaves the event loop running and sees a child's message", () => {
    expect(r.childSends).toEqual({ got: 'late', loopRan: true, endedToo: true });
  });

  test('waitAsync: { signal } cancels without taking a message; a timeout gives []', () => {
    expect(r.abort).toEqual({
      aborted: true,
      kept: 'after abort',
      timedOut: [],
      waitedEnough: true,
      alreadyAborted: true,
    });
  });

  test('bad arguments are typed errors', () => {
    expect(r.errors).toEqual({
      notAList: 'TypeError',
      badObject: 'TypeError',
      negativeFd: 'ValueError',
      closedConnection: 'OSError',
      writeOnly: 'OSError',
      badTimeout: 'TypeError',
      tooLong: 'OverflowError',
      asyncRejects: 'TypeError',
    });
  });

  test('plain fds and fileno() objects: polled with the addon, NotSupportedError without', () => {
    expect(r.plainFds).toEqual(
      native
        ? { before: [], sync: true, async: true, closed: 'OSError' }
        : { sync: 'NotSupportedError' },
    );
  });

  test('without pidfds (Linux < 5.3) a sentinel is a pipe at EOF once the exit watch ran', () => {
    expect(r.noPidfd).toEqual(
      native
        ? {
            kind: true,
            running: [],
            ended: true,
            endedAsync: true,
            endedAsyncFirst: true,
            pollable: 2,
            closed: true,
          }
        : undefined,
    );
  });

  test("parentProcess(): the parent's sentinel, join(timeout) and joinSync(timeout)", () => {
    expect(r.parent).toEqual({
      integer: true,
      same: true,
      running: 0,
      joinTimedOut: true,
      pid: true,
      asyncJoinTimedOut: true,
      exitcode: 0,
    });
  });

  test('several waitAsync calls on one sentinel at once', () => {
    expect(r.concurrent).toEqual({ all: [true, true, true] });
  });
});
