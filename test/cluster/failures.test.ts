// forkful/cluster's failure semantics, with real processes and a real
// redis-server: a worker machine SIGKILLed mid-map, Redis killed and
// restarted mid-map (AOF on), a caller that dies (its jobs go by TTL), and a
// worker stopped with SIGTERM (it finishes, or hands its jobs back).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Pool } from '../../lib/cluster';
import {
  alive,
  checkBuilt,
  clusterSkipReason,
  ROOT,
  startRedis,
  startScript,
  startWorker,
  stopAll,
  tempDir,
  waitExit,
  waitFor,
  type RedisServer,
} from './helpers';

const skip = clusterSkipReason();
const suite = skip ? describe.skip : describe;
if (skip) test.skip(skip, () => {});

// Deployed on each machine: a slow task that records each execution in the
// machine's working directory, and says which machine ran it.
const tasksModule = (machine: string): string => `
const fs = require('node:fs');
exports.slow = (x, ms) => {
  fs.appendFileSync('executions.log', x + '\\n');
  const until = Date.now() + ms;
  while (Date.now() < until);
  return [x * x, ${JSON.stringify(machine)}];
};
exports.nap = (ms) => new Promise((r) => setTimeout(() => r(${JSON.stringify(machine)}), ms));
// Runs until the file exists (bounded): a job that is surely still running.
exports.until = (file, maxMs) => new Promise((resolve, reject) => {
  const end = Date.now() + maxMs;
  const poll = setInterval(() => {
    if (fs.existsSync(file)) resolve(${JSON.stringify(machine)});
    else if (Date.now() > end) reject(new Error('no ' + file + ' after ' + maxMs + ' ms'));
    else return;
    clearInterval(poll);
  }, 20);
});
`;

function machineDir(machine: string): string {
  const cwd = tempDir(`machine-${machine}`);
  fs.writeFileSync(path.join(cwd, 'tasks.js'), tasksModule(machine));
  return cwd;
}

function executions(cwd: string): number[] {
  const file = path.join(cwd, 'executions.log');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
}

// Fast failure detection for the tests: a dead worker's jobs are retried
// after about 2 s.
const FAST = ['--lock-duration', '2', '--stalled-interval', '1', '--sweep-interval', '1'];

// Every pool a test makes, ended in afterAll even when the test failed.
const pools: Pool[] = [];
function newPool(options: ConstructorParameters<typeof Pool>[0]): Pool {
  const pool = new Pool(options);
  pools.push(pool);
  return pool;
}

