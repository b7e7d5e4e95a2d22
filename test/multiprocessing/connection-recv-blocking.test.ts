// Connection[kBlockingReads], a pool worker's reader: its task pipe in
// blocking mode, each wait of recvBytesSync() for a task is one read() (no
// poll() before it), and messages still arrive whole: several in one read,
// one larger than the pipe in several, then end of file.
import { spawn } from 'node:child_process';
import { receiveCalls } from '../helpers/receive-calls';
import { needsAddon } from '../helpers/needs';
import { EOFError } from '../../lib/core/errors';
import { Pipe } from '../../lib/multiprocessing';
import { kBlockingReads } from '../../lib/multiprocessing/connection';

// A writer in another process: after 200 ms, a 300 KiB message (larger than
// a pipe holds: it goes in several writes), then two small ones at once;
// then it exits (end of file). fd 3 is the pipe's non-blocking write end.
const WRITER = `
const fs = require('node:fs');
function put(buf) {
  let at = 0;
  while (at < buf.length) {
    try { at += fs.writeSync(3, buf, at); } catch (e) { if (e.code !== 'EAGAIN') throw e; }
  }
}
function frame(body) {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(body.length);
  return Buffer.concat([h, body]);
}
setTimeout(() => {
  put(frame(Buffer.alloc(300 * 1024, 7)));
  put(Buffer.concat([frame(Buffer.from('one')), frame(Buffer.from('two'))]));
}, 200);
`;

needsAddon.describe('Connection[kBlockingReads]', () => {
  test('waits in read() alone, takes messages whole, then ends at end of file', () => {
    const [r, w] = Pipe(false);
    const child = spawn(process.execPath, ['-e', WRITER], {
      stdio: ['ignore', 'inherit', 'inherit', w.fileno()],
    });
    w.close();
    try {
      r[kBlockingReads]();
      const big = receiveCalls(() => r.recvBytesSync());
      expect(big.value.length).toBe(300 * 1024);
      expect(big.value.every((b) => b === 7)).toBe(true);
      expect(big.polls).toBe(0);
      const one = receiveCalls(() => r.recvBytesSync());
      const two = receiveCalls(() => r.recvBytesSync());
      expect([one.value.toString(), two.value.toString()]).toEqual(['one', 'two']);
      expect(one.polls + two.polls).toBe(0);
      expect(two.reads).toBe(0); // it came with the first
      expect(() => r.recvBytesSync()).toThrow(EOFError);
    } finally {
      child.kill('SIGKILL');
      r.close();
    }
  });

  test("without it a pipe's recvBytesSync polls, then reads", () => {
    const [r, w] = Pipe(false);
    w.sendBytes(Buffer.from('x'));
    const first = receiveCalls(() => r.recvBytesSync());
    expect(first.value.toString()).toBe('x');
    w.sendBytes(Buffer.from('y'));
    // The last read was short: a blocking receive polls before reading again.
    const second = receiveCalls(() => r.recvBytesSync());
    expect(second.value.toString()).toBe('y');
    expect(second.polls).toBe(1);
    w.close();
    r.close();
  });
});
