// queue-shutdown.test.ts's cases again, on the portable backend (the hub
// keeps the shutdown state there).
import '../helpers/portable-backend';
import './queue-shutdown.test';
import { nativeStatus } from '../../lib/core/native';
import { Queue } from '../../lib/multiprocessing';

test('these cases run on the portable backend', () => {
  expect(nativeStatus().loaded).toBe(false);
  const q = new Queue();
  expect(q.constructor.name).toBe('PortableQueue');
  q.close();
});
