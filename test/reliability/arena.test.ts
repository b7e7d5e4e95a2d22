// Issue 14, item 3: the shared arena fills only when live objects fill it.
// Freed big blocks serve small ones (split and merge across size classes);
// an allocation that finds the arena full first reclaims the blocks of
// collected objects, in an async loop and in a synchronous one.
import { results, runFixture } from '../helpers/fixture';
import { needsAddon } from '../helpers/needs';

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

  // The semaphore and the shutdown word stay until the Queue is collected
  // (qsize(), full() and isShutdown answer after close(), as in Python).
  test('a Queue closed after use leaves only its semaphore and shutdown word; no fd stays open', () => {
    expect(r.queue).toEqual({ maxLeft: 2, fdGrowth: 0 });
    expect(r.queueUnused).toEqual({ maxLeft: 2, fdGrowth: 0 });
    expect(r.queueDisposed).toEqual({ maxLeft: 2, fdGrowth: 0 });
  });

  test('a SimpleQueue closed leaves nothing', () => {
    expect(r.simpleQueue).toEqual({ maxLeft: 0, fdGrowth: 0 });
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
