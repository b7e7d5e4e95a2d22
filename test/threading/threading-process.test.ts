// forkful/threading behaviour that needs a process of its own: the exit rule
// (daemon and non-daemon threads), the default excepthook, thread output,
// ES module callers, local subclasses, and fork() next to Threads.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { results, runFixture } from '../helpers/fixture';
import { needsFork } from '../helpers/needs';

describe('threading in a process of its own', () => {
  test('a non-daemon thread keeps the process alive until it ends', () => {
    const r = runFixture('threading-exit.js', ['nondaemon'], { timeoutMs: 20000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('main script done\nthread finished\n');
  });

  test('a daemon thread does not keep the process alive', () => {
    // The thread would sleep 60 s: the fixture's 20 s bound fails the test if it holds on.
    const r = runFixture('threading-exit.js', ['daemon'], { timeoutMs: 20000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('main script done\n');
  });

  test('a daemon thread blocked on a Lock does not hold the process; exit code kept', () => {
    const r = runFixture('threading-exit.js', ['daemon-lock'], { timeoutMs: 20000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('main script done\n');
  });

  test('process.exit() ends the process although a thread is blocked on a Lock', () => {
    const r = runFixture('threading-exit.js', ['exit-now'], { timeoutMs: 20000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(4);
    expect(r.stdout).toBe('main exits\n');
  });

  test('the default excepthook prints the thread name and stack; join resolves', () => {
    const r = runFixture('threading-exit.js', ['exception'], { timeoutMs: 20000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('joined alive=false\n');
    expect(r.stderr).toMatch(
      /^Exception in thread Boom:\nRangeError: thread blew up\n\s+at explode/,
    );
    // The stack points at the function's own line in the caller's file.
    const fixture = fs.readFileSync(
      path.join(__dirname, '..', 'fixtures', 'threading-exit.js'),
      'utf8',
    );
    const line =
      fixture.split('\n').findIndex((l) => l.includes("new RangeError('thread blew up')")) + 1;
    expect(r.stderr).toContain(
      `at explode (${path.join(__dirname, '..', 'fixtures', 'threading-exit.js')}:${line}:`,
    );
  });

  test('thread output reaches stdout/stderr when written, even while main blocks', () => {
    const r = runFixture('threading-exit.js', ['output'], { timeoutMs: 20000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('line 1 from thread\nline 2 from thread\nafter joinSync\n');
    expect(r.stderr).toBe('error line from thread\n');
  });

  test('an ES module caller: require, import() and relative imports in the thread', () => {
    const r = runFixture('threading-esm.mjs', [], { timeoutMs: 20000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(results(r.stdout)).toEqual({ inside: ['Thread-E', '/', 7], module: [true, 9] });
  });

  test('a local subclass runs its constructor once per thread', () => {
    const r = runFixture('threading-local.js', [], { timeoutMs: 20000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const found = results(r.stdout);
    expect(found.threads).toEqual([1, 1, 1, 1]);
    expect(found.main).toEqual(['blue', 1, 99]);
    const closure = found.closure as string[];
    expect(closure).toHaveLength(1);
    expect(closure[0]).toMatch(/suffix is not defined.*cannot see the caller's closure/);
  });

  needsFork.test(
    'fork() with a Thread running warns, the child has no threads, and a Thread cannot fork',
    () => {
      const r = runFixture('threading-fork.js', [], { timeoutMs: 20000 });
      expect(r.status).toBe(0);
      expect(results(r.stdout)).toEqual({
        child: { alive: false, count: 1 },
        childJoin: true,
        childExit: 0,
        forkInThread: [['ForkError', 'Forker']],
        warnings: ['FORKFUL_FORK_THREADS'],
      });
      expect(r.stderr).toMatch(/ForkWarning/);
    },
  );
});
