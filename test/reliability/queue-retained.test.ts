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
});
