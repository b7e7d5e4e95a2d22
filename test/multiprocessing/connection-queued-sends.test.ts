// Connection.send() writes the first message of a loop turn at once and
// queues the ones after it (native/connection.cc): one write for many
// messages, in order, and every message readable before the sender next
// waits, releases a lock, forks or exits.
import * as fs from 'node:fs';
import { native } from '../../lib/core/native';
import { Pipe, Process, type Connection } from '../../lib/multiprocessing';
import { Lock } from '../../lib/synchronize/lock';
import { Event } from '../../lib/synchronize/event';
import { decodeMessage } from '../../lib/transfer/wire';
import { bodySize, headerSize } from '../../lib/transfer/framing';

const describeNative = native ? describe : describe.skip;

/** The messages readable on `conn`'s fd now, read without waiting (and so
 * without making the sender's queue go out): recvmsg with MSG_DONTWAIT, as
 * Pipe()'s sockets are in blocking mode. */
function readableNow(conn: Connection): unknown[] {
  const buf = Buffer.alloc(1 << 20);
  let end = 0;
  for (;;) {
    const n = native!.recvFdsInto(conn.fileno(), buf, end, buf.length - end, []);
    if (n <= 0) break;
    end += n;
  }
  const out: unknown[] = [];
  let at = 0;
  while (at < end) {
    const head = headerSize(buf, at, end - at);
    const size = bodySize(buf, at, head);
    out.push(decodeMessage(buf.subarray(at + head, at + head + size)));
    at += head + size;
  }
  return out;
}

/** write() calls this thread made so far (/proc/thread-self/io). */
function writeCalls(): number {
  const io = fs.readFileSync('/proc/thread-self/io', 'utf8');
  return Number(/syscw: (\d+)/.exec(io)![1]);
}

/** Once round the event loop (two check phases have a prepare phase,
 * where queued frames go out, between them). */
const tick = () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

describeNative('Connection.send queues the messages of a loop turn', () => {
  test('a thousand sends in one turn take a few writes and arrive in order', () => {
    const [a, b] = Pipe();
    const before = writeCalls();
    for (let i = 0; i < 1000; i++) a.send(['msg', i]);
    const writes = writeCalls() - before;
    for (let i = 0; i < 1000; i++) expect(b.recvSync()).toEqual(['msg', i]);
    expect(writes).toBeLessThan(10); // one per send before
    a.close();
    b.close();
  });

  test('the first send of a turn is written at once, the rest by the end of the turn', async () => {
    await tick(); // a new turn (jest ran the test before in this one)
    const [a, b] = Pipe();
    a.send(1);
    a.send(2);
    a.send(3);
    expect(readableNow(b)).toEqual([1]);
    await tick();
    expect(readableNow(b)).toEqual([2, 3]);
    a.close();
    b.close();
  });

  test('a message over the queue size, sent after others, goes out in one write', () => {
    const [a, b] = Pipe();
    a.send('first'); // this turn has sent: the big one takes the queue's path
    a.flush();
    const big = Buffer.alloc(100 * 1024, 7);
    const before = writeCalls();
    a.send(big);
    const writes = writeCalls() - before;
    expect(writes).toBe(1); // header and body together: the reader wakes once
    expect(b.recvSync()).toBe('first');
    expect(b.recvSync()).toEqual(big);
    a.close();
    b.close();
  });

  test('poll(), a Lock release, an Event set and close() write the queue first', () => {
    const [a, b] = Pipe();
    const lock = new Lock();
    const event = new Event();
    a.send('first');
    a.send('under poll');
    expect(b.poll()).toBe(true);
    expect(readableNow(b)).toEqual(['first', 'under poll']);
    lock.acquire();
    a.send('under lock');
    lock.release();
    expect(readableNow(b)).toEqual(['under lock']);
    a.send('before set');
    event.set();
    expect(readableNow(b)).toEqual(['before set']);
    a.send('before close');
    a.close();
    expect(readableNow(b)).toEqual(['before close']);
    b.close();
  });

  test('sends on two connections keep their order', () => {
    const [a, b] = Pipe();
    const [c, d] = Pipe();
    a.send('a1');
    a.send('a2'); // queued
    c.send('c1'); // writes a2 first
    expect(readableNow(b)).toEqual(['a1', 'a2']);
    a.close();
    b.close();
    c.close();
    d.close();
  });

  test('a send to a closed peer fails at once, a queued one at the next send or flush', async () => {
    await tick();
    const [a, b] = Pipe();
    b.close();
    expect(() => a.send('nobody')).toThrow(/EPIPE|pipe/i);
    a.close();
    await tick();
    const [c, d] = Pipe();
    c.send('read by nobody');
    d.close();
    c.send('queued'); // the second of the turn
    expect(() => c.flush()).toThrow(/EPIPE|pipe/i);
    c.close();
  });

  test("a child's queued messages reach the parent when it exits at once", async () => {
    const [a, b] = Pipe();
    const p = new Process({
      target: (conn: Connection) => {
        for (let i = 0; i < 100; i++) conn.send(i);
        process.exit(0);
      },
      args: [b],
    });
    p.start();
    b.close();
    const got: unknown[] = [];
    for (let i = 0; i < 100; i++) got.push(await a.recv());
    expect(got).toEqual([...Array(100).keys()]);
    await p.join(10);
    expect(p.exitcode).toBe(0);
    a.close();
  });
});
