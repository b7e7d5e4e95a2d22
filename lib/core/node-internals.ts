// The one place of forkful's TypeScript that relies on Node internals:
// undocumented fields and functions of Node's own objects. Each reliance is
// checked when this module loads, on the running Node; a failed check is
// reported once (warning FORKFUL_NODE_INTERNALS) and the function that needs
// it then throws, naming the Node version and what broke. Nothing here is
// silently skipped. The native side has the same in native/node_internals.cc
// (its report joins this one in nodeInternalChecks()).
import { executionAsyncId, executionAsyncResource } from 'node:async_hooks';
import { NotSupportedError } from './errors';
import { native } from './native';

/** One assumption about Node's internals, as checked on this Node. */
export interface InternalCheck {
  name: string;
  /** What forkful assumes, in words. */
  assumes: string;
  ok: boolean;
  /** Why the check failed ('' when it passed). */
  problem: string;
}

type Timer = NodeJS.Timeout & { _onTimeout?: unknown; _repeat?: unknown };
type Immediate = NodeJS.Immediate & {
  _onImmediate?: unknown;
  _destroyed?: boolean;
  _idleNext?: unknown;
};
interface InternalProcess {
  _exiting: boolean;
  _getActiveHandles(): unknown[];
  reallyExit(code: number): never;
}

/**
 * Node's own process object. Code loaded into a vm context (jest's test
 * environment) sees a copy as `process`: Node emits its events on, and calls
 * reallyExit of, this one. The addon reaches it through the main context's
 * global; without the addon, there is no fork and the global one serves.
 */
export const nodeProcess: NodeJS.Process =
  (native?.nodeProcess() as NodeJS.Process | undefined) ?? process;
const internal = nodeProcess as unknown as InternalProcess;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const timersModule = require('node:timers') as Record<string, unknown>;

const checks = new Map<string, InternalCheck>();

function check(name: string, assumes: string, test: () => string): void {
  let problem: string;
  try {
    problem = test();
  } catch (err) {
    problem = `checking it threw ${err instanceof Error ? err.message : String(err)}`;
  }
  checks.set(name, { name, assumes, ok: problem === '', problem });
}

check(
  'process._getActiveHandles',
  "process._getActiveHandles() lists the process's servers and sockets",
  () =>
    typeof internal._getActiveHandles === 'function' && Array.isArray(internal._getActiveHandles())
      ? ''
      : 'process._getActiveHandles is not a function returning an array',
);
check(
  'process._exiting',
  "process._exiting is false until Node emits 'exit' (process.exit() or the loop's end), " +
    'then true',
  () =>
    internal._exiting === false
      ? ''
      : `process._exiting is ${String(internal._exiting)}, not false`,
);
check(
  'process.reallyExit',
  'process.exit() ends in process.reallyExit(code), which can be replaced',
  () => {
    const d = Object.getOwnPropertyDescriptor(nodeProcess, 'reallyExit');
    if (typeof internal.reallyExit !== 'function') return 'process.reallyExit is not a function';
    return d?.writable || d?.set ? '' : 'process.reallyExit is read-only';
  },
);
check(
  'Timeout._onTimeout',
  "a Timeout keeps its callback in _onTimeout and its interval in _repeat; Node's timer " +
    'lists call whatever _onTimeout holds',
  () => {
    const t = setTimeout(() => {}, 0x7fffffff) as Timer;
    const ok = typeof t._onTimeout === 'function' && '_repeat' in t;
    clearTimeout(t);
    return ok ? '' : 'a Timeout has no _onTimeout function or no _repeat';
  },
);
check(
  'Immediate._onImmediate',
  'an Immediate keeps its callback in _onImmediate and its state in _destroyed',
  () => {
    const i = setImmediate(() => {}) as Immediate;
    const pending = typeof i._onImmediate === 'function' && i._destroyed === false;
    clearImmediate(i);
    return pending && i._destroyed === true
      ? ''
      : 'an Immediate has no _onImmediate function or no _destroyed flag';
  },
);
check(
  'node:timers is writable',
  "require('node:timers') is one shared object whose functions can be replaced",
  () => {
    const d = Object.getOwnPropertyDescriptor(timersModule, 'setTimeout');
    return d?.writable && d.configurable ? '' : "node:timers' setTimeout cannot be replaced";
  },
);
let warned = false;

/** Every assumption, checked on this Node (the native addon's included when
 * it loaded). */
