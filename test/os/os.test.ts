// forkful/os: a real fork of Node and the POSIX process calls around it.
// Forks happen in fixture processes (see test/helpers/fixture.ts).
import * as os from '../../lib/os';
import { ForkError, NotSupportedError, OSError, ValueError } from '../../lib/core/errors';
import { results, runFixture } from '../helpers/fixture';
// waitpid, pipe, kill, onChildExit are the addon's os functions (needsAddon).
import { needsAddon, needsFork } from '../helpers/needs';

needsFork.describe('os.fork', () => {
  test('parent and child values, fork-time memory, pid/ppid, timers/fs/child_process in the child', () => {
    const run = runFixture('os-basic.js');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const r = results(run.stdout);
    const childPid = r['parent.forkReturn'] as number;
    expect(childPid).toBeGreaterThan(0);
    expect(r['child.forkReturn']).toBe(0);
    const pids = r['child.pids'] as Record<string, number>;
    expect(pids.pid).toBe(childPid);
    expect(pids.getpid).toBe(childPid);
    expect(pids.ppid).toBe(pids.parentPid);
    expect(pids.getppid).toBe(pids.parentPid);
    expect(r['child.memory']).toEqual({ counter: 1, list: [1, 2, 3], hidden: 'at-fork' });
    expect(r['child.timer']).toBe(true);
    expect(r['child.fs']).toBe(true);
    expect(r['child.childProcess']).toBe('spawned');
    expect(run.stdout).toContain('console from child works');
    expect(r['child.wasm']).toBe(5);
    expect(r['parent.childExit']).toEqual({ status: 7 << 8, code: 7 });
  });

  test('exit codes and signals through waitpid; WNOHANG while running', () => {
    const run = runFixture('os-exit.js');
    expect(run.status).toBe(0);
    const r = results(run.stdout);
    expect(r.wnohang).toBe(0);
    const codes = r.codes as Record<string, { samePid: boolean; code: number }>;
    const expected: Record<string, number> = {
      natural: 0,
      exitCode: 5,
      processExit: 3,
      osExit: 4,
      exitHandlers: 6,
      beforeExitSchedules: 8,
      uncaught: 1,
      rejection: 1,
      signalled: -9,
    };
    for (const [name, code] of Object.entries(expected)) {
      expect({ name, ...codes[name] }).toEqual({ name, samePid: true, code });
    }
    expect(run.stdout).toContain('exit-handler-ran 6');
    // An uncaught error in a child is printed, as Node prints it.
    expect(run.stderr).toContain('Error: boom in child');
    expect(run.stderr).toContain('Error: rejected in child');
  });

  test('a pipe round trip between parent and child', () => {
    const run = runFixture('os-pipe.js');
    expect(run.status).toBe(0);
    const pipe = results(run.stdout).pipe as Record<string, unknown>;
    expect(pipe.reply).toBe(pipe.expected);
    expect(pipe).toMatchObject({ written: 4, eof: 0, code: 0 });
  });

  test('300 sequential forks under GC pressure: no hang, no crash', () => {
    const run = runFixture('../../scripts/stress-fork.js', ['--forks', '300', '--json'], {
      timeoutMs: 240000,
    });
    expect(run.stderr).toBe('');
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ forks: 300, failures: 0, problems: [] });
    expect(run.status).toBe(0);
  }, 250000);

  test('fork while a Worker runs warns once; fork inside a Worker is a ForkError', () => {
    const run = runFixture('os-threads.js');
    expect(run.status).toBe(0);
    const r = results(run.stdout);
    expect(r.forkInWorker).toMatchObject({ name: 'ForkError' });
    expect(r.withWorker).toEqual({ codes: [0, 0, 0], forkWarnings: 1 });
    expect(run.stderr.match(/ForkWarning/g)).toHaveLength(1);
  });

  test("a forked child counts its own threads from its parent's loops: a Worker of its own warns, V8's threads do not", () => {
    const run = runFixture('os-threads-child.js', [], { timeoutMs: 30000 });
    expect(run.status).toBe(0);
    const r = results(run.stdout);
    expect(r.codes).toEqual([0, 0]);
    expect(r.withWorker).toEqual({ code: 0, warnings: ['FORKFUL_FORK_THREADS'] });
    expect(r.noWorker).toEqual({ code: 0, sum: true, warnings: [] });
  });

  test('fork with a live heap over 300 MB', () => {
    const run = runFixture('os-bigheap.js', [], { timeoutMs: 120000 });
    expect(run.status).toBe(0);
    const r = results(run.stdout).bigheap as { heapMb: number; code: number };
    expect(r.heapMb).toBeGreaterThanOrEqual(300);
    expect(r.code).toBe(0);
  }, 130000);

  test('a Process started inside an onChildExit callback runs and exits 0', () => {
    const run = runFixture('os-fork-in-exit-callback.js');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('in process');
    expect(results(run.stdout).exitcode).toBe(0);
  });

  test('a forked child can fork again', () => {
    const run = runFixture('os-nested.js');
    expect(run.status).toBe(0);
    expect(results(run.stdout).nested).toEqual({ grandchildParentIsChild: true, childCode: 11 });
  });
});

