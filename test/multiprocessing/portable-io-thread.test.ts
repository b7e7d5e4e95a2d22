// The portable backend's I/O thread (lib/multiprocessing/portable/io.ts)
// failing: a blocking call to the hub waits in Atomics.wait, where no
// event of the Worker can reach it, so the thread records its end in shared
// memory and the caller looks at it between slices of its wait. Whether the
// thread fails to load, exits or crashes, blocking and async calls end with
// RuntimeError naming why, never a hang (the fixture is killed after 60 s).
import { results, runFixture } from '../helpers/fixture';

describe.each(['load', 'exit', 'throw'])('the I/O thread fails (%s)', (mode) => {
  const run = runFixture('portable-io-thread-lost.js', [], {
    timeoutMs: 60000,
    env: { FORKFUL_NO_NATIVE: '1', FORKFUL_TEST_IO_FAIL: mode, FORKFUL_HUB: '' },
  });
  const r = results(run.stdout);
  const why = {
    load: /ended: Error: the I\/O thread failed to load \(test\).*\(exit code 1\)/s,
    exit: /ended: it exited \(exit code 3\)/,
    throw: /ended: Error: the I\/O thread crashed \(test\).*\(exit code 1\)/s,
  }[mode]!;
  const lost = expect.objectContaining({
    name: 'RuntimeError',
    code: 'ERR_FORKFUL_RUNTIME',
    message: expect.stringMatching(why),
  });

  test('the fixture completes', () => {
    expect(run.stderr).not.toMatch(/FIXTURE ERROR/);
    expect(r.done).toBe(true);
    expect(run.status).toBe(0);
  });

  test('a blocking call raises RuntimeError naming why', () => {
    expect(r.sync).toEqual(lost);
    expect((r.sync as { message: string }).message).toMatch(
      /cannot be used in this thread any more/,
    );
  });

  test('later calls, blocking and async, raise it at once', () => {
    expect(r.again).toEqual(lost);
    expect(r.async).toEqual(lost);
  });

  test('an async call pending when the thread ends rejects with it', () => {
    expect(r.pending).toEqual(lost);
  });
});
