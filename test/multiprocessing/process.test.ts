// multiprocessing.Process on the current start method (run the suite with
// FORKFUL_START_METHOD=spawn for the spawn backend). The work happens in
// fixture scripts: the jest worker is itself a forked process.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { backends, results, runFixture, spawnBackend } from '../helpers/fixture';

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function gone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !alive(pid);
}

describe('Process', () => {
  const run = runFixture('mp-process.js', [], { timeoutMs: 60000 });
  const r = results(run.stdout);

  test('the fixture completes', () => {
    expect(run.stderr).not.toMatch(/FIXTURE ERROR/);
    expect(r.done).toBe(true);
    expect(run.status).toBe(0);
    expect(r.method).toBe(spawnBackend ? 'spawn' : 'fork');
  });

  test('start, join, names, currentProcess and parentProcess', () => {
    expect(r.main).toEqual({ name: 'MainProcess', parent: null });
    expect(r.before).toEqual({ name: 'Process-1', pid: true, exitcode: null, alive: false });
    expect(r.info).toMatchObject({
      tag: 'hello',
      name: 'Process-1',
      daemon: false,
      pidMatches: true,
      parentIsUs: true,
    });
    expect(r.after).toEqual({ exitcode: 0, alive: false, exitEvent: 0 });
    expect(r.startTwice).toBe(true);
  });

  test('an async target is awaited', () => {
    expect(r.asyncTarget).toBe('async-done');
    expect(r.asyncExit).toBe(0);
  });

  test('exit codes: exception (printed with its stack), process.exit(3), signals, interrupt()', () => {
    expect(r.exceptionExit).toBe(1);
    expect(run.stderr).toMatch(/Process Process-3:\n(\w*)Error: boom from target\n\s+at /);
    expect(r.exit3).toBe(3);
    expect(r.killed).toBe(-9);
    expect(r.terminated).toEqual({ aliveBefore: true, exitcode: -15 });
    expect(r.interrupted).toBe(-2);
    expect(r.interruptHandled).toEqual({ heard: true, exitcode: 7 });
    expect(r.interruptRaised).toEqual({ heard: true, exitcode: 1 });
  });

  test('join(timeout) returns with the child still alive', () => {
    expect(r.joinTimeout).toEqual({ alive: true, exitcode: null, name: 'sleeper' });
    expect(r.activeChildren).toBe(0);
  });

  test('close() refuses a running process and disables the object', () => {
    expect(r.closeRunning).toBe(true);
    expect(r.closedUse).toBe(true);
  });

  test('shareable objects in args: Lock, Value, Queue, Connection', () => {
    expect(r.shared).toEqual({ queue: 'via-queue', conn: 2 });
    expect(r.sharedValue).toEqual({ value: 42, exitcode: 0 });
  });

  test('a daemonic process may not create children', () => {
    expect(r.daemonChild).toEqual({
      msg: 'ProcessError: daemonic processes are not allowed to have children',
      daemon: true,
    });
  });

  test('closures: fork sees the state at start(); spawn says closures need fork', () => {
    if (spawnBackend) {
      expect(r.closure).toEqual({ exitcode: 1 });
      expect(run.stderr).toMatch(/Closures need the 'fork'\s+start method/);
    } else {
      expect(r.closure).toEqual({ value: 'at-start' });
    }
  });

  test('a child starts and joins its own children', () => {
    const self = (r.nested as { self: string }).self;
    expect(r.nested).toEqual({
      names: [`${self}:1`, `${self}:2`],
      codes: [0, 0],
      exitcode: 0,
      self,
    });
  });

  test('getContext gives a Process of the chosen method', () => {
    expect(r.context).toEqual({ method: 'spawn', tag: 'ctx' });
    expect(r.contextExit).toBe(0);
  });
});