describe('os functions in this process', () => {
  test('getpid/getppid match Node', () => {
    expect(os.getpid()).toBe(process.pid);
    expect(os.getppid()).toBe(process.ppid);
    expect(os.cpuCount()).toBeGreaterThan(0);
  });

  test('waitstatusToExitcode decodes exits and signals as Python does', () => {
    expect(os.waitstatusToExitcode(3 << 8)).toBe(3);
    expect(os.waitstatusToExitcode(9)).toBe(-9);
    expect(() => os.waitstatusToExitcode(0x137f)).toThrow(ValueError);
    expect(() => os.waitstatusToExitcode(1.5)).toThrow(TypeError);
  });

  needsAddon.test('bad fd, pid and signal are typed errors with errno names', () => {
    const expectOSError = (fn: () => unknown, code: string, syscall: string) => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(OSError);
        expect(err).toMatchObject({ code, syscall });
        return;
      }
      throw new Error(`expected ${code} from ${syscall}`);
    };
    expectOSError(() => os.close(987654), 'EBADF', 'close');
    expectOSError(() => os.read(987654, 10), 'EBADF', 'read');
    expectOSError(() => os.write(987654, 'x'), 'EBADF', 'write');
    expectOSError(() => os.waitpid(987654321), 'ECHILD', 'waitpid');
    expectOSError(() => os.kill(987654321, 0), 'ESRCH', 'kill');
    expect(() => os.kill(process.pid, 'SIGNOPE')).toThrow(ValueError);
    expect(() => os.kill(process.pid, 999)).toThrow(ValueError);
    expect(() => os.read(0, -1)).toThrow(ValueError);
    expect(() => os.waitpid('x' as unknown as number)).toThrow(/pid must be a number/);
  });

  needsAddon.test('pipe: write then read in one process; close-on-exec fds', () => {
    const [r, w] = os.pipe();
    try {
      expect(os.write(w, Buffer.from('hello'))).toBe(5);
      expect(os.read(r, 100).toString()).toBe('hello');
    } finally {
      os.close(r);
      os.close(w);
    }
  });

  test('signal names and numbers', () => {
    expect(os.signalNumber('SIGTERM')).toBe(15);
    expect(os.signalNumber('term')).toBe(15);
    expect(os.signalNumber(9)).toBe(9);
  });

  needsAddon.test('onChildExit reports a waited-for child of someone else as an error', () => {
    expect(() => os.onChildExit(987654321, () => {})).toThrow(OSError);
  });
});

describe('errors', () => {
  test('ForkError and NotSupportedError are typed and named', () => {
    const e = new ForkError('x');
    expect(e.name).toBe('ForkError');
    expect(new NotSupportedError('y').name).toBe('NotSupportedError');
  });
});
