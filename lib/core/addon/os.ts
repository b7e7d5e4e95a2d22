// native/os.cc: Python's os process functions on the system calls.
import type { ExportKind } from './addon';

export interface OsBinding {
  getpid(): number;
  getppid(): number;
  gettid(): number;
  /** [pid, status]; [0, 0] when WNOHANG finds nothing. */
  waitpid(pid: number, options: number): [number, number];
  /** [pid, status], or null while the child still runs after timeoutMs. */
  waitpidTimeout(pid: number, timeoutMs: number): [number, number] | null;
  kill(pid: number, signal: number): void;
  _exit(code: number): never;
  pipe(): [number, number];
  read(fd: number, n: number): Buffer;
  write(fd: number, data: Uint8Array): number;
  close(fd: number): void;
  WNOHANG: number;
  WUNTRACED: number;
}

export const osExports = {
  getpid: 'function',
  getppid: 'function',
  gettid: 'function',
  waitpid: 'function',
  waitpidTimeout: 'function',
  kill: 'function',
  _exit: 'function',
  pipe: 'function',
  read: 'function',
  write: 'function',
  close: 'function',
  WNOHANG: 'number',
  WUNTRACED: 'number',
} as const satisfies Record<keyof OsBinding, ExportKind>;