suite('cluster failure semantics', () => {
  beforeAll(() => checkBuilt());
  afterAll(async () => {
    for (const pool of pools) pool.terminate();
    await Promise.all(pools.map((pool) => pool.join()));
    await stopAll();
  }, 30000);

  test('a worker SIGKILLed mid-map: its jobs run elsewhere, every result arrives exactly once', async () => {
    const redis = await startRedis();
    const name = 'kill';
    const a = await startWorker(redis, name, {
      cwd: machineDir('A'),
      args: [...FAST, '--concurrency', '2'],
    });
    const b = await startWorker(redis, name, {
      cwd: machineDir('B'),
      args: [...FAST, '--concurrency', '2'],
    });
    const pool = newPool({ connection: redis.url, name });
    const n = 300;
    const items = Array.from({ length: n }, (_, i) => [i, 40]);
    const result = pool.starmapAsync({ module: './tasks.js', export: 'slow' }, items, 10);
    // Kill A while it holds jobs: after a few results came back.
    await waitFor(() => pool.stats().delivered >= 4, 30000, 'the first results');
    const aChildren = a.children();
    expect(aChildren.length).toBe(2);
    a.proc.kill('SIGKILL');
    const out = (await result.get(90)) as [number, string][];
    expect(out.map((r) => r[0])).toEqual(items.map(([x]) => x * x));
    // Every chunk delivered once; A's unfinished jobs were run by B.
    expect(pool.stats().delivered).toBe(30);
    expect(pool.stats().outstanding).toBe(0);
    expect(b.output()).toMatch(/stalled/);
    // At-least-once execution: every item ran, some on both machines.
    const ran = new Set([...executions(a.cwd), ...executions(b.cwd)]);
    expect(ran.size).toBe(n);
    // The killed worker's local processes did not outlive it.
    await waitFor(
      () => aChildren.every((pid) => !alive(pid)),
      15000,
      "A's local processes to exit",
    );
    pool.close();
    await pool.join();
  }, 120000);

  test('Redis killed and restarted mid-map (AOF on): the map completes, exact', async () => {
    const redis: RedisServer = await startRedis({ aof: true });
    const name = 'restart';
    await startWorker(redis, name, { cwd: machineDir('A'), args: FAST });
    await startWorker(redis, name, { cwd: machineDir('B'), args: FAST });
    const pool = newPool({ connection: redis.url, name });
    const items = Array.from({ length: 200 }, (_, i) => [i, 30]);
    const result = pool.starmapAsync({ module: './tasks.js', export: 'slow' }, items, 5);
    await waitFor(() => pool.stats().delivered >= 3, 30000, 'the first results');
    await redis.kill();
    await new Promise((r) => setTimeout(r, 1000));
    await redis.restart();
    const out = (await result.get(90)) as [number, string][];
    expect(out.map((r) => r[0])).toEqual(items.map(([x]) => x * x));
    expect(pool.stats().delivered).toBe(40);
    pool.close();
    await pool.join();
  }, 120000);

  test('a caller that dies: its jobs are dropped and removed once its TTL lapses', async () => {
    const redis = await startRedis();
    const name = 'orphans';
    const worker = await startWorker(redis, name, {
      cwd: machineDir('A'),
      args: [...FAST, '--concurrency', '2'],
    });
    const caller = startScript(
      path.join(ROOT, 'test', 'fixtures', 'cluster-caller.js'),
      [redis.url, name, '2', '40'],
      ROOT,
    );
    let out = '';
    caller.stdout?.on('data', (d) => (out += d));
    await waitFor(() => /SUBMITTED (\S+)/.test(out), 30000, 'the caller to submit its jobs');
    const id = /SUBMITTED (\S+)/.exec(out)?.[1] as string;
    await waitFor(
      async () => (await redis.client.llen(`bull:${name}:active`)) > 0,
      10000,
      'a job to start',
    );
    caller.kill('SIGKILL');
    await waitExit(caller, 10000);
    // 40 jobs of 200 ms: far from done when the TTL (2 s) lapses.
    const jobKeys = () => redis.client.keys(`bull:${name}:${id}-*`);
    expect((await jobKeys()).length).toBeGreaterThan(10);
    await waitFor(
      async () =>
        (await jobKeys()).length === 0 &&
        (await redis.client.exists(`bull:${name}:forkful:jobs:${id}`)) === 0 &&
        (await redis.client.sismember(`bull:${name}:forkful:callers`, id)) === 0,
      20000,
      "the dead caller's jobs and keys to be removed",
    );
    expect(await redis.client.exists(`bull:${name}:forkful:alive:${id}`)).toBe(0);
    expect(await redis.client.llen(`bull:${name}:wait`)).toBe(0);
    // The worker dropped the rest instead of running them.
    expect(executions(worker.cwd).length).toBeLessThan(40);
    // (Its log line may come a moment after the keys are gone.)
    await waitFor(() => /swept the jobs of 1 caller/.test(worker.output()), 5000, 'the sweep log');
  }, 60000);

  test('a caller that dies with no worker running: the next pool on the queue sweeps its jobs', async () => {
    const redis = await startRedis();
    const name = 'nobody';
    const caller = startScript(
      path.join(ROOT, 'test', 'fixtures', 'cluster-caller.js'),
      [redis.url, name, '1', '20'],
      ROOT,
    );
    let out = '';
    caller.stdout?.on('data', (d) => (out += d));
    await waitFor(() => /SUBMITTED (\S+)/.test(out), 30000, 'the caller to submit its jobs');
    const id = /SUBMITTED (\S+)/.exec(out)?.[1] as string;
    caller.kill('SIGKILL');
    await waitExit(caller, 10000);
    expect(await redis.client.llen(`bull:${name}:wait`)).toBe(20);
    // Alive for 1 s after its last heartbeat; then anyone may sweep it.
    await waitFor(
      async () => (await redis.client.exists(`bull:${name}:forkful:alive:${id}`)) === 0,
      5000,
      'the heartbeat to lapse',
    );
    const next = newPool({ connection: redis.url, name });
    await waitFor(
      async () => (await redis.client.llen(`bull:${name}:wait`)) === 0,
      10000,
      'the next pool to sweep',
    );
    expect(await redis.client.keys(`bull:${name}:${id}-*`)).toEqual([]);
    next.close();
    await next.join();
  }, 60000);

  test('SIGTERM: a worker finishes its job within the grace, or hands it back to the queue', async () => {
    const redis = await startRedis();
    const name = 'grace';
    const pool = newPool({ connection: redis.url, name });
    const nap = { module: './tasks.js', export: 'nap' };

    // Finishes: 1 s of work, 20 s of grace.
    const a = await startWorker(redis, name, { cwd: machineDir('A'), processes: 1 });
    const finished = pool.apply(nap, [1000]);
    await waitFor(
      async () => (await redis.client.llen(`bull:${name}:active`)) === 1,
      10000,
      'A to start it',
    );
    a.proc.kill('SIGTERM');
    expect(await finished).toBe('A');
    expect(await waitExit(a.proc, 20000)).toBe(0);

    // Handed back: a job that runs until told (so it surely runs when C is
    // stopped), 0.5 s of grace; B takes it at once, long before C's lock
    // (30 s) would have expired and BullMQ retried it (the 20 s bound).
    const c = await startWorker(redis, name, {
      cwd: machineDir('C'),
      processes: 1,
      args: ['--grace', '0.5'],
    });
    const go = path.join(tempDir('grace-go'), 'go');
    const handed = pool.applyAsync({ module: './tasks.js', export: 'until' }, [go, 60000]);
    await waitFor(
      async () => (await redis.client.llen(`bull:${name}:active`)) === 1,
      10000,
      'C to start it',
    );
    const cChildren = c.children();
    await startWorker(redis, name, { cwd: machineDir('B'), processes: 1 });
    c.proc.kill('SIGTERM');
    expect(await waitExit(c.proc, 10000)).toBe(0);
    expect(c.output()).toMatch(/handing 1 running job\(s\) back/);
    fs.writeFileSync(go, '');
    expect(await handed.get(20)).toBe('B');
    await waitFor(() => cChildren.every((pid) => !alive(pid)), 10000, "C's local process to exit");
    pool.close();
    await pool.join();
  }, 90000);
});
