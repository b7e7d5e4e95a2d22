// native/connection.cc: pipes and socketpairs, framed writes, non-blocking
// reads, and FdWatch (a uv_poll watch on an fd).
import type { ExportKind } from './addon';

/** A uv_poll watch: `callback` runs on the event loop while the fd is
 * readable (or writable) and the watch is started. */
export interface FdWatch {
  start(): void;
  stop(): void;
  close(): void;
  ref(): void;
  unref(): void;
}

export interface ConnectionBinding {
  socketpair(): [number, number];
  /** [readFd, writeFd], non-blocking, close-on-exec. */
  nbPipe(): [number, number];
  /** Writes one length-prefixed frame; blocks until written. */
  sendFrame(fd: number, body: Uint8Array, offset?: number, size?: number): void;
  /** Bytes read; 0 at end of file; -1 when nothing is there now. */
  readInto(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  /** True when readable (or at end of file) within timeoutMs (< 0: forever). */
  waitReadable(fd: number, timeoutMs: number): boolean;
  /** Bytes written (maybe fewer); -1 when the pipe is full. */
  writeSome(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  setBlocking(fd: number, blocking: boolean): void;
  setCloexec(fd: number, on: boolean): void;
  dupFd(fd: number): number;
  FdWatch: new (fd: number, callback: () => void, writable?: boolean) => FdWatch;
}

export const connectionExports = {
  socketpair: 'function',
  nbPipe: 'function',
  sendFrame: 'function',
  readInto: 'function',
  waitReadable: 'function',
  writeSome: 'function',
  setBlocking: 'function',
  setCloexec: 'function',
  dupFd: 'function',
  FdWatch: 'function',
} as const satisfies Record<keyof ConnectionBinding, ExportKind>;
