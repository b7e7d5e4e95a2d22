// Port of CPython's Lib/test/test_wait4.py: ForkWait.test_wait with
// os.wait4(pid, WNOHANG) as the wait: wait4(pid, options) ->
// [pid, status, rusage].
import { runFixture } from '../helpers/fixture';
import { needsFork } from '../helpers/needs';

jest.setTimeout(60000);

// CPython: @support.requires_fork() (fork_wait.py's ForkWait).
needsFork.describe('Wait4Test', () => {
  test('Wait4Test.test_wait', () => {
    const r = runFixture('conformance/os.js', ['fork_wait', 'wait4'], { timeoutMs: 60000 });
    expect(r.stderr).not.toMatch(/FIXTURE ERROR|AssertionError/);
    expect(r.status).toBe(0);
  });
});
