// os.fork() first parks V8's platform workers (native/fork.cc). A worker
// that does not take its parking task must neither block the main thread
// for long nor make fork() fail when it waits for the main thread itself
// (issue 14, item 4: "did not become idle within 30 s (3 of 4 parked)").
// FORKFUL_TEST_PARK_STALL (tests only) holds one worker before the parking.
import { inFreshProcess } from '../helpers/fresh-process';
import { needsFork } from '../helpers/needs';

needsFork.describe("os.fork() parking V8's platform workers", () => {
  test('a worker waiting for the main thread (a V8 interrupt, as a background GC request): fork() runs JavaScript and succeeds', () => {
    inFreshProcess(
      (dist) => {
        const assert: typeof import('node:assert') = require('node:assert');
        const os = require(`${dist}/os`);
        // The worker waits until the main thread services a V8 interrupt,
        // which it does only in JavaScript: a fork that blocked until every
        // worker parked waited for it forever (before: 30 s, then ForkError).
        process.env.FORKFUL_TEST_PARK_STALL = 'interrupt';
        const pid = os.fork();
        if (pid === 0) os._exit(7);
        delete process.env.FORKFUL_TEST_PARK_STALL;
        const [, status] = os.waitpid(pid, 0);
        assert.ok(os.WIFEXITED(status) && os.WEXITSTATUS(status) === 7, `status ${status}`);
      },
      { timeoutMs: 25000 },
    );
  });

  test('a worker that stays busy: fork() gives up within its budget, names the thread, and the workers run on', () => {
    inFreshProcess(
      (dist) => {
        const assert: typeof import('node:assert') = require('node:assert');
        const fs = require('node:fs');
        const os = require(`${dist}/os`);
        const { ForkError } = require(dist);
        const sleepMs = (ms: number) =>
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
        const forkAndReap = () => {
          const pid = os.fork();
          if (pid === 0) os._exit(0);
          os.waitpid(pid, 0);
        };
        forkAndReap(); // the workers are known by their thread ids from here
        process.env.FORKFUL_TEST_PARK_STALL = '3000'; // a job holding a worker 3 s
        let err = new Error('fork() succeeded');
        try {
          forkAndReap();
        } catch (e) {
          err = e as Error;
        }
        delete process.env.FORKFUL_TEST_PARK_STALL;
        assert.ok(err instanceof ForkError, `expected a ForkError, got ${err.message}`);
        const m = /(\d+) of (\d+) parked; not parked: tid (\d+) \(/.exec(err.message);
        assert.ok(m, err.message);
        assert.strictEqual(Number(m[1]), Number(m[2]) - 1, err.message);
        assert.ok(fs.existsSync(`/proc/self/task/${m[3]}`), `tid ${m[3]} is no thread of ours`);
        assert.match(err.message, /fork\(\) was not attempted/);
        // The workers that had parked were let go: V8's background work and
        // the next fork go on once the job ends.
        sleepMs(3200);
        forkAndReap();
      },
      { timeoutMs: 25000, env: { FORKFUL_TEST_PARK_BUDGET_MS: '500' } },
    );
  });
});
