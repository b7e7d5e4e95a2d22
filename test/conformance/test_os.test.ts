// Port of the fork and wait parts of CPython's Lib/test/test_os.py
// (PidTests, ForkTests) to forkful/os. They fork, so each runs in a process
// of its own (test/fixtures/conformance/os.js) that asserts inside.
// test_posix.py's test_register_at_fork is not ported (os.register_at_fork
// is not in forkful's API); the Windows-only cases neither.
import { runFixture } from '../helpers/fixture';

jest.setTimeout(60000);

function run(name: string, ...args: string[]) {
  return runFixture('conformance/os.js', [name, ...args], { timeoutMs: 60000 });
}

function expectOk(r: ReturnType<typeof run>): void {
  expect(r.stderr).not.toMatch(/FIXTURE ERROR|AssertionError/);
  expect(r.status).toBe(0);
}

describe('PidTests', () => {
  test('PidTests.test_getppid', () => expectOk(run('getppid')));
  test('PidTests.test_waitpid', () => expectOk(run('waitpid')));
  test('PidTests.test_waitstatus_to_exitcode', () => expectOk(run('waitstatus_to_exitcode')));
  test('PidTests.test_waitstatus_to_exitcode_kill', () =>
    expectOk(run('waitstatus_to_exitcode_kill')));
});

describe('ForkTests', () => {
  test('ForkTests.test_fork', () => {
    const r = run('fork');
    expectOk(r);
    expect(r.stdout).toBe('');
  });

  // Bug: fork() warns only when the other threads loaded forkful: a plain
  // Worker (Python's "non-Python thread") goes unnoticed.
  test.failing('ForkTests.test_fork_warns_when_non_python_thread_exists', () => {
    const r = run('fork_warns_when_other_thread_exists');
    expectOk(r);
    expect(r.stdout).toBe('');
  });

  // os.fork() in an 'exit' listener raises RuntimeError, as Python's at
  // interpreter shutdown.
  test('ForkTests.test_fork_at_finalization', () => {
    const r = run('fork_at_finalization');
    expect(r.stdout).toBe('OK\n');
    expect(r.stderr).toContain("can't fork at interpreter shutdown");
  });
});
