// forkful/cluster's Pool with the local pool's Node-style options, against
// a real redis-server and one `forkful worker`: a progress callback on a
// map, an abort mid-map (AbortError; the waiting jobs leave Redis), break
// out of imap, unknown options.
import { Pool, Worker } from '../../lib/cluster';
import { clusterSkipReason, useCluster } from '../cluster/helpers';

const skip = clusterSkipReason();
const suite = skip ? describe.skip : describe;
if (skip) test.skip(skip, () => {});

const tasks = `
exports.square = (x) => x * x;
exports.slow = (ms) => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); return ms; };
`;

suite('cluster.Pool, Node-style', () => {
  const name = 'nodeapi';
  const cluster = useCluster(name, { 'nodeapi-worker': tasks });

  test('progress reports done / total as chunks finish', async () => {
    const seen: Array<[number, number]> = [];
    const out = await cluster.pool.map(
      { module: './tasks.js', export: 'square' },
      [1, 2, 3, 4, 5, 6],
      {
        chunksize: 2,
        progress: (done, total) => seen.push([done, total]),
      },
    );
    expect(out).toEqual([1, 4, 9, 16, 25, 36]);
    expect(seen.map(([, total]) => total)).toEqual([6, 6, 6]);
    expect(seen.map(([done]) => done)).toEqual([2, 4, 6]);
  });

  test('an abort mid-map rejects with AbortError and drops the waiting jobs', async () => {
    const ac = new AbortController();
    const items = Array.from({ length: 40 }, () => 50);
    const call = cluster.pool.map({ module: './tasks.js', export: 'slow' }, items, {
      chunksize: 1,
      signal: ac.signal,
      progress: (done) => {
        if (done === 2) ac.abort(new Error('enough'));
      },
    });
    let error: (Error & { code?: string }) | null = null;
    try {
      await call;
    } catch (err) {
      error = err as Error & { code?: string };
    }
    expect(error).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    expect((error?.cause as Error).message).toBe('enough');
    const stats = cluster.pool.stats();
    expect(stats.cancelled).toBeGreaterThan(30);
    expect(stats.outstanding).toBe(0);
    // The pool goes on.
    expect(await cluster.pool.apply({ module: './tasks.js', export: 'square' }, [7])).toBe(49);
  }, 30000);

  test('break out of imap stops the call; unknown options are a TypeError', async () => {
    const before = cluster.pool.stats().cancelled;
    const got: number[] = [];
    for await (const v of cluster.pool.imap(
      { module: './tasks.js', export: 'slow' },
      [5, 5, 5, 5, 5, 5],
    )) {
      got.push(v as number);
      if (got.length === 1) break;
    }
    expect(got).toEqual([5]);
    expect(cluster.pool.stats().cancelled).toBeGreaterThan(before);
    expect(() =>
      cluster.pool.map({ module: './tasks.js', export: 'square' }, [1], { chunkSize: 1 } as never),
    ).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_FORKFUL_UNKNOWN_OPTION' }));
    // The constructors too (before any connection is made).
    const connection = cluster.redis.url;
    expect(() => new Pool({ connection, name, chunkSize: 2 } as never)).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_FORKFUL_UNKNOWN_OPTION' }),
    );
    expect(() => new Worker({ connection, name, proceses: 2 } as never)).toThrow(
      /new cluster.Worker: unknown option 'proceses'/,
    );
  }, 30000);

  test('imap: a failed chunk throws at each of its positions, as the local pool does', async () => {
    const fails = (x: number) => {
      if (x === 2) throw new RangeError('two');
      return x;
    };
    const got: Array<number | string> = [];
    const it = cluster.pool.imap(fails, [0, 1, 2, 3, 4, 5], { chunksize: 2 });
    for (;;) {
      try {
        const r = await it.next();
        if (r.done) break;
        got.push(r.value as number);
      } catch (err) {
        got.push((err as Error).name);
      }
    }
    expect(got).toEqual([0, 1, 'RangeError', 'RangeError', 4, 5]);
  }, 30000);
});
