// native/arena.cc: the MAP_SHARED memfd arena that shared objects live in.
import type { ExportKind } from './addon';

export interface ArenaInfo {
  id: string;
  size: number;
  bump: number;
  live: number;
  /** /proc/<pid>/fd/<fd>: how a spawned child opens it. */
  path: string;
}

export interface ArenaBinding {
  /** Creates the arena once. */
  arenaInit(): ArenaInfo;
  /** null before the arena exists. */
  arenaInfo(): ArenaInfo | null;
  arenaAttach(path: string, id: string): ArenaInfo;
  arenaBuffer(): SharedArrayBuffer;
  /** [offset, generation] of a new zeroed block. */
  arenaAlloc(kind: number, bytes: number): [number, number];
  /** False when the block was freed (or reused) meanwhile. */
  arenaAdopt(offset: number, gen: number, kind: number): boolean;
  arenaRelease(offset: number): void;
  /** In a forked child: the offsets freed by the parent around the fork. */
  arenaForkChild(): number[];
  arenaReleaseAll(): void;
  arenaSweep(force?: boolean): void;
}

export const arenaExports = {
  arenaInit: 'function',
  arenaInfo: 'function',
  arenaAttach: 'function',
  arenaBuffer: 'function',
  arenaAlloc: 'function',
  arenaAdopt: 'function',
  arenaRelease: 'function',
  arenaForkChild: 'function',
  arenaReleaseAll: 'function',
  arenaSweep: 'function',
} as const satisfies Record<keyof ArenaBinding, ExportKind>;
