// The Queue's feeder (lib/multiprocessing/queue/feeder.ts) on a real
// channel in this process: what reaches the pipe, when, in what order.
import { native } from '../../lib/core/native';
import { newChannel, type Channel } from '../../lib/multiprocessing/queue/channel';
import { Feeder } from '../../lib/multiprocessing/queue/feeder';
import { bodySize, headerSize } from '../../lib/transfer/framing';
import { encodeFast } from '../../lib/transfer/wire';
import { inFreshProcess } from '../helpers/fresh-process';
import { needsAddon, needsFork } from '../helpers/needs';

/** Everything readable on the channel's pipe now, as message bodies. */
function readFrames(ch: Channel): string[] {
  const fd = ch.reader.fileno();
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(1 << 16);
  for (;;) {
    const n = native!.readInto(fd, buf, 0, buf.length);
    if (n <= 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  const all = Buffer.concat(chunks);
  const out: string[] = [];
  let at = 0;
  while (at < all.length) {
    const head = headerSize(all, at, all.length - at);
    const size = bodySize(all, at, head);
    out.push(all.subarray(at + head, at + head + size).toString('latin1'));
    at += head + size;
  }
  return out;
}

/** Queues `text` as an item the way Queue.put does (the compact encoding). */
function put(feeder: Feeder, text: string): void {
  feeder.push(null, encodeFast(text));
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

needsAddon.describe('Queue feeder', () => {
  let ch: Channel;
  beforeEach(() => {
    ch = newChannel();
  });
  afterEach(() => {
    ch.reader.close();
    ch.writer.close();
  });

  test("the first item of a turn goes out at once; the turn's others together at the next", async () => {
    const feeder = new Feeder(ch);
    put(feeder, 'one');
    put(feeder, 'two');
    put(feeder, 'three');
    expect(readFrames(ch).map((f) => f.slice(5))).toEqual(['one']);
    await tick();
    await feeder.drain();
    expect(readFrames(ch).map((f) => f.slice(5))).toEqual(['two', 'three']);
    expect(ch.wlock.locked()).toBe(false);
  });

  test('while another writer holds the lock, items wait, then go out in order', async () => {
    ch.wlock.acquire();
    const feeder = new Feeder(ch);
    put(feeder, 'a');
    put(feeder, 'b');
    await tick();
    expect(readFrames(ch)).toEqual([]);
    ch.wlock.release();
    await feeder.drain();
    expect(readFrames(ch).map((f) => f.slice(5))).toEqual(['a', 'b']);
  });

  test('a full pipe: the feeder waits on the event loop and resumes as the reader drains', async () => {
    const feeder = new Feeder(ch);
    const big = Buffer.alloc(1 << 20, 0x61); // larger than any pipe buffer
    feeder.push(big, big.length);
    put(feeder, 'after');
    expect(ch.wlock.locked()).toBe(true); // mid-batch: the lock is kept
    const got: Buffer[] = [];
    const fd = ch.reader.fileno();
    const buf = Buffer.alloc(1 << 16);
    const done = feeder.drain();
    let finished = false;
    void done.then(() => (finished = true));
    for (let rounds = 0; !finished && rounds < 10000; rounds++) {
      const n = native!.readInto(fd, buf, 0, buf.length);
      if (n > 0) got.push(Buffer.from(buf.subarray(0, n)));
      else await tick();
    }
    await done;
    for (;;) {
      const n = native!.readInto(fd, buf, 0, buf.length);
      if (n <= 0) break;
      got.push(Buffer.from(buf.subarray(0, n)));
    }
    const all = Buffer.concat(got);
    expect(bodySize(all, 0, headerSize(all, 0, all.length))).toBe(big.length);
    expect(all.subarray(4, 4 + big.length).equals(big)).toBe(true);
    expect(all.subarray(4 + big.length + 4 + 5).toString()).toBe('after');
    expect(ch.wlock.locked()).toBe(false);
  });

  test('flushSome writes everything queued that the pipe takes before the thread blocks', () => {
    const feeder = new Feeder(ch);
    put(feeder, 'x');
    put(feeder, 'y');
    put(feeder, 'z');
    feeder.flushSome();
    expect(readFrames(ch).map((f) => f.slice(5))).toEqual(['x', 'y', 'z']);
    expect(ch.wlock.locked()).toBe(false);
  });

  test("forget() drops the queued items (a forked child's copy of the parent's)", async () => {
    const feeder = new Feeder(ch);
    put(feeder, 'sent');
    put(feeder, 'dropped');
    feeder.forget();
    await tick();
    await feeder.drain();
    expect(readFrames(ch).map((f) => f.slice(5))).toEqual(['sent']);
  });
});

// getSync() waits as the reader of its own channel: what its own process
// still has to write into that channel must not be waited for (it would
// wait for room only this thread makes, or for a writer lock held by a
// writer waiting for this thread). Each case in a fresh process: a
// deadlock blocks a thread for good.
needsAddon.describe('getSync and its own feeder', () => {
  test('a process gets with getSync its own item larger than the pipe', () => {
    inFreshProcess(async (dist) => {
      const assert = require('node:assert');
      const { Queue } = require(`${dist}/multiprocessing`);
      const q = new Queue();
      const item = Buffer.alloc(8 << 20, 7);
      q.putSync(item);
      q.putSync('after');
      assert.ok(item.equals(q.getSync({ timeout: 20 })));
      assert.strictEqual(q.getSync({ timeout: 20 }), 'after');
      q.close();
      await q.joinThread();
    });
  });

  // (the writer child is a closure: the fork start method)
  needsFork.test(
    "getSync while another process's writer holds the writer lock, waiting for room",
    () => {
      inFreshProcess(async (dist) => {
        const assert = require('node:assert');
        const { Event, Process, Queue } = require(`${dist}/multiprocessing`);
        const q = new Queue();
        const written = new Event();
        const writer = new Process({
          target: async () => {
            q.putSync(Buffer.alloc(8 << 20, 1)); // fills the pipe, keeps the lock
            written.set();
            await q.joinThread();
          },
        });
        writer.start();
        assert.ok(written.wait(20));
        q.putSync('mine'); // this process's feeder cannot take the lock now
        const got = q.getSync({ timeout: 20 });
        assert.strictEqual(got.length, 8 << 20);
        assert.strictEqual(q.getSync({ timeout: 20 }), 'mine');
        await writer.join(20);
        assert.strictEqual(writer.exitcode, 0);
        q.close();
        await q.joinThread();
      });
    },
  );
});
