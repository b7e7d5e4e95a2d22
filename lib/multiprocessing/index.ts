// forkful/multiprocessing: Python's multiprocessing on forked (or spawned)
// Node processes. Each concern lives in its own module; this entry re-exports.
import '../shareables'; // every shareable kind decodes where this is loaded
export { Connection, Pipe, type ConnectionOptions } from './connection';
import { Connection, Pipe } from './connection';
import { wait, waitAsync } from './wait';
export type { Waitable } from './wait';
import {
  Client,
  ClientSync,
  Listener,
  addressType,
  arbitraryAddress,
  defaultFamily,
  families,
} from './listener';
import {
  CHALLENGE,
  FAILURE,
  WELCOME,
  answerChallenge,
  answerChallengeSync,
  deliverChallenge,
  deliverChallengeSync,
} from './connection-auth';
export { Listener, Client, ClientSync } from './listener';
export type { Address, Family, ListenerOptions, ClientOptions } from './listener';
export type { ChallengeConnection, AsyncChallengeConnection } from './connection-auth';
/** Python's multiprocessing.connection: `connection.wait(objects, timeout)`
 * blocks until any of them is ready, `connection.waitAsync` waits on the
 * event loop; Listener and Client connect processes by address (AF_UNIX or
 * AF_INET), optionally authenticated with an authkey. */
export const connection = {
  Connection,
  Pipe,
  wait,
  waitAsync,
  Listener,
  Client,
  ClientSync,
  deliverChallenge,
  deliverChallengeSync,
  answerChallenge,
  answerChallengeSync,
  arbitraryAddress,
  addressType,
  families,
  defaultFamily,
  CHALLENGE,
  WELCOME,
  FAILURE,
};
import { recvHandle, recvHandleSync, sendHandle } from './reduction';
/** Python's multiprocessing.reduction: `sendHandle(conn, fd, pid)` passes a
 * file descriptor to a running process over a Connection on a Unix socket,
 * `recvHandle(conn)` (a Promise) or `recvHandleSync(conn)` receives it.
 * Connections and Queues inside a message travel this way by themselves. */
export const reduction = { sendHandle, recvHandle, recvHandleSync };
export {
  Process,
  currentProcess,
  parentProcess,
  activeChildren,
  cpuCount,
  type ProcessOptions,
  type ProcessInfo,
} from './process';
export type { ParentProcess } from './process-parent';
export {
  getStartMethod,
  setStartMethod,
  getAllStartMethods,
  type StartMethod,
} from './start-method';
export { getContext, type Context } from './context';
export { setExecutable } from './start/spawn';
import * as logging from '../runtime/logging';
export { getLogger, logToStderr } from '../runtime/logging';
export type { Logger, StreamHandler, Formatter, LogRecord, TextSink } from '../runtime/logging';
/** Python's multiprocessing.util, its logging part: the levels (with
 * logging's NOTSET, WARNING, ERROR, CRITICAL), getLogger/logToStderr, the
 * module functions that log only once the logger exists, and the classes to
 * build a handler (Python's logging.StreamHandler and Formatter). */
export const util = {
  NOTSET: logging.NOTSET,
  SUBDEBUG: logging.SUBDEBUG,
  DEBUG: logging.DEBUG,
  INFO: logging.INFO,
  SUBWARNING: logging.SUBWARNING,
  WARNING: logging.WARNING,
  ERROR: logging.ERROR,
  CRITICAL: logging.CRITICAL,
  DEFAULT_LOGGING_FORMAT: logging.DEFAULT_LOGGING_FORMAT,
  getLogger: logging.getLogger,
  logToStderr: logging.logToStderr,
  getLevelName: logging.getLevelName,
  subDebug: logging.subDebug,
  debug: logging.debug,
  info: logging.info,
  subWarning: logging.subWarning,
  StreamHandler: logging.StreamHandler,
  Formatter: logging.Formatter,
};
export { type PutOptions, type GetOptions } from './queue/queues';
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
export { arenaEnvironment } from '../synchronize';

