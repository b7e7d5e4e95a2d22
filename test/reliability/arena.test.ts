// Issue 14, item 3: the shared arena fills only when live objects fill it.
// Freed big blocks serve small ones (split and merge across size classes);
// an allocation that finds the arena full first reclaims the blocks of
// collected objects, in an async loop and in a synchronous one.
import { results, runFixture } from '../helpers/fixture';
import { needsAddon, needsFork } from '../helpers/needs';

// The fixed-size memfd arena (FORKFUL_ARENA_SIZE) is the addon's: without it
// threading's objects live in a SharedArrayBuffer that grows, and
// multiprocessing's in the portable hub, so nothing here can fill.
needsAddon.describe('shared arena under churn', () => {
  let r: Record<string, unknown>;
  beforeAll(() => {
    const run = runFixture('rel-arena.js', [], {
      timeoutMs: 120000,
      env: { FORKFUL_ARENA_SIZE: String(4 << 20) },
    });
    r = results(run.stdout);
    if (!r.done) throw new Error(`rel-arena failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
  });

  test('after big blocks are dropped, small blocks fill most of the arena', () => {
    const s = r.split as { size: number; bigCount: number; smalls: number; keptIntact: boolean };
    expect(s.bigCount).toBeGreaterThan(50);
    expect(s.keptIntact).toBe(true);
    // A 64-byte block each, plus its 8-byte entry in this process's ledger.
    expect(s.smalls).toBeGreaterThan((s.size / 96) * 0.9);
  });

  test('Queues created and closed in an async loop never fill it', () => {
    expect(r.queueChurn).toEqual({ failedAt: null });
  });

  test('Locks made and dropped in a synchronous loop never fill it', () => {
    expect((r.syncLocks as { lockFailedAt: number | null }).lockFailedAt).toBeNull();
  });
});

// close() and Symbol.dispose give a queue's blocks back at once (not when
// the Queue is collected): loops that never yield to the event loop, in a
// 1 MiB arena, run four times the arena's worth of queues.
// The addon's memfd arena: without the addon, queues live in the hub.
needsAddon.describe('closed queues give their arena blocks back at once', () => {
  let r: Record<string, unknown>;
  beforeAll(() => {
    const run = runFixture('rel-arena-close.js', [], {
      timeoutMs: 120000,
      env: { FORKFUL_ARENA_SIZE: String(1 << 20) },
      nodeArgs: ['--expose-gc'],
    });
    r = results(run.stdout);
    if (!r.done) {
      throw new Error(`rel-arena-close failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
    }
  });

  // The semaphore and the shutdown word go back too when no other process
  // holds them (they waited for the collector: issue 14, item 11).
  test('a Queue closed after use leaves nothing; no fd stays open', () => {
    expect(r.queue).toEqual({ maxLeft: 0, fdGrowth: 0 });
    expect(r.queueUnused).toEqual({ maxLeft: 0, fdGrowth: 0 });
    expect(r.queueDisposed).toEqual({ maxLeft: 0, fdGrowth: 0 });
  });

  test('a JoinableQueue closed with every item done leaves nothing', () => {
    expect(r.joinableQueue).toEqual({ maxLeft: 0, fdGrowth: 0 });
  });

  test('a SimpleQueue closed leaves nothing', () => {
    expect(r.simpleQueue).toEqual({ maxLeft: 0, fdGrowth: 0 });
  });

  // Python's qsize(), full(), taskDone() and join() work after close(): the
  // last values answer; a JoinableQueue with an item not done keeps its
  // blocks (semaphore, shutdown word, condition, counter: only the
  // channel's 3 go back) so that taskDone() and join() still work.
  test('what answers after close()', () => {
    expect(r.afterClose).toEqual({
      left: -5,
      qsize: 2,
      full: false,
      isShutdown: false,
      shutIsShutdown: true,
      jLeft: -3,
      unfinished: 1,
      unfinishedAfter: 0,
      tooMany: 'ValueError',
    });
  });

  // A forked child holds the blocks too: the parent's close() leaves the
  // semaphore, and the child's puts count in the parent's qsize().
  needsFork.test("a queue a forked child holds keeps its semaphore at the parent's close()", () => {
    expect(r.forkedChild).toEqual({ exitcode: 0, qsize: 2 });
  });

  test('a get() under way keeps the blocks until it ends', () => {
    // Measured without yielding after close(): nothing went back yet. After
    // the get, its three blocks did (a late collection may add others).
    const { duringGet, afterGet, outcome } = r.pendingGet as Record<string, unknown>;
    expect({ duringGet, outcome }).toEqual({ duringGet: 0, outcome: 'Empty' });
    expect(afterGet).toBeLessThanOrEqual(-3);
  });

  test('a queue whose handle was sent keeps them until it is collected', () => {
    expect(r.sent).toEqual({ afterClose: 0 });
  });
});
