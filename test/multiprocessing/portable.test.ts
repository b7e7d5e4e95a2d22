// multiprocessing without the addon: the portable hub's queues and locks
// across spawned children (the fixture runs with FORKFUL_NO_NATIVE=1 on any
// machine, so this runs in every CI pass).
import { results, runFixture } from '../helpers/fixture';

describe('the portable backend (FORKFUL_NO_NATIVE=1)', () => {
  const run = runFixture('mp-portable.js', [], {
    timeoutMs: 120000,
    env: { FORKFUL_NO_NATIVE: '1' },
  });
  const r = results(run.stdout);

  test('the fixture completes, on the portable backend', () => {
    expect(run.stderr).not.toMatch(/FIXTURE ERROR/);
    expect(r.done).toBe(true);
    expect(run.status).toBe(0);
    expect(r.backend).toEqual({ loaded: false, lock: '<unlocked forkful.Lock (portable)>' });
  });

  test('Queue: Full and Empty on timeout, producers in children, JoinableQueue, SimpleQueue', () => {
    expect(r.queues).toEqual({
      full: 'Full',
      first: [1, 'two'],
      empty: 'Empty',
      sum: 2 * 4950 + 100 * 1000,
      codes: [0, 0, 0],
      got: [10, 20, 30],
      tooMany: 'ValueError',
      size: 0,
    });
  });

  test('Lock across processes, a dead holder released (warned), RLock owner, Semaphore bound, Event timeout', () => {
    expect(r.locks).toEqual({
      exclusive: true,
      codes: [0, 0, 0],
      wasHeld: true,
      taken: true,
      warned: true,
      holderCode: 7,
      child: { release: 'RuntimeError', taken: false },
      semFree: false,
      tooMany: 'ValueError',
      timedOut: false,
    });
    expect(run.stderr).toMatch(/FORKFUL_LOCK_OWNER_DIED/);
  });

  test('Process.joinSync(): the exit code, a timeout, a terminated child', () => {
    expect(r.joinSync).toEqual({ code: 3, stillAlive: true, terminated: -15 });
  });

  test('Condition across processes: notifyAll wakes waiters in children; timeout, un-acquired, abort', () => {
    expect(r.condition).toEqual({
      codes: [0, 0, 0],
      timedOut: false,
      unowned: 'RuntimeError',
      aborted: 'AbortError',
      heldAfterAbort: true,
    });
  });

  test('Array.view: a typed accessor over the hub-kept items, in the parent and a child', () => {
    expect(r.view).toEqual({ items: [7, 42, 10], length: 3, sum: 59, typed: true, raw: '5' });
  });

  test('new Connection(fd) over a socket: framed messages both ways, end of file at close', () => {
    expect(r.connectionFd).toEqual({ first: 'ping', frames: 2, eof: true, code: 0 });
  });
});
