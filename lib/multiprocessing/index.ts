// forkful/multiprocessing: Python's multiprocessing on forked (or spawned)
// Node processes. Each concern lives in its own module; this entry re-exports.
import '../shareables'; // every shareable kind decodes where this is loaded
export { Connection, Pipe, type ConnectionOptions } from './connection';
export {
  Process,
  currentProcess,
  parentProcess,
  activeChildren,
  cpuCount,
  type ProcessOptions,
  type ProcessInfo,
} from './process';
export {
  getStartMethod,
  setStartMethod,
  getAllStartMethods,
  type StartMethod,
} from './start-method';
export { getContext, type Context } from './context';
export {
  Queue,
  JoinableQueue,
  SimpleQueue,
  type PutOptions,
  type GetOptions,
} from './queue/queues';
export {
  Pool,
  withPool,
  AsyncResult,
  IMapIterator,
  type PoolOptions,
  type AsyncCallbacks,
  type CallOptions,
  type ApplyOptions,
  type MapOptions,
  type MapAsyncOptions,
  type PoolEvents,
  type PoolStats,
  type TimeSummary,
  type Progress,
} from './pool/pool';
export type { SignalOption } from '../core/abort';
export {
  Lock,
  RLock,
  Semaphore,
  BoundedSemaphore,
  Condition,
  Event,
  Barrier,
  Value,
  Array,
  SharedArray,
  RawValue,
  RawArray,
  SynchronizedValue,
  SynchronizedArray,
  arenaEnvironment,
  type Typecode,
  type Scalar,
  type ScalarOf,
  type SyncOptions,
  type WaitOptions,
} from '../synchronize';
