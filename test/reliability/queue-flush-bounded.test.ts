// Issue 14: before a blocking call waits (putSync for a slot, joinSync,
// getSync), the feeders of this process write what they hold; that write
// waited for a queue's writer lock without a bound, and a live writer whose
// batch waits for this process to read keeps the lock: the call never
// returned. The wait is now bounded and looked at again between slices.
import { results, runFixture } from '../helpers/fixture';
import { needsFork } from '../helpers/needs';

// (the writer child is a closure: the fork start method)
needsFork.describe(
  'the write before a blocking call waits a bounded time for the writer lock',
  () => {
    test('putSync with a timeout ends (Full) while another live writer holds the lock; nothing is lost', () => {
      const run = runFixture('rel-flush-bounded.js', [], { timeoutMs: 90000 });
      const r = results(run.stdout);
      if (!r.done) {
        throw new Error(`rel-flush-bounded failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
      }
      expect(r.putSync).toEqual({
        full: 'Full',
        within5s: true,
        got: [`big ${4 << 20}`, 'mine'],
        writerExit: 0,
      });
    });
  },
);