export function nodeInternalChecks(nativeReport?: { timerHandle: string } | null): InternalCheck[] {
  const all = [...checks.values()];
  if (nativeReport) {
    const how = nativeReport.timerHandle;
    all.push({
      name: 'native: Node timer handle',
      assumes:
        "Node's timers run from one uv_timer_t whose callback is node::Environment::RunTimers " +
        '(found by that exported symbol)',
      ok: how === 'symbol',
      problem:
        how === 'symbol'
          ? ''
          : how === 'first-timer'
            ? 'the node binary does not export RunTimers: the first timer of the loop is used'
            : 'no timer handle found on the event loop',
    });
  }
  return all;
}

function failure(name: string): string | null {
  const c = checks.get(name);
  return c && !c.ok ? `forkful assumes that ${c.assumes}, but here ${c.problem}` : null;
}

/** Throws NotSupportedError when the named assumption does not hold here;
 * warns once about every failed one. */
export function requireInternal(name: string, what: string): void {
  const why = failure(name);
  if (why === null) return;
  if (!warned) {
    warned = true;
    const failed = [...checks.values()].filter((c) => !c.ok).map((c) => c.name);
    process.emitWarning(
      `forkful relies on Node internals that this Node (${process.version}) does not have: ` +
        `${failed.join(', ')}. Report it with the Node version.`,
      { code: 'FORKFUL_NODE_INTERNALS' },
    );
  }
  throw new NotSupportedError(`${what} is not available on Node ${process.version}: ${why}`);
}

// ---- the internals, one function each --------------------------------------

// The next three run first in a forked child (they end it, or isolate it):
// parenthesised (prettier-ignore), V8 compiles them with this module, in the
// parent, rather than again in every child.

/** The servers, sockets and other handles keeping this process alive. */
// prettier-ignore
export const activeHandles = (function activeHandles(): unknown[] {
  requireInternal('process._getActiveHandles', 'isolating a forked child');
  return internal._getActiveHandles();
});

/** True once Node has begun to end this process ('exit' listeners run):
 * Python's interpreter shutdown, when fork and new threads are refused. */
export function processIsExiting(): boolean {
  requireInternal('process._exiting', 'knowing whether the process is ending');
  return internal._exiting === true;
}

/** Replaces the function process.exit() ends in. */
// prettier-ignore
export const replaceReallyExit = (function replaceReallyExit(exit: (code: number) => never): void {
  requireInternal('process.reallyExit', 'ending a forked child');
  internal.reallyExit = exit;
});

type Emit = typeof process.emit;
const afterExitHooks: Array<(code: number) => void> = [];
let emitBeforeWrap: Emit | null = null;

/** process.emit once afterExitEmitted() wrapped it. */
// prettier-ignore
const emitThenAfterExit = (function emit(this: NodeJS.Process, event: string | symbol, ...args: unknown[]): boolean {
  const result = (emitBeforeWrap as (...a: unknown[]) => boolean).call(this, event, ...args);
  if (event === 'exit') {
    const raw = nodeProcess.exitCode ?? (typeof args[0] === 'number' ? args[0] : 0);
    const code = typeof raw === 'number' ? raw : Number(raw) || 0;
    for (const run of afterExitHooks) run(code);
  }
  return result;
});

/**
 * Runs `hook(code)` once Node has emitted 'exit' to every listener, before
 * its teardown: the one place where a process may still end with _exit
 * instead (a forked child; threads that would block Node's teardown). Node
 * has no event after 'exit', so this wraps process.emit, once.
 */
// prettier-ignore
export const afterExitEmitted = (function afterExitEmitted(hook: (code: number) => void): void {
  if (afterExitHooks.push(hook) > 1) return;
  emitBeforeWrap = nodeProcess.emit as Emit;
  nodeProcess.emit = emitThenAfterExit as Emit;
});

/** A Timeout made inert: its callback a no-op, not repeating, not keeping
 * the loop alive. Node's lists stay as they are (a forked child may have
 * left the parent's stack in the middle of walking them). */
export function disarmTimer(timer: NodeJS.Timeout, noop: () => void): void {
  requireInternal('Timeout._onTimeout', 'isolating a forked child from its parent timers');
  const t = timer as Timer;
  t._onTimeout = noop;
  t._repeat = null;
  t.unref();
}

/** An Immediate made inert, likewise. */
export function disarmImmediate(immediate: NodeJS.Immediate, noop: () => void): void {
  requireInternal('Immediate._onImmediate', 'isolating a forked child from its parent immediates');
  (immediate as Immediate)._onImmediate = noop;
  immediate.unref();
}

