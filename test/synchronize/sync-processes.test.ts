// Shared primitives across processes: forked (os.fork) and spawned
// (child_process.fork attached through arenaEnvironment()).
import { addonTested, results, runFixture } from '../helpers/fixture';
import { needsAddon, needsFork } from '../helpers/needs';

needsFork.describe('across forked processes', () => {
  let found: Record<string, unknown>;
  let stderr = '';
  beforeAll(() => {
    const r = runFixture('sync-fork.js', [], { timeoutMs: 60000 });
    found = results(r.stdout);
    stderr = r.stderr;
    expect({ status: r.status, stderr }).toEqual({ status: 0, stderr: expect.any(String) });
  });

  test('4 processes x 100,000 increments under one Lock', () => {
    expect(found['mutex.codes']).toEqual([0, 0, 0, 0]);
    expect(found['mutex.total']).toBe(400000);
    expect(found['mutex.unlocked']).toBe(true);
  });

  test('Event set in one process wakes another, both ways; wait times out', () => {
    expect(found.event).toEqual({ before: false, got: true, code: 0 });
    expect(found['event.timeout']).toEqual({ result: false, waitedEnough: true });
  });

  test('Semaphore(2) admits at most 2 processes at once', () => {
    expect(found.semaphore).toEqual({ codes: [0, 0, 0, 0], peak: 2, value: 2 });
  });

  test('Barrier(3) with an action, twice', () => {
    expect(found.barrier).toEqual({
      firsts: [0, 1, 2],
      seconds: [0, 1, 2],
      actions: 2,
      broken: false,
    });
  });

  test('Barrier abort breaks the waiters of other processes; reset repairs it', () => {
    expect(found['barrier.abort']).toEqual({
      codes: [0, 0],
      broken: true,
      afterReset: false,
      nWaiting: 0,
    });
  });

  test('Condition producer/consumer across processes', () => {
    const c = found.condition as { codes: number[]; sum: number; want: number };
    expect(c.codes).toEqual([0, 0]);
    expect(c.sum).toBe(c.want);
  });

  test('a holder SIGKILLed with the lock taken: another process acquires it', () => {
    expect(found.killed).toEqual({ takerCode: 0, holderCode: -9, again: true });
    // takerCode 0 also means the taker saw the FORKFUL_LOCK_OWNER_DIED warning.
  });

  test("a SIGKILLed child's references are dropped by a survivor, freeing the blocks", () => {
    const r = found.reclaim as {
      code: number;
      held: number;
      beforeSweep: number;
      afterSweep: number;
    };
    expect(r.code).toBe(-9);
    expect(r.held).toBeGreaterThanOrEqual(50);
    // Dropped by the parent, still referenced by the dead child's ledger...
    expect(r.beforeSweep).toBeGreaterThanOrEqual(50);
    // ...until a survivor sweeps the dead process's references.
    expect(r.beforeSweep - r.afterSweep).toBeGreaterThanOrEqual(50);
    expect(r.afterSweep).toBeLessThanOrEqual(2);
  });
});

// The native arena, attached by name (arenaEnvironment()): the addon's.
needsAddon.describe('across spawned processes (arenaEnvironment)', () => {
  test('2 children x 100,000 increments, Event, RLock owned by the parent', () => {
    const r = runFixture('sync-spawn.js', [], { timeoutMs: 60000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const s = results(r.stdout).spawn as Record<string, unknown>;
    expect(s.allReady).toEqual([true, true]);
    expect(s.codes).toEqual([0, 0]);
    expect(s.total).toBe(200000);
    expect(s.children).toEqual([
      { rlock: 'RuntimeError', rlockTaken: false, arena: s.arena },
      { rlock: 'RuntimeError', rlockTaken: false, arena: s.arena },
    ]);
  });
});

// Each access to the portable backend's hub-kept Lock and Value is a round
// trip to the hub: fewer increments there.
const increments = addonTested ? 100000 : 2000;

describe('across multiprocessing.Process children (fork or spawn, as FORKFUL_START_METHOD says)', () => {
  let found: Record<string, unknown>;
  beforeAll(() => {
    const r = runFixture('sync-process.js', [], {
      timeoutMs: 60000,
      env: { SYNC_INCREMENTS: String(increments) },
    });
    const other = r.stderr
      .split('\n')
      .filter(
        (l) => l && !l.includes('FORKFUL_LOCK_OWNER_DIED') && !l.includes('--trace-warnings'),
      );
    expect(other).toEqual([]);
    expect(r.status).toBe(0);
    found = results(r.stdout);
  });

  test('4 processes x 100,000 increments under one Lock', () => {
    expect(found['process.mutex']).toEqual({ codes: [0, 0, 0, 0], total: 4 * increments });
  });

  test('Event across processes', () => {
    expect(found['process.event']).toEqual({ got: true, code: 0 });
  });

  test('a holder killed with the lock taken: another Process acquires it', () => {
    expect(found['process.killed']).toEqual({ wasHeld: true, holder: -9, taker: 0 });
  });

  test('Barrier(3) across processes: arrival indexes 0, 1 and 2', () => {
    expect(found['process.barrier']).toEqual({ codes: [0, 0, 0], indexes: 7 });
  });
});
