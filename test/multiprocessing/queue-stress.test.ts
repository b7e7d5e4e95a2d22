// Many producers and consumers in separate processes through one bounded
// Queue, with the items that stress its batching and shared read buffer.
import { runFixture } from '../helpers/fixture';

test('3 producers x 3 consumers, mixed sizes, put/putSync on a full queue: no loss, no duplicate', () => {
  const run = runFixture('mp-queue-stress.js', ['1000'], { timeoutMs: 120000 });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(JSON.parse(run.stdout)).toEqual({
    received: 3000,
    unique: 3000,
    expected: 3000,
    bad: 0,
    ordered: true,
    exitcodes: [0, 0, 0, 0, 0, 0],
  });
}, 130000);