// Python 3.12+: a Process child runs the atexit handlers it registered, not
// those inherited from its parent, however its target ends.
describe("a Process child's 'exit' listeners", () => {
  const run = runFixture('mp-exit-listeners.js', [], { timeoutMs: 60000 });
  const r = results(run.stdout);

  test('the fixture completes', () => {
    expect(run.stderr).not.toMatch(/FIXTURE ERROR/);
    expect(r.done).toBe(true);
    expect(run.status).toBe(0);
  });

  test('those the child adds run when it ends, with its exit code', () => {
    expect(r.returns).toEqual({ exitcode: 0, lines: 'own 0\n' });
    expect(r.throws).toEqual({ exitcode: 1, lines: 'own 1\n' });
    expect(run.stderr).toContain('boom (expected)');
    expect(r.exits).toEqual({ exitcode: 3, lines: 'own 3\n' });
    expect(r.exitCode).toEqual({ exitcode: 5, lines: 'own 5\n' });
  });
});

describe('spawn start method', () => {
  test('a child whose start is slow (a loader such as tsx) still gets its payload and exits 0', () => {
    const slow = pathToFileURL(path.join(__dirname, '..', 'fixtures', 'slow-import.mjs')).href;
    const run = runFixture('spawn-slow-start.js', [], {
      nodeArgs: ['--import', slow],
      timeoutMs: 60000,
    });
    expect(run.stderr).not.toMatch(/FIXTURE ERROR|kPendingMessages/);
    expect(results(run.stdout).codes).toEqual([0, 0, 0]);
  });
});

describe('Process lifecycle hygiene', () => {
  test('100 start/join cycles leave no zombie and no leaked fd', () => {
    const run = runFixture('mp-cycles.js', [spawnBackend ? '30' : '100'], { timeoutMs: 60000 });
    expect(run.stderr).not.toMatch(/FIXTURE ERROR/);
    const r = results(run.stdout);
    expect(r.cycles).toMatchObject({ codes: [0], zombies: 0 });
    // Node may close a transient fd of its own meanwhile: none may be added.
    expect((r.cycles as { leakedFds: number }).leakedFds).toBeLessThanOrEqual(0);
    expect(r.active).toBe(0);
  });

  test('a child does not accept on the parent server nor fire its timers', () => {
    const run = runFixture('mp-isolation.js', [], { timeoutMs: 30000 });
    expect(run.stderr).not.toMatch(/FIXTURE ERROR/);
    const r = results(run.stdout);
    expect(r.server).toEqual({ allParent: true, childAnswered: false });
    expect(r.timers).toEqual({ firedOnlyInParent: true });
    expect(r.childExit).toBe(0);
    expect(r.startContexts).toEqual({
      contexts: [
        { where: 'timer', ok: true, exitcode: 0 },
        { where: 'immediate', ok: true, exitcode: 0 },
        { where: 'io', ok: true, exitcode: 0 },
      ],
      parentCallbacksOnlyInParent: true,
    });
  });

  // Natively PR_SET_PDEATHSIG; without the addon the child's IPC channel,
  // kept as its watch (the parent's death closes it).
  describe.each(backends)('on the %s backend', (_name, env) => {
    test('at exit: non-daemonic children are joined, daemonic ones terminated', async () => {
      const run = runFixture('mp-exit-rules.js', ['normal'], { timeoutMs: 30000, env });
      const r = results(run.stdout);
      expect(run.status).toBe(0);
      expect(r.workerFinished).toBe(true);
      expect(r.exitRan).toEqual({ daemonExit: -15, workerExit: 0 });
      expect(await gone(r.daemonPid as number, 3000)).toBe(true);
      expect(await gone(r.workerPid as number, 3000)).toBe(true);
    });

    test('a daemonic child dies when its parent is killed', async () => {
      const run = runFixture('mp-exit-rules.js', ['killed'], { timeoutMs: 30000, env });
      expect(run.signal).toBe('SIGKILL');
      const r = results(run.stdout);
      expect(typeof r.daemonPid).toBe('number');
      expect(await gone(r.daemonPid as number, 5000)).toBe(true);
    });
  });
});
