// 100,000 greenlets complete with bounded memory; a Pool streams 100,000
// items holding only `size` greenlets. Runs on dist/ in its own process
// (--expose-gc): `npm run build:dev` first.
import { results, runFixture } from '../helpers/fixture';

test('100,000 greenlets complete; memory is bounded and released', () => {
  const run = runFixture('coroutine-memory.js', [], {
    nodeArgs: ['--expose-gc'],
    timeoutMs: 60000,
  });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const r = results(run.stdout);
  expect(r.runningAtOnce).toBe(100000);
  expect(r.done).toBe(100000);
  expect(r.sumOk).toBe(true);
  expect(r.allSuccessful).toBe(true);
  // Measured about 2.3 KB per sleeping greenlet and 0.3 KB per finished one
  // (Node 20, x64); the bounds leave room for other Node versions.
  expect(r.bytesPerLiveGreenlet).toBeLessThan(8192);
  expect(r.bytesPerDeadGreenlet).toBeLessThan(2048);
  expect(r.heapGrowthAfterRelease).toBeLessThan(10 * 1024 * 1024);
  expect(r.poolCount).toBe(100000);
  expect(r.poolMaxLength).toBeLessThanOrEqual(100);
  expect(r.poolMidHeapGrowth).toBeLessThan(20 * 1024 * 1024);
});
