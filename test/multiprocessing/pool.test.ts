// multiprocessing.Pool, on the backend FORKFUL_START_METHOD selects. The
// pools run in fixture processes (the jest worker is itself a forked
// process with an IPC channel); these tests assert on what they print.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { results, runFixture, spawnBackend } from '../helpers/fixture';
import { needsFork } from '../helpers/needs';

type Described = { name: string; lost: boolean; exitcode: number | null; message: string };
type Failed = { error: string; message: string; stack: string };

describe('Pool', () => {
  let basic: Record<string, unknown>;
  beforeAll(() => {
    const run = runFixture('pool-basic.js', [], { timeoutMs: 60000 });
    basic = results(run.stdout);
    if (run.status !== 0 || !basic.done) {
      throw new Error(`pool-basic failed (status ${run.status}):\n${run.stdout}\n${run.stderr}`);
    }
  });

  test('runs on the selected backend', () => {
    expect(basic.spawnBackend).toBe(spawnBackend);
  });

  test('map, starmap and apply return results in input order', () => {
    expect(basic.map).toEqual([1, 4, 9, 16, 25, 36, 49]);
    expect(basic.mapEmpty).toEqual([]);
    expect(basic.mapMixedResults).toEqual({
      same: true,
      negativeZero: true,
      at99: -99,
      at100: '#100',
    });
    expect(basic.mapPackedSpecials).toEqual({ nan: true, infinity: true, zero: true, rest: true });
    expect(basic.mapPackedInputs).toEqual({
      edges: true,
      mixed: true,
      holes: true,
      bigint: true,
      objects: true,
      copiedAtCall: true,
    });
    expect(basic.apply).toBe(42);
    expect(basic.applyMicrotasks).toBe(0);
    expect(basic.starmap).toEqual([3, 7, 11]);
    expect(basic.starmapAsync).toEqual([2, 4]);
  });

  test('order holds with uneven task times (map, imap); imapUnordered yields as done', () => {
    expect(basic.uneven).toEqual([40, 1, 30, 2, 20, 3, 10, 0]);
    expect(basic.imap).toEqual([30, 1, 20, 2, 10]);
    const unordered = basic.imapUnordered as number[];
    expect([...unordered].sort((a, b) => a - b)).toEqual([1, 2, 60]);
    expect(unordered[2]).toBe(60);
  });

  test('a task returning a Promise is awaited in the worker', () => {
    expect(basic.asyncTask).toEqual([2, 4, 6]);
  });

  test('100,000 tiny tasks and payloads of several MB each way', () => {
    expect(basic.many).toBe(true);
    expect(basic.bigPayload).toEqual([
      [8 * 1024 * 1024, 2, 2],
      [8 * 1024 * 1024, 3, 3],
    ]);
  });

  test("a task's exception rejects the call with the worker's error and stack", () => {
    const err = basic.error as Failed;
    expect(err.error).toBe('RangeError');
    expect(err.message).toBe('task failed: bad input');
    expect(err.stack).toContain('pool-tasks.js');
    expect(err.stack).toMatch(/in pool worker \d+/);
    const inMap = basic.errorInMap as Failed;
    expect(inMap.message).toBe('three is not allowed');
    expect(basic.afterError).toEqual([81, 100]);
  });

  test('an argument or result that cannot travel fails with SerializationError', () => {
    expect((basic.badArgument as Failed).error).toBe('SerializationError');
    expect((basic.badArgument as Failed).message).toMatch(/arguments cannot be sent/);
    expect((basic.badResult as Failed).error).toBe('SerializationError');
    expect((basic.badResult as Failed).message).toMatch(/result cannot be sent back/);
  });

  test('initializer runs once in each worker', () => {
    expect(basic.initializer).toBe(true);
  });

  test('closures: captured state on fork, a clear error on spawn', () => {
    if (spawnBackend) {
      for (const key of ['closure', 'lateFunction']) {
        const err = basic[key] as Failed;
        expect(err.error).toBe('NotSupportedError');
        expect(err.message).toMatch(/is not defined/);
        expect(err.message).toMatch(/fork/);
      }
    } else {
      expect(basic.closure).toEqual([7, 14, 21]);
      expect(basic.lateFunction).toEqual([101, 102]);
    }
    expect(basic.selfContained).toEqual([2, 3, 4]);
  });

  test('AsyncResult: get, wait, ready, successful, callbacks, timeout, getSync', () => {
    expect(basic.asyncResult).toEqual({ v: 2, ready: true, ok: true, seen: [2] });
    expect(basic.asyncResultError).toEqual({
      ready: true,
      ok: false,
      err: 'RangeError',
      seen: ['task failed: x'],
    });
    expect(basic.getUnbounded).toEqual({
      order: ['callback 5', 'get 5', 'get again 5', 'errorCallback task failed: y'],
      settled: 5,
      errs: ['RangeError: task failed: y', 'RangeError: task failed: y'],
    });
    expect(basic.successfulNotReady).toBe('ValueError');
    expect(basic.getTimeout).toEqual({ name: 'TimeoutError', later: 300 });
    expect(basic.getSync).toEqual([1, 4, 9]);
  });

  test('close, join, maxtasksperchild, terminate, asyncDispose and withPool', () => {
    expect(basic.afterClose).toBe('BrokenPoolError');
    expect(basic.joined).toBe(true);
    expect(basic.maxtasks).toBe(true);
    expect(basic.withPool).toEqual([9, 16]);
    expect(basic.asyncDispose).toEqual({ out: [25], after: 'BrokenPoolError' });
    expect(basic.terminateRejects).toEqual({ err: 'BrokenPoolError', prompt: true, alive: false });
  });

  test('a failing initializer breaks the pool with BrokenPoolError (no restart loop)', () => {
    expect(basic.initializerFails).toEqual({
      first: { name: 'BrokenPoolError', cause: 'task failed: in init' },
      later: 'BrokenPoolError',
    });
  });

  test('getSync sees a worker lost while it blocks, and the pool goes on', () => {
    expect(basic.getSyncWorkerLost).toEqual({ out: 'WorkerLostError', after: 5 });
  });
});

