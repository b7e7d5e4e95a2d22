// native/child_watch.cc: a pidfd watched by libuv.
import type { ExportKind } from './addon';

export interface PidWatch {
  close(): void;
  ref(): void;
  unref(): void;
}

export interface ChildWatchBinding {
  /** `callback` runs once, when the child exits (ENOSYS without pidfds). */
  PidWatch: new (pid: number, callback: () => void) => PidWatch;
}

export const childWatchExports = {
  PidWatch: 'function',
} as const satisfies Record<keyof ChildWatchBinding, ExportKind>;
