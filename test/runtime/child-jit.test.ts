// Code first run hot in a forked child runs at its parent's speed: the child
// has V8 worker threads of its own (native/child_workers.cc), so concurrent
// TurboFan and Maglev jobs, concurrent OSR out of Maglev and WebAssembly
// compilation run there. Without them a child ran such code 4-8x slower on
// Node 20 (recursion) and 15-75x slower on Node 24/26. Speed is measured by
// the bench (figure 6), never asserted here: the tests assert what the
// children report (their own pool ran V8's tasks, the code ran, it ended).
import { results, runFixture } from '../helpers/fixture';
import { needsFork } from '../helpers/needs';

interface Round {
  parentMs: number;
  childMs?: number;
  childExit?: number | 'timeout';
  same?: boolean;
  workers?: { ownPool: boolean; tasksRun: number; unavailable?: string };
}

const WORKLOADS = ['primes', 'smallCalls', 'recursion', 'osrLoop'];
const ROUNDS = 3;

needsFork.describe('code first run hot in a forked child', () => {
  test('runs on V8 worker threads of its own: primes, a small-function loop, recursion, a Maglev-OSR loop', () => {
    const run = runFixture('child-jit.js', [JSON.stringify({ rounds: ROUNDS })], {
      timeoutMs: 150000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const r = results(run.stdout);
    for (const name of WORKLOADS) {
      const rounds = Array.from({ length: ROUNDS }, (_, i) => r[`${name}.${i}`] as Round);
      for (const round of rounds) {
        // A child stopped for taking over 10x the parent's time (a child
        // without compiler threads, 15-75x) has no childMs.
        expect({ name, childExit: round.childExit }).toEqual({ name, childExit: undefined });
        expect(round.same).toBe(true);
        // V8's background work ran on the child's own threads.
        expect(round.workers).toMatchObject({ ownPool: true });
        expect(round.workers!.tasksRun).toBeGreaterThan(0);
      }
    }
  }, 160000);

  test('a child whose pool is busy forks again: the grandchild finishes the inherited compile and JITs', () => {
    const run = runFixture('child-jit.js', [JSON.stringify({ mode: 'nested' })], {
      timeoutMs: 90000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const r = results(run.stdout);
    expect(r.childExit).toBe(0);
    expect(r.child).toMatchObject({ compile: true, grandchildExit: 0, workers: { ownPool: true } });
    const grandchild = r.grandchild as Round & { ms: number };
    expect(grandchild).toMatchObject({
      same: true,
      inheritedCompile: true,
      newCompile: true,
      workers: { ownPool: true },
    });
    expect(grandchild.workers!.tasksRun).toBeGreaterThan(0);
  }, 100000);

  test('a grandchild runs the tasks its pool adopted, and their foreground steps wake its loop', () => {
    // FORKFUL_TEST_ADOPT_DELAY_MS holds the grandchild's main thread after
    // its pool adopted the queued tasks, as a preempted thread on a loaded
    // machine: an adopted task that posted to the held pool (published
    // too late) hung the grandchild (3 of 51 nested forks on Node 22), and
    // foreground steps posted before uv_loop_fork waited for the timer.
    const run = runFixture('child-jit.js', [JSON.stringify({ mode: 'adopt' })], {
      nodeArgs: ['--v8-pool-size=1'],
      env: { FORKFUL_TEST_ADOPT_DELAY_MS: '300' },
      timeoutMs: 90000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const r = results(run.stdout);
    expect(r.childExit).toBe(0);
    expect(r.grandchildExit).toBe(0);
    expect(r.grandchild).toEqual({
      adoptedTasks: expect.any(Number),
      compiled: true,
      timerFired: false,
      tries: expect.any(Number),
    });
    expect((r.grandchild as { adoptedTasks: number }).adoptedTasks).toBeGreaterThan(0);
  }, 100000);

  test('a Worker started in a forked child runs and ends (Node drained a queue that never empties there)', () => {
    const run = runFixture('child-jit.js', [JSON.stringify({ mode: 'worker' })], {
      timeoutMs: 30000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const r = results(run.stdout);
    expect(r.worker).toMatchObject({ said: 196418, code: 0, workers: { ownPool: true } });
    expect(r.childExit).toBe(0);
  });

  test('FORKFUL_CHILD_WORKERS=0: no pool of its own, and WebAssembly still compiles in the child', () => {
    const run = runFixture('os-basic.js', [], { env: { FORKFUL_CHILD_WORKERS: '0' } });
    expect(run.stderr).toBe(''); // the user's choice: no warning
    expect(run.status).toBe(0);
    const r = results(run.stdout);
    expect(r['child.wasm']).toBe(5);
    const off = runFixture(
      'child-jit.js',
      [JSON.stringify({ rounds: 1, workloads: ['smallCalls'], scale: 0.05 })],
      { env: { FORKFUL_CHILD_WORKERS: '0' } },
    );
    expect(off.status).toBe(0);
    expect((results(off.stdout)['smallCalls.0'] as Round).workers).toEqual(
      expect.objectContaining({
        ownPool: false,
        unavailable: expect.stringMatching(/FORKFUL_CHILD_WORKERS=0/),
      }),
    );
  });
});
