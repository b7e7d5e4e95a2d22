// Issue 16: a blocking join of a spawned child whose end this thread did not
// see happen. Blocked, a thread gets no event: with the addon joinSync asks
// the kernel (waitid); without it a spawner thread starts and reaps the
// children and posts each exit. Should that thread end before it posts one,
// joinSync raised nothing and waited forever; it now raises RuntimeError
// naming why (the thread records its end in shared memory), and the next
// child gets a new spawner. Waited for on the event loop (join(),
// join(timeout), connection.waitAsync on the sentinel), such a child's end
// never settled anything; those now reject with the same error once the
// loop sees the spawner end. A child that still ran when the spawner ended
// is no longer lost where /proc shows its end (Linux: a zombie keeps its
// exit status there): every wait settles with its exit code.
import { results, runFixture } from '../helpers/fixture';

describe('joinSync of a spawned child that ended unseen', () => {
  test('a child that ended while this thread was blocked is joined with its exit code', () => {
    const run = runFixture('spawn-join-lost.js', [], { timeoutMs: 90000 });
    const r = results(run.stdout);
    expect(run.stderr).not.toMatch(/FIXTURE ERROR/);
    expect(r.done).toBe(true);
    expect(r.endedWhileBlocked).toEqual({ exitcode: 7, ms: expect.any(Number) });
  });

  // The spawner is the portable backend's (no addon): forced here.
  describe.each(['exit', 'throw'])(
    'the spawner thread ends before it reports an exit (%s)',
    (mode) => {
      const run = runFixture('spawn-join-lost.js', [], {
        timeoutMs: 90000,
        env: { FORKFUL_NO_NATIVE: '1', FORKFUL_TEST_SPAWNER_FAIL: mode },
      });
      const r = results(run.stdout);
      const why = {
        exit: 'it exited \\(exit code 3\\)',
        throw: 'Error: the spawner thread crashed \\(test\\) \\(exit code 1\\)',
      }[mode]!;
      const lost = expect.objectContaining({
        name: 'RuntimeError',
        code: 'ERR_FORKFUL_RUNTIME',
        message: expect.stringMatching(
          new RegExp(`^cannot wait for child \\d+: forkful's spawner thread .* ended: ${why}\\.`),
        ),
      });

      test('the fixture completes (it was killed at 90 s: joinSync waited forever)', () => {
        expect(run.stderr).not.toMatch(/FIXTURE ERROR/);
        expect(r.backend).toBe('spawner');
        expect(r.done).toBe(true);
      });

      test('joinSync() without a timeout raises RuntimeError naming why', () => {
        expect(r.lostJoin).toEqual(lost);
      });

      test('later joins and exitcode raise it at once', () => {
        expect(r.lostJoinAgain).toEqual(lost);
        expect(r.lostExitcode).toEqual(lost);
      });

      test('join() and join(timeout) reject with it (they never settled)', () => {
        expect(r.asyncJoin).toEqual(lost);
        expect(r.asyncJoinTimeout).toEqual(lost);
        expect(r.asyncJoinAgain).toEqual(lost);
      });

      test('join() settles with nothing else keeping the event loop alive (the process ended first)', () => {
        expect(r.idleJoin).toEqual(lost);
      });

      test('waits on its sentinel reject or raise with it', () => {
        expect(r.asyncSentinel).toEqual(lost);
        expect(r.syncSentinel).toEqual(lost);
      });

      test("it emits no 'exit' and leaves activeChildren()", () => {
        expect(r.asyncExitEvents).toBe(0);
        expect(r.asyncExitcode).toEqual(lost);
        expect(r.asyncActive).toBe(false);
      });

      test('the next child starts through a new spawner and is joined', () => {
        expect(r.next).toEqual({ exitcode: 5, ms: expect.any(Number) });
      });
    },
  );

  // The stand-in spawner ends 100 ms after it started its child, which
  // exits (code 6) 300 ms into its run: /proc/<pid>/stat shows it a zombie.
  describe('the spawner thread ends while its child still runs (early)', () => {
    const run = runFixture('spawn-join-lost.js', [], {
      timeoutMs: 90000,
      env: { FORKFUL_NO_NATIVE: '1', FORKFUL_TEST_SPAWNER_FAIL: 'early' },
    });
    const r = results(run.stdout);
    const joined = { resolved: true, ms: expect.any(Number) };

    test('the fixture completes', () => {
      expect(run.stderr).not.toMatch(/FIXTURE ERROR/);
      expect(r.backend).toBe('spawner');
      expect(r.done).toBe(true);
    });

    test('join(), join(timeout) and waitAsync on the sentinel settle at its exit', () => {
      expect(r.asyncJoin).toEqual(joined);
      expect(r.asyncJoinTimeout).toEqual(joined);
      expect(r.asyncSentinel).toEqual({ resolved: [expect.any(Number)], ms: expect.any(Number) });
      expect(r.asyncJoinAgain).toEqual(joined);
      expect(r.syncSentinel).toEqual({ ready: 1 });
    });

    test("it has its exit code, emits 'exit' once and leaves activeChildren()", () => {
      expect(r.asyncExitcode).toEqual({ exitcode: 6 });
      expect(r.asyncExitEvents).toBe(1);
      expect(r.asyncActive).toBe(false);
    });

    test('joinSync() and exitcode give its exit code', () => {
      expect(r.lostJoin).toEqual({ exitcode: 6, ms: expect.any(Number) });
      expect(r.lostJoinAgain).toEqual({ exitcode: 6, ms: expect.any(Number) });
      expect(r.lostExitcode).toEqual({ exitcode: 6 });
    });

    test('join() settles with nothing else keeping the event loop alive', () => {
      expect(r.idleJoin).toEqual({ resolved: true, exitcode: 6 });
    });

    test('the next child starts through a new spawner and is joined', () => {
      expect(r.next).toEqual({ exitcode: 5, ms: expect.any(Number) });
    });
  });
});
