// queue-shutdown.test.ts's cases again, on the portable backend (the hub
// keeps the shutdown state there).
import '../helpers/portable-backend';
import './queue-shutdown.test';
import { nativeStatus } from '../../lib/core/native';
import { JoinableQueue, Queue } from '../../lib/multiprocessing';

test('these cases run on the portable backend', () => {
  expect(nativeStatus().loaded).toBe(false);
  const q = new Queue();
  expect(q.constructor.name).toBe('PortableQueue');
  q.close();
});

test('an item an aborted get gives back is still counted once unfinished', async () => {
  const q = new JoinableQueue<number>();
  const ac = new AbortController();
  const aborted = q.get({ signal: ac.signal });
  ac.abort();
  await expect(aborted).rejects.toThrow();
  q.putSync(1); // the hub hands it to the aborted get, which gives it back
  expect(await q.get({ timeout: 10 })).toBe(1);
  expect(q.unfinishedTasks).toBe(1);
  q.taskDone();
  await q.join();
  q.close();
});
