// forkful/coroutine: gevent-style greenlets on Node's event loop (spawn,
// joinall, Pool, sleep, Timeout, Event, AsyncResult, Semaphore, RLock,
// Queue) and generator coroutines with Python's
// send protocol. gevent's monkey.patch_all() has no counterpart: Node's I/O
// is already non-blocking.
export { Greenlet, spawn, spawnLater, spawnRaw, getcurrent } from './greenlet';
export type { GreenletFunction, KillOptions, RawGreenlet, ExcInfo } from './greenlet';
export { joinall, wait, iwait, killall } from './wait';
export type { JoinallOptions, Waitable } from './wait';
export { Event, AsyncResult } from './event';
export { Semaphore, BoundedSemaphore, DummySemaphore, RLock } from './lock';
export type { AcquireOptions } from './lock';
export {
  SimpleQueue,
  Queue,
  JoinableQueue,
  LifoQueue,
  PriorityQueue,
  Channel,
  comparePriority,
} from './queue';
export type { QueueWaitOptions } from './queue';
export type { Link, LinkTarget } from './linkable';
export { sleep } from './sleep';
export { Timeout, withTimeout } from './timeout';
export { Pool, Group } from './pool';
export type { ImapOptions } from './pool';
export { coroutine, Coroutine, AsyncCoroutine, StopIteration } from './generator';
export { GreenletExit, PoolFull, Empty, Full, ShutDown } from '../core/errors';
