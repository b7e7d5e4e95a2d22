// native/threads.cc: the other JS threads of this process.
import type { ExportKind } from './addon';

export interface ThreadsBinding {
  /** Worker threads (forkful Threads or any Worker that loaded forkful)
   * running besides the calling one. */
  otherJsThreads(): number;
}

export const threadsExports = {
  otherJsThreads: 'function',
} as const satisfies Record<keyof ThreadsBinding, ExportKind>;
