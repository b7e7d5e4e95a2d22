// A Queue's writer lock as its readers and async feeders take it on the
// event loop (issue 14): never in the background (a thread that then blocks
// in putSync() on the same queue would wait for a lock it holds itself),
// and from a holder that died (acquire(false) never recovers one).
import { inFreshProcess } from '../helpers/fresh-process';
import { needsFork } from '../helpers/needs';

// (the children are closures: the fork start method)
needsFork.describe("a Queue's writer lock taken on the event loop", () => {
  test('an async get looking for a dead writer, then putSync on the same thread, does not hang', () => {
    inFreshProcess(
      async (dist) => {
        const assert = require('node:assert');
        const mp = require(`${dist}/multiprocessing`);
        const { Full } = require(dist);
        const { beginBatch, endBatch } = require(`${dist}/multiprocessing/queue/channel`);
        const sleepMs = (ms: number) =>
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
        const q = new mp.Queue(1);
        const ch = q._ch;
        const held = new mp.Event();
        const letGo = new mp.Event();
        const released = new mp.Event();
        // Another writer holds the writer lock in the middle of a batch.
        const writer = new mp.Process({
          target: () => {
            ch.wlock.acquire();
            beginBatch(ch);
            held.set();
            letGo.wait(20);
            endBatch(ch);
            ch.wlock.release();
            released.set();
          },
        });
        writer.start();
        assert.ok(held.wait(20), 'the writer child did not take the writer lock');
        // The reader, waiting, looks every 200 ms whether that writer lives
        // by taking the writer lock: noticed here as it begins.
        let checked = () => {};
        const checking = new Promise<void>((resolve) => (checked = resolve));
        for (const name of ['acquireAsync', '_tryAcquireOrRecover']) {
          const own = ch.wlock[name];
          if (typeof own === 'function') {
            ch.wlock[name] = function (...args: unknown[]) {
              checked();
              return own.apply(this, args);
            };
          }
        }
        const got = q.get({ timeout: 20 });
        await checking;
        await q.put('mine'); // the queue's one slot; the feeder waits for the lock
        // The writer lets go while the reader's look may still be under way;
        // then this thread blocks in putSync, whose flush takes the lock.
        letGo.set();
        assert.ok(released.wait(20), 'the writer child did not let go');
        sleepMs(30);
        assert.throws(() => q.putSync('second', { timeout: 1 }), Full);
        assert.strictEqual(await got, 'mine');
        await writer.join(20);
        assert.strictEqual(writer.exitcode, 0);
        q.close();
        await q.joinThread();
      },
      { timeoutMs: 30000 },
    );
  });

  test("an async put after the writer lock's holder died: the feeder takes the lock over", () => {
    const run = inFreshProcess(
      async (dist) => {
        const assert = require('node:assert');
        const mp = require(`${dist}/multiprocessing`);
        const q = new mp.Queue();
        const holder = new mp.Process({
          target: () => {
            q._ch.wlock.acquire();
            process.kill(process.pid, 'SIGKILL');
          },
        });
        holder.start();
        await holder.join(20);
        assert.strictEqual(holder.exitcode, -9);
        assert.ok(q._ch.wlock.locked(), 'the dead holder left the writer lock held');
        await q.put('after');
        assert.strictEqual(await q.get({ timeout: 10 }), 'after');
        q.close();
        await q.joinThread();
      },
      { timeoutMs: 30000 },
    );
    expect(run.stderr).toContain('FORKFUL_LOCK_OWNER_DIED');
  });
});
