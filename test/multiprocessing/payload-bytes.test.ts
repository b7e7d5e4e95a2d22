// Byte payloads (Buffer, Uint8Array) through a Pipe and a Queue in this
// process: they arrive with their type and bytes, a received one never
// changes when later messages arrive (the read buffer is reused), and a
// Queue item is what the Buffer held at put(), even when its owner changes
// it before the feeder could write it (the pipe full).
import { Pipe, Queue } from '../../lib/multiprocessing';

const SIZES = [0, 100, 8 * 1024, 64 * 1024 - 2, 64 * 1024, 300 * 1024, 1024 * 1024];

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** A Buffer at an offset inside a larger one, as a slice of a read is. */
function sliced(size: number, seed: number): Buffer {
  return pattern(size + 7, seed).subarray(3, size + 3);
}

/** The Buffer and the Uint8Array received are such, with the bytes sent. */
function expectArrived(gotBuf: Buffer, buf: Buffer, gotU8: Uint8Array, u8: Uint8Array): void {
  expect(Buffer.isBuffer(gotBuf)).toBe(true);
  expect(gotBuf.equals(buf)).toBe(true);
  expect(Object.getPrototypeOf(gotU8)).toBe(Uint8Array.prototype);
  expect(Buffer.from(gotU8).equals(Buffer.from(u8))).toBe(true);
}

function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe('byte payloads over a Pipe', () => {
  test('a Buffer and a Uint8Array arrive as such, with their bytes, at every size', async () => {
    const [a, b] = Pipe();
    try {
      for (const size of SIZES) {
        const buf = sliced(size, size);
        const u8 = new Uint8Array(pattern(size, size + 1));
        // send() blocks while the socket is full: the large ones wait on the loop.
        const sent =
          size > 64 * 1024
            ? a.sendAsync(buf).then(() => a.sendAsync(u8))
            : (a.send(buf), a.send(u8), Promise.resolve());
        const gotBuf = (await within(10000, b.recv(), `recv of ${size} bytes`)) as Buffer;
        const gotU8 = (await within(10000, b.recv(), `recv of ${size} bytes`)) as Uint8Array;
        await within(10000, sent, `send of ${size} bytes`);
        expectArrived(gotBuf, buf, gotU8, u8);
      }
    } finally {
      a.close();
      b.close();
    }
  });

  test('a received Buffer, alone or inside a message, keeps its bytes as later messages arrive', async () => {
    const [a, b] = Pipe();
    try {
      a.send(Buffer.alloc(100, 1));
      a.send({ inner: Buffer.alloc(100, 2), map: new Map([['k', Buffer.alloc(50, 3)]]) });
      a.send(new Uint8Array(100).fill(4));
      const first = (await b.recv()) as Buffer;
      const second = (await b.recv()) as { inner: Buffer; map: Map<string, Buffer> };
      const third = b.recvSync() as Uint8Array;
      // Enough later messages to reuse every byte of the read buffer.
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 300; i++) a.send(Buffer.alloc(1000, 0xee));
        for (let i = 0; i < 300; i++) await within(10000, b.recv(), 'a later message');
      }
      expect(first.equals(Buffer.alloc(100, 1))).toBe(true);
      expect(second.inner.equals(Buffer.alloc(100, 2))).toBe(true);
      expect(second.map.get('k')!.equals(Buffer.alloc(50, 3))).toBe(true);
      expect(Buffer.from(third).equals(Buffer.alloc(100, 4))).toBe(true);
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('byte payloads over a Queue', () => {
  test('a Buffer and a Uint8Array arrive as such, with their bytes, at every size', async () => {
    const q = new Queue();
    try {
      for (const size of SIZES) {
        const buf = sliced(size, size);
        const u8 = new Uint8Array(pattern(size, size + 1));
        await q.put(buf);
        q.putSync(u8);
        const gotBuf = (await within(10000, q.get(), `get of ${size} bytes`)) as Buffer;
        const gotU8 = q.getSync({ timeout: 10 }) as Uint8Array;
        expectArrived(gotBuf, buf, gotU8, u8);
      }
    } finally {
      q.close();
      await within(10000, q.joinThread(), 'joinThread');
    }
  });

  test('an item is the bytes its Buffer held at put(), also when the pipe was full then', async () => {
    const q = new Queue();
    try {
      // 6 MiB put without yielding: more than the pipe holds, so the later
      // items wait in the feeder while their owners already reuse them.
      const size = 64 * 1024;
      const count = 96;
      const sources: Buffer[] = [];
      for (let i = 0; i < count; i++) {
        const src = pattern(size, i);
        await q.put(i % 2 ? src : new Uint8Array(src.buffer, src.byteOffset, size));
        src.fill(0xee); // the owner changes it at once
        sources.push(src);
      }
      for (let i = 0; i < count; i++) {
        const got = (await within(10000, q.get(), `item ${i}`)) as Uint8Array;
        expect(Buffer.from(got).equals(pattern(size, i))).toBe(true);
        expect(Buffer.isBuffer(got)).toBe(i % 2 === 1);
      }
    } finally {
      q.close();
      await within(10000, q.joinThread(), 'joinThread');
    }
  });
});
