// native/process.cc: what a forked Process child and its parent need beyond
// fork(): leaving the parent's stack, the parent-death signal, waiting
// without reaping, and calling back from a clean loop iteration.
import type { ExportKind } from './addon';

export interface ProcessBinding {
  /** The exit code (minus the signal) once ended, null after timeoutMs
   * (< 0: forever). Does not reap. Blocks. */
  exitcodeNoReap(pid: number, timeoutMs: number): number | null;
  /** Calls `callback` from the next loop iteration, from a native frame. */
  callSoon(callback: () => void): void;
  /** Terminates the running JS; `resume` then runs from the event loop. */
  abandonStack(resume: () => void): void;
  /** True when armed; throws when the parent is already gone. */
  setParentDeathSignal(signal: number, expectedParentPid: number): boolean;
}

export const processExports = {
  exitcodeNoReap: 'function',
  callSoon: 'function',
  abandonStack: 'function',
  setParentDeathSignal: 'function',
} as const satisfies Record<keyof ProcessBinding, ExportKind>;
