// Port of CPython's Lib/test/test_wait3.py: ForkWait.test_wait with
// os.wait3(WNOHANG) as the wait, and the zeroed rusage of a wait3 that found
// nothing: wait3(options) -> [pid, status, rusage].
import { runFixture } from '../helpers/fixture';
import { needsFork } from '../helpers/needs';

jest.setTimeout(60000);

function run(...args: string[]) {
  return runFixture('conformance/os.js', args, { timeoutMs: 60000 });
}

// CPython: @support.requires_fork() (fork_wait.py's ForkWait).
needsFork.describe('Wait3Test', () => {
  test('Wait3Test.test_wait', () => {
    const r = run('fork_wait', 'wait3');
    expect(r.stderr).not.toMatch(/FIXTURE ERROR|AssertionError/);
    expect(r.status).toBe(0);
  });

  test('Wait3Test.test_wait3_rusage_initialized', () => {
    const r = run('wait3_rusage_initialized');
    expect(r.stderr).not.toMatch(/FIXTURE ERROR|AssertionError/);
    expect(r.status).toBe(0);
  });
});
