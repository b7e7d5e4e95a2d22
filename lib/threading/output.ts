// A Worker's stdout/stderr normally travel to the main thread as messages and
// appear when the main thread's event loop gets to them: late, out of order
// between threads, and not at all while the main thread blocks in joinSync.
// A forkful Thread writes straight to the process's file descriptors instead,
// as a Python thread does, so output appears in the order it was written.
import * as fs from 'node:fs';

const nap = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `data` to `fd`, waiting out EAGAIN on a non-blocking fd. */
export function writeAllSync(fd: number, data: Uint8Array): void {
  let offset = 0;
  while (offset < data.length) {
    try {
      offset += fs.writeSync(fd, data, offset, data.length - offset);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(nap, 0, 0, 1);
        continue;
      }
      if (code === 'EPIPE') return; // the reader is gone: nothing to write to
      throw err;
    }
  }
}

type WriteCallback = (err?: Error | null) => void;

function redirect(stream: NodeJS.WriteStream, fd: number): void {
  stream.write = function write(
    chunk: string | Uint8Array,
    encoding?: BufferEncoding | WriteCallback,
    callback?: WriteCallback,
  ): boolean {
    const cb = typeof encoding === 'function' ? encoding : callback;
    const enc = typeof encoding === 'string' ? encoding : 'utf8';
    const data = typeof chunk === 'string' ? Buffer.from(chunk, enc) : chunk;
    let error: Error | null = null;
    try {
      writeAllSync(fd, data);
    } catch (err) {
      error = err as Error;
    }
    if (cb) process.nextTick(cb, error);
    else if (error) throw error;
    return true;
  } as typeof stream.write;
}

/** Called once in each thread, before its target runs. */
export function redirectThreadOutput(): void {
  redirect(process.stdout, 1);
  redirect(process.stderr, 2);
}
