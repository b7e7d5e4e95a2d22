// A Process started from an immediate that forkful did not wrap (queued
// before it loaded, by jest, by Node itself) with others queued behind it:
// the child ran its target in a loop that never blocked (100% CPU, its
// timers late), or died (exit 1) when the immediate was mid-batch. This is
// what test/conformance's settle() used to work around.
import { results, runFixture } from '../helpers/fixture';
import { needsFork } from '../helpers/needs';

needsFork.describe('a Process started from an immediate forkful did not wrap', () => {
  test('the child runs its target without spinning, wherever the immediate is in its batch', () => {
    const run = runFixture('child-untracked-immediate.js', [], { timeoutMs: 90000 });
    const r = results(run.stdout);
    if (!r.done) {
      throw new Error(
        `child-untracked-immediate failed (${run.status}):\n${run.stdout}\n${run.stderr}`,
      );
    }
    // 3: the child used more than 150 ms of CPU while it waited 300 ms.
    expect(r.exitcodes).toEqual({
      inside: [0, 0, 0, 0],
      insideFirstOfTwo: [0, 0, 0, 0],
      afterResolve: [0, 0, 0, 0],
    });
  });
});
