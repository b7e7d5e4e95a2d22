// The Queue's feeder (lib/multiprocessing/queue/feeder.ts) on a real
// channel in this process: what reaches the pipe, when, in what order.
import { native } from '../../lib/core/native';
import { newChannel, type Channel } from '../../lib/multiprocessing/queue/channel';
import { Feeder } from '../../lib/multiprocessing/queue/feeder';
import { bodySize, headerSize } from '../../lib/transfer/framing';
import { encodeFast } from '../../lib/transfer/wire';
import { needsAddon } from '../helpers/needs';

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

  test('flushSync writes everything queued before the thread blocks', () => {
    const feeder = new Feeder(ch);
    put(feeder, 'x');
    put(feeder, 'y');
    put(feeder, 'z');
    feeder.flushSync();
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
