// forkful loaded only by a Worker (test runners' thread pools, piscina), and
// Threads started from a plain Worker. Each case runs in a process of its own:
// what is checked is how that process ends.
import { results, runFixture } from '../helpers/fixture';

describe('forkful loaded only inside a Worker', () => {
  test('Lock, Value, Queue and a Thread in the Worker; the process then exits normally', () => {
    // Without the addon kept loaded (-z nodelete), V8 freed the arena's
    // buffer with a deleter Node had already unloaded: SIGSEGV at exit.
    for (let run = 0; run < 3; run++) {
      const r = runFixture('threading-worker-only.js', ['objects']);
      expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({
        status: 0,
        signal: null,
        stderr: '',
      });
      const found = results(r.stdout);
      expect(found.forkfulLoadedInMain).toBe(false);
      expect(found.worker).toEqual({
        code: 0,
        reported: { queue: { n: 1 }, locked: true, daemon: true, alive: false, ran: 1, value: 42 },
      });
    }
  });

  test('a Thread started in a plain Worker is a daemon, and join() holds the Worker until it ends', () => {
    const r = runFixture('threading-worker-only.js', ['join']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // Without the fix the Worker's loop emptied while join() was pending: it
    // ended without reporting, and its thread was stopped unfinished.
    expect(results(r.stdout).worker).toEqual({
      code: 0,
      reported: { daemon: true, alive: false, ran: 1, value: 42 },
    });
  });

  test('join() without a timeout on a daemon Thread holds the main thread too', () => {
    const r = runFixture('threading-worker-only.js', ['main-daemon']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(results(r.stdout).joined).toEqual({ ran: 1, value: 42 });
  });
});
