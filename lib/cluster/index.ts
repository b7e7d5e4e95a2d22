// forkful/cluster: the multiprocessing Pool API across machines, on BullMQ
// and Redis. Callers create a Pool; each machine runs `forkful worker` (or
// `runWorker`), which runs the jobs in a local fork Pool. bullmq and ioredis
// are loaded when a Pool or Worker is created, never by `require('forkful')`.
export { Pool, withPool, type PoolOptions, type PoolStats } from './pool';
export { Worker, runWorker, type WorkerOptions, type WorkerStats } from './worker';
// The cluster's imap iterator is the local pool's (one behaviour for both).
export { IMapIterator as ClusterIMapIterator } from '../multiprocessing/pool/jobs';
export type { ModuleTarget, Target, TaskFunction } from './target';
export type { ConnectionSpec } from './connection';
export { DEFAULT_MAX_JOB_BYTES } from './wire';
export { AsyncResult } from '../multiprocessing';
