// The native seam, typed: one interface per native/*.cc (its file here has
// the same name), and per concern the table of its exports, keyed by the
// name native/*.cc registers it under. lib/core/native.ts checks every
// table against the loaded binary before anything uses it, and
// test/core/native-seam.test.ts checks that each table is exactly what the
// binary says the concern registered: a C++ export renamed, added or
// removed fails there, not at run time inside a fixture.
import { addonExports, type AddonBinding, type ExportKind } from './addon';
import { arenaExports, type ArenaBinding } from './arena';
import { childWatchExports, type ChildWatchBinding } from './child-watch';
import { connectionExports, type ConnectionBinding } from './connection';
import { forkExports, type ForkBinding } from './fork';
import { nodeInternalsExports, type NodeInternalsBinding } from './node-internals';
import { osExports, type OsBinding } from './os';
import { processExports, type ProcessBinding } from './process';
import { syncExports, type SyncBinding } from './sync';
import { threadsExports, type ThreadsBinding } from './threads';

export type { ExportKind } from './addon';
export type { ArenaInfo } from './arena';
export type { FdWatch } from './connection';
export type { PidWatch } from './child-watch';
export type { ForkTimings } from './fork';
export type { LockResult } from './sync';
export type { NodeInternalsReport } from './node-internals';

/** The addon's exports: every concern's. */
export type NativeAddon = AddonBinding &
  ArenaBinding &
  ChildWatchBinding &
  ConnectionBinding &
  ForkBinding &
  NodeInternalsBinding &
  OsBinding &
  ProcessBinding &
  SyncBinding &
  ThreadsBinding;

/** Each concern's exports, by its registration name in native/*.cc. */
export const concernExports: Record<string, Readonly<Record<string, ExportKind>>> = {
  arena: arenaExports,
  child_watch: childWatchExports,
  connection: connectionExports,
  fork: forkExports,
  node_internals: nodeInternalsExports,
  os: osExports,
  process: processExports,
  sync: syncExports,
  threads: threadsExports,
};

/** addon.cc's own exports (not a registered concern). */
export const moduleExports: Readonly<Record<string, ExportKind>> = addonExports;

/** What is wrong with `addon` against the tables ('' when nothing): a
 * missing export, or one of another kind. */
export function checkExports(addon: Record<string, unknown>): string {
  const problems: string[] = [];
  for (const [concern, table] of [
    ['addon', moduleExports] as const,
    ...Object.entries(concernExports),
  ]) {
    for (const [name, kind] of Object.entries(table)) {
      const actual = typeof addon[name];
      if (actual !== kind) problems.push(`${concern}.${name} is ${actual}, not ${kind}`);
    }
  }
  return problems.join('; ');
}
