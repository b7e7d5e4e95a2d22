// forkful/multiprocessing: Python's multiprocessing on forked (or spawned)
// Node processes. Each concern lives in its own module; this entry re-exports.
export { Connection, Pipe, type ConnectionOptions } from './connection';
export { Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier, Value, Array, RawValue, RawArray, arenaEnvironment } from '../synchronize';
export { Pool, withPool, AsyncResult, IMapIterator, type PoolOptions, type AsyncCallbacks } from './pool';
