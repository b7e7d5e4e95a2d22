// Issue 14, item 11: Queue create/use/close cycles grew the process's
// memory. A closed Queue that is still referenced (or not yet collected)
// must not keep buffers of its own: each kept a 64 KiB accumulation
// buffer, and the process's malloc heap kept their high-water mark.
import { results, runFixture } from '../helpers/fixture';
import { needsAddon } from '../helpers/needs';

// The feeder and the shared reader are the addon's queue; without it the
// queue lives in the portable hub.
needsAddon.describe('what a closed Queue keeps', () => {
  let r: Record<string, unknown>;
  beforeAll(() => {
    const run = runFixture('rel-queue-retained.js', [], {
      timeoutMs: 120000,
      nodeArgs: ['--expose-gc'],
    });
    r = results(run.stdout);
    if (!r.done) {
      throw new Error(`rel-queue-retained failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
    }
  });

  // 200 queues, each put on, read and closed, all still referenced, after a
  // full collection: under 1 KiB of ArrayBuffers each (it was 64 KiB).
  test.each(['Queue', 'JoinableQueue', 'SimpleQueue'])('%s: no buffers, no fds', (kind) => {
    const { perQueue, fdGrowth } = r[kind] as { perQueue: number; fdGrowth: number };
    expect({ fdGrowth, perQueueUnder1KiB: perQueue < 1024 }).toEqual({
      fdGrowth: 0,
      perQueueUnder1KiB: true,
    });
  });

  // Queues and pipes made, used, closed and dropped in a loop that never
  // yields to the event loop: nothing waits for a FinalizationRegistry
  // callback (which needs a turn). The arena's live blocks stay where they
  // were (a Queue left 2 a cycle, a JoinableQueue 5) and a full collection
  // leaves the heap where it was (~500 bytes a Queue stayed: registry cells
  // and holds): under 200 bytes a cycle.
  test.each(['Queue', 'JoinableQueue', 'SimpleQueue', 'Pipe'])(
    '%s: cycles that never yield leave no blocks and no heap behind',
    (kind) => {
      const { heapPerCycle, liveGrowth } = r[`dropped${kind}`] as {
        heapPerCycle: number;
        liveGrowth: number;
      };
      expect({ liveGrowth, heapUnder200: heapPerCycle < 200, heapPerCycle }).toEqual({
        liveGrowth: 0,
        heapUnder200: true,
        heapPerCycle,
      });
    },
  );
});