// Without the addon (Windows, macOS, no prebuild, FORKFUL_NO_NATIVE=1) the
// locks, Event and queues that processes share are kept by the portable hub
// (portable/managed.ts, portable/queue.ts), as Python's SyncManager keeps
// them; with it, they live in the shared arena. Same API either way (the
// portable classes are typed as the native ones they stand for).
import * as arena from '../synchronize';
import type { Typecode } from '../synchronize';
import * as queues from './queue/queues';
import { pick } from './pick';
import {
  PortableBarrier,
  PortableBoundedSemaphore,
  PortableCondition,
  PortableEvent,
  PortableLock,
  PortableRLock,
  PortableSemaphore,
} from './portable/managed';
import { PortableJoinableQueue, PortableQueue, PortableSimpleQueue } from './portable/queue';
import {
  PortableArray,
  portableCopy,
  PortableRawArray,
  PortableRawValue,
  portableSynchronized,
  PortableValue,
} from './portable/sharedctypes';

export const Lock = pick(arena.Lock, PortableLock);
export type Lock = arena.Lock;
export const RLock = pick(arena.RLock, PortableRLock);
export type RLock = arena.RLock;
export const Semaphore = pick(arena.Semaphore, PortableSemaphore);
export type Semaphore = arena.Semaphore;
export const BoundedSemaphore = pick(arena.BoundedSemaphore, PortableBoundedSemaphore);
export type BoundedSemaphore = arena.BoundedSemaphore;
export const Event = pick(arena.Event, PortableEvent);
export type Event = arena.Event;
export const Queue = pick(queues.Queue, PortableQueue);
export type Queue<T = unknown> = queues.Queue<T>;
export const JoinableQueue = pick(queues.JoinableQueue, PortableJoinableQueue);
export type JoinableQueue<T = unknown> = queues.JoinableQueue<T>;
export const SimpleQueue = pick(queues.SimpleQueue, PortableSimpleQueue);
export type SimpleQueue<T = unknown> = queues.SimpleQueue<T>;
export const Value = pick(arena.Value, PortableValue);
export const Array = pick(arena.Array, PortableArray);
export const RawValue = pick(arena.RawValue, PortableRawValue);
export type RawValue<C extends Typecode = Typecode> = arena.RawValue<C>;
export const RawArray = pick(arena.RawArray, PortableRawArray);
export type RawArray<C extends Typecode = Typecode> = arena.RawArray<C>;
export const Barrier = pick(arena.Barrier, PortableBarrier);
export type Barrier = arena.Barrier;
export const Condition = pick(arena.Condition, PortableCondition);
export type Condition = arena.Condition;
const copy = pick(arena.copy, portableCopy);
const synchronized = pick(arena.synchronized, portableSynchronized);
/** Python's multiprocessing.sharedctypes. */
export const sharedctypes = { Value, Array, RawValue, RawArray, copy, synchronized };
export type { SignalOption } from '../core/abort';
export {
  SynchronizedValue,
  SynchronizedArray,
  type Typecode,
  type Scalar,
  type ScalarOf,
  type SyncOptions,
  type WaitOptions,
} from '../synchronize';
/** `Array` under a name that does not shadow the global one. */
export const SharedArray = Array;
import { SharedMemory } from './shared-memory';
import { ShareableList } from './shareable-list';
import { SharedMemoryManager } from './shared-memory-manager';
export { SharedMemory, type SharedMemoryOptions } from './shared-memory';
export { ShareableList, type ShareableItem } from './shareable-list';
export { SharedMemoryManager } from './shared-memory-manager';
/** Python's multiprocessing.shared_memory: named POSIX shared memory blocks
 * (needs the addon: NotSupportedError without it). */
export const sharedMemory = { SharedMemory, ShareableList };
/** Python's multiprocessing.managers, as far as forkful has it: the
 * SharedMemoryManager (without a server process). */
export const managers = { SharedMemoryManager };
