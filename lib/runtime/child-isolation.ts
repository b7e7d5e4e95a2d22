// A Process child made by fork() runs only its target: it must not accept on
// the parent's servers, read the parent's sockets, or fire the parent's
// timers. Servers and sockets are found through Node's active handles;
// timers are not listed there, so the ones created through setTimeout /
// setInterval after forkful loaded are tracked here (a WeakRef each, gone
// when they fire or are cleared) and made inert in the child, and so are
// pending setImmediate callbacks.
import { syncBuiltinESMExports } from 'node:module';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import {
  activeHandles,
  closeSocketHandle,
  disarmImmediate,
  disarmTimer,
  immediatesAfter,
  reviveImmediate,
  runningImmediate,
  socketFd,
  timersModuleObject,
} from '../core/node-internals';

type Timer = NodeJS.Timeout;
const live = new Set<WeakRef<Timer>>();
const refOf = new WeakMap<Timer, WeakRef<Timer>>();

function track(timer: Timer): Timer {
  const ref = new WeakRef(timer);
  live.add(ref);
  refOf.set(timer, ref);
  return timer;
}

function untrack(timer: unknown): void {
  if (typeof timer !== 'object' || timer === null) return;
  const ref = refOf.get(timer as Timer);
  if (ref) live.delete(ref);
}

/** Pending immediates (strong: an immediate runs soon, then is removed). */
const immediates = new Set<NodeJS.Immediate>();
/** The immediate whose callback runs now (a forked child may start in it). */
let running: NodeJS.Immediate | null = null;
let setImmediateRaw: ((...a: unknown[]) => NodeJS.Immediate) | null = null;

// Node's processImmediate() marks an immediate destroyed and counts it done
// before calling it, and advances its queue in a finally block, which an
// abandoned stack skips: Node next resumes its queue at that immediate and,
// finding it destroyed, reads the previous one, which it no longer has. So
// the child makes it a live no-op again; running it counts it done twice,
// which would leave Node's pending count one short (a lone pending
// immediate would then never run). An unreferenced sentinel immediate that
// re-queues itself whenever it runs makes up that one.
// The running immediate is found through Node's async context too, and the
// immediates queued after it in the batch are disarmed whoever queued them:
// one forkful did not wrap (queued before it loaded, by jest, by Node) would
// otherwise stay referenced while Node, resuming elsewhere, never reaches it:
// the child's loop then never blocks (100% CPU) and its immediates starve.
// prettier-ignore
const repairImmediateQueue = (function repairImmediateQueue(noop: () => void): void {
  const current = running ?? runningImmediate();
  running = null;
  const raw = setImmediateRaw;
  if (!current || !raw) return;
  for (const later of immediatesAfter(current)) disarmImmediate(later, noop);
  reviveImmediate(current, noop);
  const sentinel = () => {
    raw(sentinel).unref();
  };
  raw(sentinel).unref();
});

let installed = false;

/** Starts tracking timers (idempotent): the fork machinery calls it when it
 * loads where fork works, so that the timers created from then on can be
 * made inert in a forked child. Timers made before cannot be found. */
