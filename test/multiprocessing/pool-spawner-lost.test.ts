// Issue 16: Pool workers whose spawner thread ended. Without the addon a
// spawner thread starts and reaps spawned children; the fixture starts the
// workers through a stand-in that ends early (forced on every backend: the
// spawner exists only without the addon). A worker whose exit went
// unreported ('exit': the spawner reaped it and ended) used to leave the
// task it held pending for ever; it now fails that task with
// WorkerLostError, is replaced, and the pool goes on, as a worker killed on
// the fork backend. Workers that outlive their spawner ('early') are
// watched in /proc: their ends are reported with exit codes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { results, runFixture } from '../helpers/fixture';

const lost = (exitcode: number | null, message: RegExp) => ({
  name: 'WorkerLostError',
  lost: true,
  exitcode,
  message: expect.stringMatching(message),
});
const unseen =
  /^pool worker \d+ ended while running this task \(its exit code cannot be known: cannot wait for child \d+: forkful's spawner thread .* ended: it exited \(exit code 3\)\..*\); the pool replaced it/;
const killed = /^pool worker \d+ was killed by signal 9 while running this task/;

describe('a Pool whose spawner thread ends (portable backend)', () => {
  describe('the spawner ends as a worker exits, before it reports the exit', () => {
    const run = runFixture('pool-spawner-lost.js', [], {
      timeoutMs: 120000,
      env: { FORKFUL_NO_NATIVE: '1', FORKFUL_TEST_SPAWNER_FAIL: 'exit' },
    });
    const r = results(run.stdout);

    test('the fixture completes', () => {
      expect(run.stderr).not.toMatch(/FIXTURE ERROR/);
      expect(r.done).toBe(true);
    });

    test('map: the task of the killed worker fails with WorkerLostError (it was pending for ever)', () => {
      expect(r.mapKilled).toEqual(lost(null, unseen));
      expect(r.mapAfter).toEqual({ value: [1, 4, 9] });
      expect(r.closeJoin).toEqual({ value: null });
    });

    test('apply: the same; terminate() and join() settle', () => {
      expect(r.applyKilled).toEqual(lost(null, unseen));
      expect(r.applyAfter).toEqual({ value: 3 });
      expect(r.terminateJoin).toEqual({ value: null });
    });

    test('getSync() learns of the loss itself and raises WorkerLostError', () => {
      expect(r.getSyncKilled).toEqual(lost(null, unseen));
      expect(r.getSyncAfter).toEqual({ value: [16] });
      expect(r.getSyncJoin).toEqual({ value: null });
    });
  });

  describe('the spawner ends while its workers run a map', () => {
    const mark = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'forkful-')), 'spawner-ended');
    afterAll(() => fs.rmSync(path.dirname(mark), { recursive: true, force: true }));
    const run = runFixture('pool-spawner-lost.js', [], {
      timeoutMs: 120000,
      env: {
        FORKFUL_NO_NATIVE: '1',
        FORKFUL_TEST_SPAWNER_FAIL: 'early',
        FORKFUL_TEST_SPAWNER_FORKS: '2',
        FORKFUL_TEST_SPAWNER_MARK: mark,
      },
    });
    const r = results(run.stdout);

    test('the fixture completes', () => {
      expect(run.stderr).not.toMatch(/FIXTURE ERROR/);
      expect(r.done).toBe(true);
    });

    test('the map completes on the same workers', () => {
      expect(r.mapWhileSpawnerEnded).toEqual({ done: true, sameWorkers: true });
    });

    test('a worker killed mid-task is reported with its signal and replaced; close() and join() settle', () => {
      expect(r.mapKilled).toEqual(lost(-9, killed));
      expect(r.mapAfter).toEqual({ value: [1, 4, 9] });
      expect(r.closeJoin).toEqual({ value: null });
    });

    test('workers that outlived their spawner stay zombies until this process exits (no waitpid without the addon)', () => {
      const zombie = { state: 'Z', parentIsThisProcess: true };
      expect(r.states).toEqual([zombie, zombie]);
    });
  });
});
