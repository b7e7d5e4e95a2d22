// forkful/cluster against a real redis-server and two `forkful worker`
// processes, each in its own working directory (two machines): results,
// order, chunking, targets, and the typed errors of a call.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Pool } from '../../lib/cluster';
import {
  BrokenPoolError,
  NotSupportedError,
  PayloadTooLargeError,
  SerializationError,
} from '../../lib/core/errors';
import { AsyncResult } from '../../lib/multiprocessing';
import { clusterSkipReason, tempDir, useCluster } from './helpers';

/** The error `p` rejects with (a test failure if it resolves). */
async function failure(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  let value: unknown;
  try {
    value = await p;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
}

const skip = clusterSkipReason();
const suite = skip ? describe.skip : describe;
if (skip) test.skip(skip, () => {});

// The code each worker machine has deployed: a module that says which
// machine it is on.
const tasksModule = (machine: string): string => `
exports.machine = ${JSON.stringify(machine)};
exports.square = (x) => x * x;
exports.tagged = (x) => [x * x, exports.machine];
exports.fail = (message) => { const e = new RangeError(message); e.code = 'E_TASK'; throw e; };
`;

suite('cluster.Pool on two workers', () => {
  const name = 'jobs';
  const cluster = useCluster(name, {
    'machine-A': tasksModule('A'),
    'machine-B': tasksModule('B'),
  });

  test('a map of 10,000 tasks returns every result, exact and in order, from both machines', async () => {
    const xs = Array.from({ length: 10000 }, (_, i) => i);
    const out = (await cluster.pool.map({ module: './tasks.js', export: 'tagged' }, xs)) as [
      number,
      string,
    ][];
    expect(out).toHaveLength(10000);
    for (let i = 0; i < xs.length; i++) {
      if (out[i][0] !== i * i) throw new Error(`result ${i} is ${out[i][0]}, not ${i * i}`);
    }
    // Each machine resolved ./tasks.js in its own working directory.
    expect(new Set(out.map((r) => r[1]))).toEqual(new Set(['A', 'B']));
    // Default chunking plans for the 4 processes the two workers report:
    // ceil(10000 / 16) = 625 items per job.
    const before = cluster.pool.stats();
    await cluster.pool.map((x: number) => x + 1, xs);
    expect(cluster.pool.stats().submitted - before.submitted).toBe(16);
  }, 60000);

  test('a self-contained function travels as source; numbers come back as numbers', async () => {
    const xs = Array.from({ length: 1000 }, (_, i) => i);
    const out = await cluster.pool.map((x: number) => x * 0.5, xs, 100);
    expect(out).toEqual(xs.map((x) => x * 0.5));
    expect(await cluster.pool.apply((a: number, b: number) => a + b, [20, 22])).toBe(42);
    expect(
      await cluster.pool.starmap(
        (a: number, b: number) => a * b,
        [
          [2, 3],
          [4, 5],
          [6, 7],
        ],
      ),
    ).toEqual([6, 20, 42]);
    // A task may require() what it needs, and may return a promise.
    const platform = await cluster.pool.apply(async () => {
      const os = require('node:os');
      await new Promise((r) => setTimeout(r, 10));
      return os.platform();
    });
    expect(platform).toBe(process.platform);
    expect(await cluster.pool.map({ module: './tasks.js', export: 'square' }, [])).toEqual([]);
  });

  test('imap yields in input order, imapUnordered as chunks finish', async () => {
    const slowFirst = (x: number) => {
      const until = Date.now() + (x === 0 ? 300 : 0);
      while (Date.now() < until);
      return x * 10;
    };
    const ordered: number[] = [];
    for await (const v of cluster.pool.imap(slowFirst, [0, 1, 2, 3, 4])) ordered.push(v);
    expect(ordered).toEqual([0, 10, 20, 30, 40]);

    // Item 0 finishes only once the caller has taken the four others (it
    // waits for a file the test writes then; bounded): unordered must yield
    // them first, whatever the machine's load.
    const flag = path.join(tempDir('flag'), 'go');
    const waitsForFlag = ([x, file]: [number, string]) => {
      const fs = require('node:fs');
      const until = Date.now() + 20000;
      while (x === 0 && !fs.existsSync(file) && Date.now() < until) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      }
      return x * 10;
    };
    const unordered: number[] = [];
    const items = [0, 1, 2, 3, 4].map((x) => [x, flag] as [number, string]);
    for await (const v of cluster.pool.imapUnordered(waitsForFlag, items)) {
      unordered.push(v);
      if (unordered.length === 4) fs.writeFileSync(flag, '');
    }
    expect(unordered.slice(0, 4).sort((a, b) => a - b)).toEqual([10, 20, 30, 40]);
    expect(unordered[4]).toBe(0);
  });

  test('applyAsync gives an AsyncResult with callbacks; getSync is refused', async () => {
    const seen: number[] = [];
    const r = cluster.pool.applyAsync((x: number) => x + 1, [1], { callback: (v) => seen.push(v) });
    expect(r).toBeInstanceOf(AsyncResult);
    expect(() => r.getSync()).toThrow(NotSupportedError);
    expect(await r.get(30)).toBe(2);
    expect(r.successful()).toBe(true);
    expect(seen).toEqual([2]);
  });

  test('a task that throws rejects the call with its class, message, fields and stack', async () => {
    const err = await failure(
      cluster.pool.apply(
        function lookup(key: string) {
          throw new TypeError(`no such key: ${key}`);
        },
        ['k1'],
      ),
    );
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe('no such key: k1');
    expect(err.stack).toMatch(/at lookup /);
    expect(err.stack).toMatch(/\(on cluster worker .+:\d+\)/);

    const mapErr = await failure(
      cluster.pool.map({ module: './tasks.js', export: 'fail' }, ['bad input']),
    );
    expect(mapErr).toBeInstanceOf(RangeError);
    expect((mapErr as Error & { code?: string }).code).toBe('E_TASK');

    const custom = await failure(
      cluster.pool.apply(() => {
        class QuotaError extends Error {
          name = 'QuotaError';
        }
        throw new QuotaError('over quota');
      }),
    );
    expect(custom.name).toBe('QuotaError');
    expect(custom.message).toBe('over quota');

    // The pool stays usable, and other chunks of a failing map still ran.
    expect(await cluster.pool.apply((x: number) => x, [7])).toBe(7);
  });

  test('arguments that cannot be serialised give SerializationError', async () => {
    await expect(cluster.pool.apply((f: unknown) => f, [() => 1])).rejects.toBeInstanceOf(
      SerializationError,
    );
    const err = await failure(cluster.pool.map((x: unknown) => x, [1, Symbol('s')], 1));
    expect(err).toBeInstanceOf(SerializationError);
    // A result that cannot be serialised fails the same way, from the worker.
    const back = await failure(cluster.pool.apply(() => () => 1));
    expect(back).toBeInstanceOf(SerializationError);
  });

  test('a job over maxJobBytes gives PayloadTooLargeError with its size and the limit', async () => {
    const small = new Pool({ connection: cluster.redis.url, name, maxJobBytes: 64 * 1024 });
    try {
      const err = (await failure(
        small.apply((s: string) => s.length, ['x'.repeat(100 * 1024)]),
      )) as unknown as PayloadTooLargeError;
      expect(err).toBeInstanceOf(PayloadTooLargeError);
      expect(err).toBeInstanceOf(SerializationError);
      expect(err.limit).toBe(64 * 1024);
      expect(err.size).toBeGreaterThan(100 * 1024);
      // A result over the caller's limit fails on the worker, typed the same.
      const back = (await failure(
        small.apply((n: number) => 'y'.repeat(n), [100 * 1024]),
      )) as unknown as PayloadTooLargeError;
      expect(back).toBeInstanceOf(PayloadTooLargeError);
      expect(back.limit).toBe(64 * 1024);
    } finally {
      small.close();
      await small.join();
    }
  });

  test('what cannot travel is refused at the call', () => {
    expect(() => cluster.pool.apply(Math.max as never, [1, 2])).toThrow(NotSupportedError);
    expect(() => cluster.pool.map(((x: number) => x).bind(null), [1])).toThrow(NotSupportedError);
    expect(() => cluster.pool.map('square' as never, [1])).toThrow(TypeError);
    expect(() => cluster.pool.map({ module: '' }, [1])).toThrow(TypeError);
  });

  test('a closure, a missing module, and a missing export fail with NotSupportedError', async () => {
    const factor = 3;
    const closure = await failure(cluster.pool.apply((x: number) => x * factor, [1]));
    expect(closure).toBeInstanceOf(NotSupportedError);
    expect(closure.message).toMatch(
      /self-contained.*factor is not defined|factor is not defined.*self-contained/s,
    );
    const missing = await failure(
      cluster.pool.apply({ module: './not-deployed.js', export: 'f' }, []),
    );
    expect(missing).toBeInstanceOf(NotSupportedError);
    expect(missing.message).toMatch(/not found on this worker/);
    const noExport = await failure(
      cluster.pool.apply({ module: './tasks.js', export: 'nothing' }, []),
    );
    expect(noExport).toBeInstanceOf(NotSupportedError);
  });

  test('close() finishes the work, then join(); a closed pool takes no calls', async () => {
    const p = new Pool({ connection: cluster.redis.url, name });
    const pending = p.map((x: number) => x * 2, [1, 2, 3]);
    p.close();
    expect(() => p.apply((x: number) => x, [1])).toThrow(BrokenPoolError);
    expect(await pending).toEqual([2, 4, 6]);
    await p.join();
    // It left nothing of its own behind in Redis.
    const keys = await cluster.redis.client.keys(`bull:${name}:forkful:*${p.id}*`);
    expect(keys).toEqual([]);
    expect(await cluster.redis.client.sismember(`bull:${name}:forkful:callers`, p.id)).toBe(0);
  });
});