/** An Immediate that Node already counted as run (its callback was running
 * when the stack was abandoned) made a live no-op again. */
export function reviveImmediate(immediate: NodeJS.Immediate, noop: () => void): void {
  requireInternal('Immediate._onImmediate', 'starting a child from an immediate callback');
  const i = immediate as Immediate;
  i._onImmediate = noop;
  i._destroyed = false;
}

/** The Immediate whose callback runs now, found through Node's async
 * context (Node runs an immediate's callback with the Immediate as its
 * resource, and marks it destroyed before calling it), or null. It finds
 * the immediates forkful did not wrap too: those queued before it loaded,
 * jest's, Node's own. */
// (Parenthesised: a forked child runs it; compiled with this module.)
// prettier-ignore
export const runningImmediate = (function runningImmediate(): NodeJS.Immediate | null {
  const resource = executionAsyncResource() as Immediate;
  if (resource?.constructor?.name !== 'Immediate') return null;
  requireInternal('Immediate._onImmediate', 'starting a child from an immediate callback');
  const running = resource._destroyed === true && typeof resource._onImmediate === 'function';
  return running ? resource : null;
});

/** The immediates queued after `immediate` in the batch Node was running
 * (its list stays linked through _idleNext while the batch runs). */
export function immediatesAfter(immediate: NodeJS.Immediate): NodeJS.Immediate[] {
  requireInternal('Immediate._onImmediate', 'starting a child from an immediate callback');
  const later: NodeJS.Immediate[] = [];
  const seen = new Set<unknown>([immediate]);
  let next = (immediate as Immediate)._idleNext as Immediate | null | undefined;
  while (next && !seen.has(next) && next.constructor?.name === 'Immediate') {
    seen.add(next);
    later.push(next);
    next = next._idleNext as Immediate | null | undefined;
  }
  return later;
}

/** The real node:timers module (TypeScript's CommonJS interop would hand
 * out a copy, whose functions nobody calls). */
export function timersModuleObject(): Record<string, unknown> {
  requireInternal('node:timers is writable', 'tracking timers for forked children');
  return timersModule;
}

/** The fd under a net.Socket, or null (a socket without a handle). */
export function socketFd(socket: object): number | null {
  const fd = (socket as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' ? fd : null;
}

/** Closes this process's copy of a socket's fd without shutting the
 * connection down (destroy() would shut it down for the parent too). */
export function closeSocketHandle(socket: object): void {
  (socket as { _handle?: { close?(): void } })._handle?.close?.();
}

/** A marker handed to Node's uncaught-exception path by emptyAsyncIdStack. */
class AsyncStackReset extends Error {}

/**
 * Empties Node's async id stack, from inside a callback whose stack is about
 * to be abandoned (a forked Process child, see fork-backend.ts): else Node
 * finds it corrupted when the abandoned callbacks unwind (exit 1, "async
 * hook stack has become corrupted") or, with an async hook on, aborts at
 * the next callback ("execution_async_id() == 0"). Node's own way to do it
 * is its uncaught-exception path, which empties the stack once a listener
 * handled the exception: the error travels there through Node-API
 * (napi_fatal_exception) with the process's listeners set aside, so only
 * forkful's sees it. Checked after the call: a Node where the stack is not
 * empty ends the child, saying so.
 */
// prettier-ignore
export const emptyAsyncIdStack = (function emptyAsyncIdStack(
  fatalException: (error: Error) => void,
  die: (message: string) => never,
): void {
  if (executionAsyncId() === 0) return;
  const marker = new AsyncStackReset('forkful: leaving the parent stack in a forked child');
  const events = ['uncaughtException', 'uncaughtExceptionMonitor'] as const;
  const saved = events.map((event) => nodeProcess.rawListeners(event));
  for (const event of events) nodeProcess.removeAllListeners(event);
  let handled = false;
  nodeProcess.on('uncaughtException', (err) => {
    if (err !== marker) throw err;
    handled = true;
  });
  try {
    fatalException(marker);
  } finally {
    for (const event of events) nodeProcess.removeAllListeners(event);
    events.forEach((event, i) => {
      for (const listener of saved[i]) nodeProcess.on(event, listener as (...a: unknown[]) => void);
    });
  }
  if (executionAsyncId() !== 0) {
    die(
      `forkful: Node ${process.version} did not empty its async id stack through its ` +
        `uncaught-exception path (execution async id ${executionAsyncId()}${
          handled ? '' : '; the marker did not reach the listener'
        }): the forked child cannot leave its parent's stack safely.\n`,
    );
  }
});
