// Port of the fork and wait parts of CPython's Lib/test/test_os.py
// (PidTests, ForkTests) to forkful/os. They fork, so each runs in a process
// of its own (test/fixtures/conformance/os.js) that asserts inside.
// test_posix.py's test_register_at_fork is not ported (os.register_at_fork
// is not in forkful's API); the Windows-only cases neither.
import { runFixture } from '../helpers/fixture';
import { needsFork } from '../helpers/needs';
import * as os from '../../lib/os';
import { ValueError } from '../../lib/core/errors';

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
  // Python starts these children with os.spawnv; forkful's os has no
  // spawn, and a child that os.waitpid can reap comes only from os.fork
  // (Node reaps the children it spawns itself).
  needsFork.test('PidTests.test_waitpid', () => expectOk(run('waitpid')));
  needsFork.test('PidTests.test_waitstatus_to_exitcode', () =>
    expectOk(run('waitstatus_to_exitcode')),
  );
  needsFork.test('PidTests.test_waitstatus_to_exitcode_kill', () =>
    expectOk(run('waitstatus_to_exitcode_kill')),
  );

  // The arithmetic half of the two cases above: no child needed, so it
  // runs on every backend.
  test('PidTests.test_waitstatus_to_exitcode (the status arithmetic)', () => {
    expect(os.waitstatusToExitcode(23 << 8)).toBe(23);
    expect(os.waitstatusToExitcode(0)).toBe(0);
    expect(os.waitstatusToExitcode(9)).toBe(-9);
    // Python: TypeError for the float 0.0; a fraction stands for it.
    expect(() => os.waitstatusToExitcode(0.5)).toThrow(TypeError);
    // A stopped child (WIFSTOPPED) has no exit code.
    expect(() => os.waitstatusToExitcode((19 << 8) | 0x7f)).toThrow(ValueError);
  });
});

// CPython: @support.requires_fork() on the class.
needsFork.describe('ForkTests', () => {
  test('ForkTests.test_fork', () => {
    const r = run('fork');
    expectOk(r);
    expect(r.stdout).toBe('');
  });

  // A plain Worker (Python's "non-Python thread"), blocked in Atomics.wait:
  // seen by the event loop it has (native/threads.cc).
  test('ForkTests.test_fork_warns_when_non_python_thread_exists', () => {
    const r = run('fork_warns_when_other_thread_exists');
    expectOk(r);
    expect(r.stdout).toBe('');
  });

  // os.fork() in an 'exit' listener raises RuntimeError, as Python's at
  // interpreter shutdown.
  test('ForkTests.test_fork_at_finalization', () => {
    const r = run('fork_at_finalization');
    expect(r.stdout).toBe('OK\n');
    expect(r.stderr).toContain("RuntimeError: can't fork at interpreter shutdown");
  });
});
