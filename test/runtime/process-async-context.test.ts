// Process children started wherever Node tracks an async context (issue:
// children aborted or exited 1 on Node 20-26 when the parent stack they
// abandon left async ids behind). Each case runs in its own process: async
// hooks, once enabled, stay enabled.
import { results, runFixture, spawnBackend } from '../helpers/fixture';

const cases = [
  'timeout',
  'immediate',
  'io',
  'alsRun',
  'alsAwait',
  'alsTimeout',
  'hookInit',
  'hookEvery',
  'executionAsyncResource',
  'microtaskTimerDue',
  'greenlet',
  // Its targets use the parent's Pipe and Process by closure: fork only.
  ...(spawnBackend ? [] : ['nested']),
];

describe('a Process started inside an async context', () => {
  test.each(cases)('%s: the child runs its target and exits 0', (which) => {
    const run = runFixture('process-async-context.js', [which], { timeoutMs: 40000 });
    expect(run.stderr).not.toMatch(/FIXTURE ERROR|corrupted|Assertion failed/);
    const r = results(run.stdout);
    const said = which === 'nested' ? 'nested grandchild ok 0' : `${which} ran`;
    expect(r[which]).toEqual({ said, exitcode: 0 });
    expect(run.status).toBe(0);
  });
});