export function installTimerTracking(): void {
  if (installed) return;
  installed = true;
  const st = globalThis.setTimeout as unknown as (...a: unknown[]) => Timer;
  const si = globalThis.setInterval as unknown as (...a: unknown[]) => Timer;
  const ct = globalThis.clearTimeout;
  const ci = globalThis.clearInterval;
  const wrappedSetTimeout = function (
    this: unknown,
    cb: (...a: unknown[]) => void,
    ms?: number,
    ...args: unknown[]
  ) {
    if (typeof cb !== 'function') return st.call(this, cb, ms, ...args);
    const run = (...a: unknown[]) => {
      untrack(timer); // runs later, when timer is assigned
      return cb(...a);
    };
    const timer = track(st(run, ms, ...args));
    return timer;
  } as unknown as typeof setTimeout;
  const wrappedSetInterval = function (
    this: unknown,
    cb: (...a: unknown[]) => void,
    ms?: number,
    ...args: unknown[]
  ) {
    return track(si.call(this, cb, ms, ...args));
  } as unknown as typeof setInterval;
  const wrappedClearTimeout = function (timer: unknown) {
    untrack(timer);
    return ct(timer as Timer);
  } as typeof clearTimeout;
  const wrappedClearInterval = function (timer: unknown) {
    untrack(timer);
    return ci(timer as Timer);
  } as typeof clearInterval;
  // Immediates the parent queued would run in the child right away.
  const sim = globalThis.setImmediate as unknown as (...a: unknown[]) => NodeJS.Immediate;
  const cim = globalThis.clearImmediate;
  const wrappedSetImmediate = function (
    this: unknown,
    cb: (...a: unknown[]) => void,
    ...args: unknown[]
  ) {
    if (typeof cb !== 'function') return sim.call(this, cb, ...args);
    const run = (...a: unknown[]) => {
      immediates.delete(immediate);
      running = immediate;
      try {
        return cb(...a);
      } finally {
        running = null; // skipped when a forked child abandons the stack here
      }
    };
    const immediate = sim(run, ...args);
    immediates.add(immediate);
    return immediate;
  } as unknown as typeof setImmediate;
  setImmediateRaw = sim;
  const wrappedClearImmediate = function (immediate: NodeJS.Immediate | undefined) {
    if (immediate) immediates.delete(immediate);
    return cim(immediate);
  } as typeof clearImmediate;
  Object.assign(wrappedSetImmediate, sim);
  globalThis.setImmediate = wrappedSetImmediate;
  globalThis.clearImmediate = wrappedClearImmediate;
  Object.assign(wrappedSetTimeout, st);
  globalThis.setTimeout = wrappedSetTimeout;
  globalThis.setInterval = wrappedSetInterval;
  globalThis.clearTimeout = wrappedClearTimeout;
  globalThis.clearInterval = wrappedClearInterval;
  // node:timers is one object for require(); syncBuiltinESMExports() gives
  // import { setTimeout } from 'node:timers' the same functions.
  Object.assign(timersModuleObject(), {
    setTimeout: wrappedSetTimeout,
    setInterval: wrappedSetInterval,
    clearTimeout: wrappedClearTimeout,
    clearInterval: wrappedClearInterval,
    setImmediate: wrappedSetImmediate,
    clearImmediate: wrappedClearImmediate,
  });
  syncBuiltinESMExports();
}

/** In a freshly forked child: makes the parent's timers and immediates inert,
 * closes its servers and sockets (not stdio), and lets go of its child
 * processes. `abandoning`: the child is about to leave the parent's stack
 * (a Process child), so the immediate running now will not finish either.
 * Parenthesised (like repairImmediateQueue): V8 compiles it with the module,
 * not again in every forked child. */
// prettier-ignore
export const isolateForkedChild = (function isolateForkedChild(abandoning: boolean): void {
  // The child may have left the parent's stack in the middle of Node's own
  // timer or immediate processing (start() called from such a callback);
  // unlinking entries from lists that run was walking would corrupt them.
  // So the parent's callbacks are swapped for no-ops and unreferenced,
  // which leaves every list as it is.
  const noop = () => {};
  for (const ref of live) {
    const timer = ref.deref();
    if (timer) disarmTimer(timer, noop);
  }
  live.clear();
  for (const immediate of immediates) disarmImmediate(immediate, noop);
  immediates.clear();
  if (abandoning) repairImmediateQueue(noop);
  for (const handle of activeHandles()) {
    if (handle instanceof net.Server || handle instanceof dgram.Socket) {
      handle.close();
    } else if (handle instanceof net.Socket) {
      const fd = socketFd(handle);
      if (fd === 0 || fd === 1 || fd === 2) continue;
      if (handle === (process.stdout as unknown) || handle === (process.stderr as unknown))
        continue;
      if (handle === (process.stdin as unknown)) continue;
      // destroy() would shut the connection down for the parent too
      // (shutdown is shared); closing our copy of the fd is enough.
      closeSocketHandle(handle);
    } else if (typeof (handle as { unref?: () => void }).unref === 'function') {
      // Child processes, other handles: they are the parent's; do not wait.
      (handle as { unref(): void }).unref();
    }
  }
});
