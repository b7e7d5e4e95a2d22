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
} from './pool/pool';
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
  RawValue,
  RawArray,
  arenaEnvironment,
} from '../synchronize';
import {
  Value,
  Array as SharedArray,
  RawValue,
  RawArray,
  copy,
  synchronized,
} from '../synchronize';
/** Python's multiprocessing.sharedctypes. */
export const sharedctypes = {
  Value,
  Array: SharedArray,
  RawValue,
  RawArray,
  copy,
  synchronized,
};
