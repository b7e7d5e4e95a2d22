// Shared synchronisation and memory, one implementation for forkful/threading
// and forkful/multiprocessing: objects live in a MAP_SHARED arena and pass to
// threads and processes by handle.
export type { AcquireOptions, WaitOptions } from './args';
export { Lock, RLock, type ConditionLock } from './lock';
export { Semaphore, BoundedSemaphore } from './semaphore';
export { Condition } from './condition';
export { Event } from './event';
export { Barrier, type BarrierOptions } from './barrier';
export {
  Value,
  Array,
  SharedArray,
  RawValue,
  RawArray,
  SynchronizedValue,
  SynchronizedArray,
  copy,
  synchronized,
  type Typecode,
  type Scalar,
  type ScalarOf,
  type InitOf,
  type BigTypecode,
  type SyncOptions,
} from './sharedctypes';
export { arenaEnvironment, arenaInfo, ARENA_ENV } from './arena';
