// forkful used the way a user's jest tests use it: in the jest worker
// itself (a child_process.fork with an IPC channel, under jest 30), inside
// AsyncLocalStorage and after awaits. A Process child here is a fork of the
// jest worker: it must run only its target, never read the worker's IPC
// channel, and leave the worker able to report this test's result.
import { AsyncLocalStorage } from 'node:async_hooks';
import { Pipe, Pool, Process, Queue } from '../../lib/multiprocessing';

jest.setTimeout(30000);

describe('inside a jest worker', () => {
  test('a Process started after an await inside AsyncLocalStorage.run', async () => {
    const als = new AsyncLocalStorage<{ request: number }>();
    const exitcode = await als.run({ request: 7 }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const [reader, writer] = Pipe(false);
      const child = new Process({
        target: (w: typeof writer, n: number) => w.send(n * 6),
        args: [writer, als.getStore()!.request],
      });
      child.start();
      writer.close();
      expect(await reader.pollAsync(10)).toBe(true);
      expect(await reader.recv()).toBe(42);
      await child.join(10);
      return child.exitcode;
    });
    expect(exitcode).toBe(0);
  });

  test('several Processes and a Queue, started from timers', async () => {
    const q = new Queue();
    const children = await Promise.all(
      [1, 2, 3].map(
        (n) =>
          new Promise<Process>((resolve) =>
            setTimeout(() => {
              const p = new Process({
                target: (qq: Queue, v: number) => qq.putSync(v),
                args: [q, n],
              });
              p.start();
              resolve(p);
            }, n),
          ),
      ),
    );
    const got = [
      await q.get({ timeout: 10 }),
      await q.get({ timeout: 10 }),
      await q.get({ timeout: 10 }),
    ];
    for (const child of children) await child.join(10);
    expect(got.sort()).toEqual([1, 2, 3]);
    expect(children.map((c) => c.exitcode)).toEqual([0, 0, 0]);
    q.close();
  });

  test('a Pool map', async () => {
    const pool = new Pool(2);
    try {
      expect(await pool.map((x: number) => x * x, [1, 2, 3, 4])).toEqual([1, 4, 9, 16]);
    } finally {
      pool.terminate();
      await pool.join();
    }
  });
});
