// native/sync.cc: the slow paths of the shared locks (futexes on arena
// words). Offsets are byte offsets into the arena; timeouts are seconds,
// -1 for no limit (lib/core/timeout's FOREVER).
import type { ExportKind } from './addon';

/** 0 timed out, 1 acquired, 2 acquired from an owner that died. */
export type LockResult = 0 | 1 | 2;

export interface SyncBinding {
  syncLockAcquire(offset: number, timeout: number, ownerTid: number): LockResult;
  syncLockAcquireAsync(offset: number, timeout: number, ownerTid: number): Promise<LockResult>;
  /** 0 timed out, else acquired. */
  syncSemAcquire(offset: number, timeout: number): number;
  syncSemAcquireAsync(offset: number, timeout: number): Promise<number>;
  /** 1 woken or changed, 0 timed out. */
  syncFutexWait(offset: number, expected: number, timeout: number): number;
  syncFutexWaitAsync(offset: number, expected: number, timeout: number): Promise<number>;
  /** count < 0 wakes every sleeper. */
  syncFutexWake(offset: number, count: number): void;
  syncForkChild(): void;
}

export const syncExports = {
  syncLockAcquire: 'function',
  syncLockAcquireAsync: 'function',
  syncSemAcquire: 'function',
  syncSemAcquireAsync: 'function',
  syncFutexWait: 'function',
  syncFutexWaitAsync: 'function',
  syncFutexWake: 'function',
  syncForkChild: 'function',
} as const satisfies Record<keyof SyncBinding, ExportKind>;
