// A message that carried fds (a Connection inside it, SCM_RIGHTS) received
// with recvBytes / recvBytesSync / recvBytesInto: the bytes are returned and
// the fds that came with them are closed, as Python's recv_bytes (a plain
// read: the kernel closes them). Before, they stayed in the connection's
// inbox: a leak, and the next message decoded took them as its own.
import * as fs from 'node:fs';
import { needsAddon } from '../helpers/needs';
import { Pipe } from '../../lib/multiprocessing';
import type { Connection } from '../../lib/multiprocessing/connection';

const openFds = () => fs.readdirSync('/proc/self/fd').length;

// The fds travel only with the addon (the portable backend's objects go
// through its hub, with no fd on the way).
needsAddon.describe('recvBytes of a message that carried fds', () => {
  const takes: Array<[string, (c: Connection) => Promise<unknown> | unknown]> = [
    ['recvBytes', (c) => c.recvBytes()],
    ['recvBytesSync', (c) => c.recvBytesSync()],
    ['recvBytesInto', (c) => c.recvBytesInto(Buffer.alloc(1 << 16))],
    ['recvBytesIntoSync', (c) => c.recvBytesIntoSync(Buffer.alloc(1 << 16))],
  ];
  test.each(takes)('%s: its fds are closed, the next messages take their own', async (_, take) => {
    const [a, b] = Pipe();
    const [x, y] = Pipe();
    try {
      const before = openFds();
      a.send({ conn: x }); // x's fd travels with the message
      a.send('plain');
      const got = await take(b);
      expect(got).toBeTruthy(); // the bytes (or their count)
      expect(openFds()).toBe(before); // the copy of x's fd that came is closed
      expect(await b.recv()).toBe('plain');
      // A later message with fds gets its own, working, connection.
      a.send({ conn: x });
      const { conn } = (await b.recv()) as { conn: Connection };
      y.send('through the copy');
      expect(await conn.recv()).toBe('through the copy');
      conn.close();
      expect(openFds()).toBe(before);
    } finally {
      for (const c of [a, b, x, y]) c.close();
    }
  });
});
