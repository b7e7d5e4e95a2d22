// A map's job (lib/multiprocessing/pool/jobs.ts) copies each chunk's values
// into the result once every chunk before it is in, so the copying happens
// while the workers run the later chunks; whatever order the chunks finish
// in, the result is in input order.
import { AsyncResult } from '../../lib/multiprocessing/pool/async-result';
import { MapJob } from '../../lib/multiprocessing/pool/jobs';

function mapJob(chunks: number, total: number, progress?: (done: number, total: number) => void) {
  const result = new AsyncResult<unknown[]>({}, () => {
    throw new Error('not pumped in this test');
  });
  return { job: new MapJob(result, chunks, total, progress ?? null), result };
}

test('chunks finishing in any order give the values in input order', async () => {
  const { job, result } = mapJob(4, 10);
  job.chunkDone(7, new Float64Array([7, 8, 9])); // workers send numbers packed
  job.chunkDone(3, ['three', 4]);
  expect(result.ready()).toBe(false);
  job.chunkDone(0, [0, -0, NaN]);
  job.chunkDone(5, [5, { six: 6 }]);
  const values = await result.get();
  expect(values).toEqual([0, -0, NaN, 'three', 4, 5, { six: 6 }, 7, 8, 9]);
  expect(Object.is(values[1], -0)).toBe(true);
  expect(Array.isArray(values) && values.length).toBe(10);
});

test('values are taken in as soon as the chunks before them are in', () => {
  const { job } = mapJob(3, 6);
  const taken = () => (job as unknown as { values: unknown[] }).values.length;
  job.chunkDone(2, [2, 3]);
  expect(taken()).toBe(0); // waits for chunk 0
  job.chunkDone(0, [0, 1]);
  expect(taken()).toBe(4); // chunk 0, then chunk 2 that waited
});

test('a failed chunk rejects the call; later chunks are dropped', async () => {
  const seen: number[] = [];
  const { job, result } = mapJob(3, 3, (done) => seen.push(done));
  job.chunkDone(0, [1]);
  job.chunkFailed(1, new Error('boom'));
  job.chunkDone(2, [3]);
  await expect(result.get()).rejects.toThrow('boom');
  expect(seen).toEqual([1]);
});
