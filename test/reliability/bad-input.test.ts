// Issue 14: bad input gets a typed error before anything happens (items 7
// and 12), and joins reap their child (item 8). The checks run in a fixture
// process (forks); this compares what it printed.
import { results, runFixture } from '../helpers/fixture';
import { needsFork } from '../helpers/needs';

needsFork.describe('bad input and reaping', () => {
  let r: Record<string, unknown>;
  beforeAll(() => {
    const run = runFixture('rel-inputs.js', [], { timeoutMs: 90000 });
    r = results(run.stdout);
    if (!r.done)
      throw new Error(`rel-inputs failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
  });

  test('onChildExit: TypeError for a non-function callback, ECHILD for a pid not ours', () => {
    expect(r.onChildExitNotFn).toMatchObject({ name: 'TypeError' });
    expect(r.onChildExitAfter).toBe(3); // the child is still watched and reaped normally
    expect(r.onChildExitNotChild).toMatchObject({ name: 'OSError', code: 'ECHILD' });
    expect(r.onChildExitBadPid).toMatchObject({ name: 'TypeError' });
  });

  test('joinSync reaps at once; await join resolves after the reaping', () => {
    expect(r.joinSyncZombies).toBe(0);
    expect(r.joinUnreaped).toBe(0);
  });

  test('NaN and huge pids are a RangeError (no undefined float-to-int cast)', () => {
    expect(r.waitpidNaN).toMatchObject({ name: 'RangeError' });
    expect(r.killHuge).toMatchObject({ name: 'RangeError' });
  });

  test('os._exit with a non-integer is a TypeError (the process goes on)', () => {
    expect(r.exitNotNumber).toMatchObject({ name: 'TypeError' });
  });

  test('recvBytes: negative maxlength is a ValueError before reading; too long is EMSGSIZE', () => {
    expect(r.recvBytesNegative).toMatchObject({ name: 'ValueError' });
    expect(r.recvBytesKept).toBe('hello');
    expect(r.recvBytesTooLong).toMatchObject({ name: 'OSError', code: 'EMSGSIZE' });
  });

  test('FORKFUL_ARENA_SIZE above what a typed array can span is a ValueError', () => {
    expect(r.arenaSizeHuge).toMatch(/^ValueError: FORKFUL_ARENA_SIZE must be/);
  });

  test('FORKFUL_ARENA stops at the child that attached; the arena memfd is mode 0600', () => {
    expect(r.arenaEnvLeak).toEqual({ works: true, inChild: null, inGrandchild: '' });
    expect(r.arenaMode).toBe('600');
  });
});
