// A Queue's feeder runs on the event loop, which a blocking call stops
// (issue 14). An item put while another process holds the queue's writer
// lock waits in the feeder: the blocking waits (Event.wait, Lock.acquire,
// Process.joinSync...) write it between their slices once the lock is free,
// and no wait hangs for a lock held forever (a stopped holder): a child
// ending with items it cannot write says so and ends.
import { inFreshProcess } from '../helpers/fresh-process';
import { needsFork } from '../helpers/needs';

// (the children are closures: the fork start method)
needsFork.describe("items put before a blocking call, the writer lock another process's", () => {
  test.each([
    'Event.wait',
    'Lock.acquire',
    'Process.joinSync',
    'Condition.wait',
    'Thread.joinSync',
  ])('the item of a child blocked in %s arrives once the lock is free', (how) => {
    inFreshProcess(
      async (dist) => {
        const assert = require('node:assert');
        const mp = require(`${dist}/multiprocessing`);
        const { Empty } = require(dist);
        const how = process.env.FLUSH_HOW;
        const q = new mp.Queue();
        const ready = new mp.Event();
        const go = new mp.Event();
        const lock = new mp.Lock();
        const cond = new mp.Condition();
        lock.acquire(); // Lock.acquire blocks on it in the child
        q._ch.wlock.acquire(); // another writer holds the writer lock
        const child = new mp.Process({
          target: () => {
            if (how === 'Lock.acquire') void q.put(`item of ${how}`);
            else q.putSync(`item of ${how}`);
            ready.set();
            if (how === 'Event.wait') go.wait();
            else if (how === 'Lock.acquire') lock.acquire();
            else if (how === 'Condition.wait') {
              cond.acquire();
              cond.wait();
              cond.release();
            } else if (how === 'Thread.joinSync') {
              const { Thread } = require(`${dist}/threading`);
              const thread = new Thread({
                target: (e: { wait(): boolean }) => e.wait(),
                args: [go],
              });
              thread.start();
              thread.joinSync();
            } else {
              const grandchild = new mp.Process({ target: () => void go.wait() });
              grandchild.start();
              grandchild.joinSync();
            }
          },
        });
        child.start();
        assert.ok(ready.wait(20), 'the child did not start');
        await new Promise((resolve) => setTimeout(resolve, 1000)); // the child blocks
        q._ch.wlock.release();
        let got;
        try {
          got = await q.get({ timeout: 10 });
        } catch (err) {
          got =
            err instanceof Empty ? `Empty: the item of a child blocked in ${how} never came` : err;
        }
        go.set();
        lock.release();
        cond.acquire();
        cond.notifyAll();
        cond.release();
        await child.join(20);
        assert.strictEqual(got, `item of ${how}`);
        assert.strictEqual(child.exitcode, 0);
        q.close();
        await q.joinThread();
      },
      { timeoutMs: 60000, env: { ...process.env, FLUSH_HOW: how } },
    );
  });

  test('a writer lock held by a stopped process: putSync times out (Full), the child ends and reports its lost item', () => {
    const run = inFreshProcess(
      async (dist) => {
        const assert = require('node:assert');
        const mp = require(`${dist}/multiprocessing`);
        const { Full } = require(dist);
        const q = new mp.Queue();
        const small = new mp.Queue(1);
        const held = new mp.Event();
        const full = new mp.Event();
        await small.put('the one slot');
        const holder = new mp.Process({
          target: () => {
            q._ch.wlock.acquire();
            held.set();
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // until killed
          },
        });
        holder.start();
        assert.ok(held.wait(20), 'the holder did not take the writer lock');
        process.kill(holder.pid, 'SIGSTOP');
        const putter = new mp.Process({
          target: () => {
            q.putSync('lost'); // waits in the feeder: the lock is the stopped holder's
            try {
              small.putSync('no room', { timeout: 1 }); // writes its feeders first
            } catch (err) {
              if (err instanceof Full) full.set();
              else throw err;
            }
          },
        });
        putter.start();
        const t0 = Date.now();
        await putter.join(30);
        const seconds = (Date.now() - t0) / 1000;
        process.kill(holder.pid, 'SIGCONT');
        holder.kill();
        await holder.join(20);
        assert.strictEqual(putter.exitcode, 0, `the putter did not end within 30 s (${seconds} s)`);
        assert.ok(full.isSet(), 'putSync with a timeout did not end with Full');
        assert.strictEqual(await small.get({ timeout: 5 }), 'the one slot');
        q.close();
        small.close();
        await small.joinThread();
      },
      { timeoutMs: 60000 },
    );
    expect(run.stderr).toContain('FORKFUL_QUEUE_FEEDER');
    expect(run.stderr).toContain('which is stopped');
  });
});
