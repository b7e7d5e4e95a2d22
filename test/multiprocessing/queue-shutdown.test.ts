// Queue.shutdown() (Python 3.13's queue.Queue.shutdown) on forkful's
// multiprocessing queues: the state is shared, so a shutdown in one process
// holds in every other; waiting puts and gets end with ShutDown; async
// iteration ends. (test/conformance/test_queue.test.ts ports CPython's cases
// with threads.)
import { ShutDown } from '../../lib/core/errors';
import { JoinableQueue, Process, Queue } from '../../lib/multiprocessing';

jest.setTimeout(60000);

async function joined(p: Process): Promise<number | null> {
  await p.join(20);
  if (p.exitcode === null) p.kill();
  await p.join(5);
  return p.exitcode;
}

test('a put waiting in another process for a slot raises ShutDown when this process shuts the queue down', async () => {
  const q = new Queue<number>(1);
  await q.put(1);
  const p = new Process({
    // Exit code 0 only when the put raised ShutDown.
    target: (qq: Queue<number>) => {
      try {
        qq.putSync(2); // the queue is full: waits
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_FORKFUL_SHUT_DOWN') return;
        throw err;
      }
      throw new Error('putSync returned');
    },
    args: [q],
  });
  p.start();
  await new Promise((r) => setTimeout(r, 300)); // the child is waiting
  q.shutdown();
  expect(await joined(p)).toBe(0);
  expect(q.qsize()).toBe(1); // what was put is still there...
  expect(await q.get()).toBe(1);
  await expect(q.get()).rejects.toThrow(ShutDown); // ...and then nothing more
  q.close();
});

test('a shutdown in a child: this process sees isShutdown, takes what is left, then ShutDown', async () => {
  const q = new Queue<string>();
  const p = new Process({
    target: (qq: Queue<string>) => {
      qq.putSync('a');
      qq.putSync('b');
      qq.shutdown();
    },
    args: [q],
  });
  p.start();
  expect(await joined(p)).toBe(0);
  expect(q.isShutdown).toBe(true);
  await expect(q.put('c')).rejects.toThrow(ShutDown);
  expect(() => q.putSync('c')).toThrow(ShutDown);
  expect([await q.get(), q.getSync()]).toEqual(['a', 'b']);
  expect(() => q.getSync()).toThrow(ShutDown);
  expect(q.empty()).toBe(true);
  q.close();
});

test('a get waiting in another process on an empty queue raises ShutDown', async () => {
  const q = new Queue();
  const p = new Process({
    target: async (qq: Queue) => {
      try {
        await qq.get();
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_FORKFUL_SHUT_DOWN') return;
        throw err;
      }
      throw new Error('get returned');
    },
    args: [q],
  });
  p.start();
  await new Promise((r) => setTimeout(r, 300));
  q.shutdown();
  expect(await joined(p)).toBe(0);
  q.close();
});

test('an awaiting put on a full queue rejects with ShutDown and gives its slot back', async () => {
  const q = new Queue<number>(1);
  await q.put(1);
  const waiting = q.put(2);
  setTimeout(() => q.shutdown(), 100);
  await expect(waiting).rejects.toThrow(ShutDown);
  expect(q.qsize()).toBe(1);
  expect(q.full()).toBe(true);
  q.close();
});

test('for await ends on shutdown: after the items left, or at once with immediate', async () => {
  const q = new Queue<number>();
  const seen: number[] = [];
  const loop = (async () => {
    for await (const item of q) seen.push(item);
  })();
  await q.put(1);
  await q.put(2);
  await q.joinThread();
  q.shutdown();
  await loop;
  expect(seen).toEqual([1, 2]);

  const r = new Queue<number>();
  await r.put(1);
  await r.joinThread();
  r.shutdown(true);
  const after: number[] = [];
  for await (const item of r) after.push(item);
  expect(after).toEqual([]);
  expect(r.qsize()).toBe(0);
  q.close();
  r.close();
});

test('an iteration waiting on an empty queue ends when another process shuts it down', async () => {
  const q = new Queue<number>();
  const p = new Process({
    target: (qq: Queue<number>) => {
      qq.putSync(5);
      qq.shutdown();
    },
    args: [q],
  });
  const seen: number[] = [];
  const loop = (async () => {
    for await (const item of q) seen.push(item);
  })();
  p.start();
  await loop;
  expect(seen).toEqual([5]);
  expect(await joined(p)).toBe(0);
  q.close();
});

test('JoinableQueue: shutdown(true) counts what it drops as done, so join() returns', async () => {
  const q = new JoinableQueue<number>();
  q.putSync(1);
  q.putSync(2);
  await q.joinThread();
  expect(q.unfinishedTasks).toBe(2);
  q.shutdown(true);
  expect(q.unfinishedTasks).toBe(0);
  await q.join();
  expect(() => q.taskDone()).toThrow('taskDone() called too many times');
  q.close();
});

test('shutdown(immediate) takes a boolean; a closed queue refuses it', () => {
  const q = new Queue();
  expect(() => q.shutdown(1 as unknown as boolean)).toThrow(TypeError);
  q.close();
  expect(() => q.shutdown()).toThrow('closed');
});
