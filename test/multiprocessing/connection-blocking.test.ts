// Pipe()'s sockets are in blocking mode, as Python's: a recvSync() that
// must wait is one blocking recvmsg (a poll and a read were two system
// calls, a third of a ping-pong's), while every other read and write of
// them says MSG_DONTWAIT, and recv()'s watch leaves the mode alone.
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { native } from '../../lib/core/native';
import { receiveCalls } from '../helpers/receive-calls';
import { needsAddon } from '../helpers/needs';
import { Pipe } from '../../lib/multiprocessing';

// /proc/self/fdinfo shows the mode.
const O_NONBLOCK = 0o4000;

function nonBlocking(fd: number): boolean {
  const flags = /flags:\s+([0-7]+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return (parseInt(flags![1], 8) & O_NONBLOCK) !== 0;
}

type Addon = Record<'setBlocking', (...a: unknown[]) => unknown>;

/** A thread that writes the frame of the message 7 to `fd` after 50 ms,
 * while this thread waits in recvSync(). */
function sevenLater(fd: number): Worker {
  return new Worker(
    `const { workerData } = require('node:worker_threads');
     setTimeout(() => require('node:fs').writeSync(workerData, Buffer.from([0, 0, 0, 5, 1, 7, 0, 0, 0])), 50);`,
    { eval: true, workerData: fd },
  );
}

needsAddon.describe('Pipe() sockets in blocking mode', () => {
  test('a Pipe() end is in blocking mode, and stays so after recv() watched it', async () => {
    const [a, b] = Pipe();
    try {
      expect([nonBlocking(a.fileno()), nonBlocking(b.fileno())]).toEqual([false, false]);
      const got = b.recv();
      a.send('x');
      await expect(got).resolves.toBe('x');
      expect(nonBlocking(b.fileno())).toBe(false);
    } finally {
      a.close();
      b.close();
    }
  });

  test('recvSync() waits in one blocking read, with no poll', async () => {
    const [a, b] = Pipe();
    const worker = sevenLater(a.fileno());
    try {
      expect(receiveCalls(() => b.recvSync())).toEqual({ value: 7, polls: 0, reads: 1 });
    } finally {
      await worker.terminate();
      a.close();
      b.close();
    }
  });

  test('on a socket in non-blocking mode recvSync() polls, then reads', async () => {
    const [a, b] = Pipe();
    (native as unknown as Addon).setBlocking(b.fileno(), false);
    const worker = sevenLater(a.fileno());
    try {
      const first = receiveCalls(() => b.recvSync());
      expect(first.value).toBe(7);
      expect(first.polls).toBeGreaterThanOrEqual(1);
    } finally {
      await worker.terminate();
      a.close();
      b.close();
    }
  });

  test('sendAsync() on a full socket waits without blocking the thread', async () => {
    const [a, b] = Pipe();
    try {
      const big = Buffer.alloc(8 << 20, 3); // more than the socket holds
      const sending = a.sendAsync(big);
      let timerRan = false;
      await new Promise((resolve) => setTimeout(resolve, 10)).then(() => (timerRan = true));
      expect(timerRan).toBe(true);
      const got = (await b.recv()) as Buffer;
      await sending;
      expect([got.length, got[0], got[got.length - 1]]).toEqual([big.length, 3, 3]);
    } finally {
      a.close();
      b.close();
    }
  });
});
