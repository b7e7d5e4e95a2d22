// Port of CPython's Lib/test/test_fork1.py (ForkTest, with fork_wait.py's
// ForkWait.test_wait): forkful Threads run while the main thread forks;
// none of them exists in the child. Run in a process of their own.
// Not ported: test_threaded_import_lock_fork and test_nested_import_lock_fork
// (CPython's import lock; Node's module loading has none to hold across a
// fork).
import { runFixture } from '../helpers/fixture';
import { needsFork } from '../helpers/needs';

jest.setTimeout(60000);

// CPython: @support.requires_fork() (fork_wait.py's ForkWait).
needsFork.describe('ForkTest', () => {
  test('ForkWait.test_wait', () => {
    const r = runFixture('conformance/os.js', ['fork_wait', 'waitpid'], { timeoutMs: 60000 });
    expect(r.stderr).not.toMatch(/FIXTURE ERROR|AssertionError/);
    expect(r.status).toBe(0);
  });
});
