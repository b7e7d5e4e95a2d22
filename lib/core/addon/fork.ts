// native/fork.cc: fork() of the running Node process.
import type { ExportKind } from './addon';

/** Where the time of the last fork() went (diagnostics, benchmarks). */
export interface ForkTimings {
  parkMs: number;
  scanMs: number;
  forkMs: number;
  restoreMs: number;
  dontForkMappings: number;
  dontForkRuns: number;
  fullScan: boolean;
}

export interface ForkBinding {
  /** 0 in the child, the child's pid in the parent. `onIdle` runs in the
   * child whenever its event loop has nothing left to do. */
  fork(onIdle: (phase: 'beforeExit' | 'exit') => void): number;
  inForkedChild(): boolean;
  lastForkTimings(): ForkTimings;
  countDontForkMappings(): number;
}

export const forkExports = {
  fork: 'function',
  inForkedChild: 'function',
  lastForkTimings: 'function',
  countDontForkMappings: 'function',
} as const satisfies Record<keyof ForkBinding, ExportKind>;
