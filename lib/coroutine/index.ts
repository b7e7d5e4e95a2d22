// forkful/coroutine: gevent-style greenlets on Node's event loop (spawn,
// joinall, Pool, sleep, Timeout) and generator coroutines with Python's
// send protocol. gevent's monkey.patch_all() has no counterpart: Node's I/O
// is already non-blocking.
export { Greenlet, spawn, spawnLater, getcurrent } from './greenlet';
export type { GreenletFunction, KillOptions } from './greenlet';
export { joinall, wait, iwait, killall } from './wait';
export type { JoinallOptions } from './wait';
export { sleep } from './sleep';
export { Timeout, withTimeout } from './timeout';
export { Pool, Group } from './pool';
export type { ImapOptions } from './pool';
export { coroutine, Coroutine, AsyncCoroutine, StopIteration } from './generator';
export { GreenletExit, PoolFull } from '../core/errors';
