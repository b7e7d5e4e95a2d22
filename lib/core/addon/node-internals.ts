// native/node_internals.cc: the addon's side of lib/core/node-internals.ts.
import type { ExportKind } from './addon';

export interface NodeInternalsReport {
  builtFor: { version: string; major: number; abi: number };
  /** How Node's timer handle was found. */
  timerHandle: 'symbol' | 'first-timer' | 'missing';
}

export interface NodeInternalsBinding {
  nodeInternals(): NodeInternalsReport;
  /** The process object of Node's main context (jest runs code on a copy). */
  nodeProcess(): NodeJS.Process;
  /** Hands `error` to Node's uncaught-exception path. */
  fatalException(error: Error): void;
}

export const nodeInternalsExports = {
  nodeInternals: 'function',
  nodeProcess: 'function',
  fatalException: 'function',
} as const satisfies Record<keyof NodeInternalsBinding, ExportKind>;