describe('Pool worker loss', () => {
  let loss: Record<string, unknown>;
  beforeAll(() => {
    const run = runFixture('pool-loss.js', [], { timeoutMs: 60000 });
    loss = results(run.stdout);
    if (run.status !== 0 || !loss.done) {
      throw new Error(`pool-loss failed (status ${run.status}):\n${run.stdout}\n${run.stderr}`);
    }
  });

  test('SIGKILL mid-map: the lost chunks fail with WorkerLostError, the rest complete', () => {
    const out = loss.externalKill as Array<Described | string>;
    expect(out).toHaveLength(6);
    for (const i of [0, 1]) {
      const e = out[i] as Described;
      expect(e.lost).toBe(true);
      expect(e.exitcode).toBe(-9);
    }
    expect(out[4]).toBe('new worker');
    expect(out[5]).toBe('new worker');
    for (const v of out) {
      if (typeof v === 'string') expect(v).toBe('new worker');
      else expect(v.lost).toBe(true);
    }
    expect(loss.afterExternalKill).toEqual([1, 4, 9, 16, 25]);
  });

  test('process.exit, SIGKILL and a segfault inside a task', () => {
    expect(loss['die-exit']).toMatchObject({ lost: true, exitcode: 3 });
    expect(loss['die-kill']).toMatchObject({ lost: true, exitcode: -9 });
    expect(loss['die-segv']).toMatchObject({ lost: true, exitcode: -11 });
  });

  test('only the calls on the dying worker fail; the pool then works', () => {
    const out = loss.independent as Array<Described | number>;
    expect(out[0]).toBe(50);
    expect((out[1] as Described).lost).toBe(true);
    expect(out[2]).toBe(60);
    expect(out[3]).toBe(3);
    expect(loss.afterLoss).toBe(999 * 999);
  });

  test("callers' continuations never run in a worker forked right after they settled", () => {
    expect(loss.leak).toBeUndefined();
    expect(loss.continuations).toEqual({ lossOut: [2, 3], mtOut: [0, 1, 4] });
  });

  test('no stray processes after close and join', () => {
    expect(loss.noStray).toEqual([]);
  });
});

needsFork.describe('Pool inside a forked child (fork only)', () => {
  test('the child makes its own pool; the inherited one stays the parent’s', () => {
    const run = runFixture('pool-nested.js', [], { timeoutMs: 30000 });
    const r = results(run.stdout);
    expect(run.status).toBe(0);
    expect(r.outerBefore).toEqual([1001, 1002]);
    expect(r.child).toEqual({
      values: [3, 6, 9],
      parentIsChild: true,
      inherited: 'BrokenPoolError',
    });
    expect(r.childExit).toBe(0);
    expect(r.outerAfter).toEqual([1003, 1004]);
    expect(r.done).toBe(true);
  });
});

describe('Pool examples (the article)', () => {
  const run = (name: string) => {
    const script = path.join(__dirname, '..', '..', 'examples', name);
    return spawnSync(process.execPath, [script], {
      encoding: 'utf8',
      timeout: 30000,
      killSignal: 'SIGKILL',
    });
  };

  test('11-pool-map prints every square and a worker pid', () => {
    const r = run('11-pool-map.js');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map(Number);
    const squares = lines.filter((n) => n < 100).sort((a, b) => a - b);
    expect(squares).toEqual([0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
    expect(lines.filter((n) => n >= 100 || n === 0).length).toBeGreaterThanOrEqual(10);
  });

  test('12-pool-long-time-task runs five tasks and waits for them', () => {
    const r = run('12-pool-long-time-task.js');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^Parent process \d+\.$/);
    expect(lines[1]).toBe('Waiting for all subprocesses done...');
    expect(lines[lines.length - 1]).toBe('All subprocesses done.');
    for (let i = 0; i < 5; i++) {
      expect(lines).toContainEqual(
        expect.stringMatching(new RegExp(`^Run task ${i} \\(\\d+\\)\\.\\.\\.$`)),
      );
      expect(lines).toContainEqual(
        expect.stringMatching(new RegExp(`^Task ${i} runs \\d+\\.\\d\\d seconds\\.$`)),
      );
    }
  });
});
