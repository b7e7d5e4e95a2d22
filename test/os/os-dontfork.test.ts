// os.fork()'s DONTFORK bookkeeping: children see all of V8's heap whether the
// fork rescanned smaps or used the mappings it knew, and the parent gets
// exactly its DONTFORK flags back. The forks run in a fixture process.
import { results, runFixture } from '../helpers/fixture';
import { needsFork } from '../helpers/needs';

needsFork.describe('os.fork DONTFORK bookkeeping', () => {
  test('children see every live object across changing and unchanged mappings; flags restored', () => {
    const run = runFixture('os-dontfork.js', [], { nodeArgs: ['--expose-gc'], timeoutMs: 60000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const r = results(run.stdout);
    expect(r.changing).toEqual({ failures: 0, fullScans: true, knownSet: true });
    const restore = r.restore as { knownSetForks: number };
    expect(restore).toMatchObject({ failures: 0, comparedEnough: true, mismatches: [] });
    // Reading smaps in the fixture may add a mapping: the first fork rescans.
    expect(restore.knownSetForks).toBeGreaterThanOrEqual(8);
  }, 70000);
});
