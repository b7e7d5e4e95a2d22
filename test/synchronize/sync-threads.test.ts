// Shared primitives across worker threads, and arena reuse over 100,000
// create/destroy cycles.
import { backends, results, runFixture } from '../helpers/fixture';

describe.each(backends)('across threads (%s arena)', (_name, env) => {
  let found: Record<string, unknown>;
  beforeAll(() => {
    const r = runFixture('sync-threads.js', [], { timeoutMs: 60000, env });
    // The only output on stderr: the dead-owner warning (deadThread).
    const other = r.stderr
      .split('\n')
      .filter(
        (l) => l && !l.includes('FORKFUL_LOCK_OWNER_DIED') && !l.includes('--trace-warnings'),
      );
    expect(other).toEqual([]);
    expect(r.status).toBe(0);
    found = results(r.stdout);
  });

  test('4 threads x 100,000 increments under one Lock', () => {
    expect(found['threads.mutex']).toEqual({
      results: ['done', 'done', 'done', 'done'],
      total: 400000,
      locked: false,
    });
  });

  test('RLock: another thread can neither release nor take it', () => {
    expect(found['threads.rlock']).toEqual({
      release: 'RuntimeError',
      nonBlocking: false,
      timed: false,
      stillMine: true,
      unowned: 'RuntimeError',
    });
  });

  test('Condition producer/consumer between two threads', () => {
    expect(found['threads.condition']).toEqual({ results: ['produced', 125250], want: 125250 });
  });

  test('Barrier(3) with an action, wait and waitAsync', () => {
    expect(found['threads.barrier']).toEqual({ firsts: [0, 1, 2], seconds: [0, 1, 2], actions: 2 });
  });

  test('acquireAsync leaves the event loop running while another thread holds the lock', () => {
    expect(found['threads.async']).toEqual({
      got: true,
      ticksWhileWaiting: true,
      holder: 'released',
      timedOut: false,
    });
  });

  test('a thread that ends holding a Lock: the next acquirer takes it over, with a warning', () => {
    expect(found['threads.deadOwner']).toEqual({ acquiredInThread: true, got: true, warned: true });
  });

  test("Lock._tryAcquireOrRecover takes a free lock or a dead thread's at once, never a live holder's", () => {
    expect(found['threads.tryAcquireOrRecover']).toEqual({
      heldBySelf: false,
      free: true,
      heldByLiveThread: false,
      plainTry: false,
      recovered: true,
      warned: true,
    });
  });
});

test.each(backends)('100,000 create/destroy cycles do not grow the %s arena', (_name, env) => {
  const r = runFixture('sync-cycles.js', [], {
    timeoutMs: 60000,
    nodeArgs: ['--expose-gc'],
    env,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const c = results(r.stdout).cycles as {
    made: number;
    bumps: number[];
    liveAtEnd: number;
    keepStillLocked: boolean;
  };
  expect(c.made).toBe(100000);
  // Freed blocks are reused: 100,000 objects of 64+ bytes each grow the
  // bump pointer by less than 64 KiB (how many are still waiting for the
  // collector when a round ends depends on GC timing, so not by exactly 0).
  expect(c.bumps[c.bumps.length - 1] - c.bumps[0]).toBeLessThan(64 * 1024);
  expect(c.liveAtEnd).toBeLessThan(10);
  expect(c.keepStillLocked).toBe(true);
});
