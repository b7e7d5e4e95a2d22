// Shared by the conformance suites (test/conformance/*.test.ts): the ports of
// CPython's and gevent's own tests. Bounded waits, shared lists for threads,
// a port of lock_tests.Bunch, and access to API forkful does not have yet.
import { setTimeout as delay } from 'node:timers/promises';
import * as mp from '../../../lib/multiprocessing';
import * as threading from '../../../lib/threading';
import * as os from '../../../lib/os';

/** Python's support.SHORT_TIMEOUT and LONG_TIMEOUT, in seconds. */
export const SHORT_TIMEOUT = 30;
export const LONG_TIMEOUT = 60;

/** The children are spawned: FORKFUL_START_METHOD=spawn, or no addon. */
export { spawnBackend } from '../../helpers/fixture';

declare global {
  // Set in the parent: a forked child finds the very modules its parent
  // used here. A spawned child has none and loads forkful with require()
  // (self-reference from the test file, so the built package).
  var __forkful: { mp: typeof mp; threading: typeof threading; os: typeof os } | undefined;
}
globalThis.__forkful = { mp, threading, os };

/** Seconds, monotonic (Python's time.monotonic()). */
export function monotonic(): number {
  return performance.now() / 1000;
}

/** gevent/time.sleep for the test body: resolves after `s` seconds. */
export function sleep(s: number): Promise<void> {
  return delay(s * 1000);
}

/** Polls `pred` every 10 ms until it is true or `timeout` seconds passed
 * (support.sleeping_retry); returns its last value. */
export async function waitUntil(pred: () => boolean, timeout = SHORT_TIMEOUT): Promise<boolean> {
  const end = monotonic() + timeout;
  while (!pred()) {
    if (monotonic() > end) return pred();
    await delay(10);
  }
  return true;
}

/** A list of int32 that threads append to (Python's shared lists): slot 0
 * holds the length. Travels to threads as shared memory. */
export function sharedList(capacity = 1024): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * (capacity + 1)));
}
export function listLen(list: Int32Array): number {
  return Atomics.load(list, 0);
}
export function listItems(list: Int32Array): number[] {
  const n = Atomics.load(list, 0);
  return Array.from(list.subarray(1, n + 1));
}
export function listAppend(list: Int32Array, value: number): void {
  const i = Atomics.add(list, 0, 1);
  Atomics.store(list, i + 1, value);
}

/** Expects `fn` to throw an error whose name is `name` (for classes forkful
 * may not have, such as OverflowError). */
export function expectThrowsNamed(fn: () => unknown, name: string): void {
  let thrown: unknown = undefined;
  let threw = false;
  try {
    fn();
  } catch (err) {
    threw = true;
    thrown = err;
  }
  expect(threw).toBe(true);
  expect((thrown as Error)?.name).toBe(name);
}

/** An export forkful does not have yet (or has): the test then fails on use,
 * so that a `test.failing` flips once phase 2 builds it. */
export function api<T = unknown>(obj: unknown, dotted: string): T {
  let at = obj as Record<string, unknown> | undefined;
  for (const key of dotted.split('.')) {
    at = at?.[key] as Record<string, unknown> | undefined;
  }
  if (at === undefined) throw new Error(`forkful has no ${dotted}`);
  return at as T;
}

/** Collects what reaches threading.excepthook while installed. */
export function captureExcepthook(): { seen: threading.ExceptHookArgs[]; restore(): void } {
  const seen: threading.ExceptHookArgs[] = [];
  const previous = threading.setExcepthook((args) => seen.push(args));
  return { seen, restore: () => threading.setExcepthook(previous) };
}

/** What a Bunch's function receives first: Python's helpers, in the thread. */
export interface ThreadHelpers {
  assert: typeof import('node:assert');
  require: NodeJS.Require;
  /** The thread's forkful modules (the built package). */
  threading: typeof threading;
  mp: typeof mp;
  append(list: Int32Array, value: number): void;
  len(list: Int32Array): number;
  items(list: Int32Array): number[];
  /** Blocking sleep (time.sleep). */
  sleep(seconds: number): void;
  monotonic(): number;
  /** Blocks until pred() or `timeout` seconds (support.sleeping_retry). */
  waitUntil(pred: () => boolean, timeout?: number): boolean;
  /** This thread's get_ident(). */
  ident: number;
}

/** The target of every Bunch thread: runs the function sent as source with
 * the helpers, counting started / finished, then waits for do_finish().
 * state: [started, finished, canExit]. Self-contained (sent by source). */
function bunchTask(source: string, state: Int32Array, args: unknown[]): void {
  const threadingModule = require('forkful/threading');
  const h = {
    assert: require('node:assert'),
    require,
    threading: threadingModule,
    mp: require('forkful/multiprocessing'),
    append(list: Int32Array, value: number) {
      const i = Atomics.add(list, 0, 1);
      Atomics.store(list, i + 1, value);
    },
    len(list: Int32Array) {
      return Atomics.load(list, 0);
    },
    items(list: Int32Array) {
      return Array.from(list.subarray(1, Atomics.load(list, 0) + 1));
    },
    sleep(seconds: number) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
    },
    monotonic() {
      return performance.now() / 1000;
    },
    waitUntil(pred: () => boolean, timeout = 30) {
      const end = performance.now() + timeout * 1000;
      while (!pred()) {
        if (performance.now() > end) return pred();
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      }
      return true;
    },
    ident: threadingModule.getIdent(),
  };
  Atomics.add(state, 0, 1);
  Atomics.notify(state, 0);
  try {
    const f = new Function(`return (${source});`)();
    f(h, ...args);
  } finally {
    Atomics.add(state, 1, 1);
    Atomics.notify(state, 1);
    const end = Date.now() + 30000;
    while (Atomics.load(state, 2) === 0 && Date.now() < end) Atomics.wait(state, 2, 0, 50);
  }
}

/**
 * lock_tests.Bunch: `n` forkful Threads running `f(h, ...args)`. `f` travels
 * by source, so it must be self-contained: what it shares with the test
 * comes in `args` (forkful objects by handle, shared lists as memory).
 * `await Bunch.start(...)` returns once all have started; `await
 * bunch.finish()` waits (bounded) until all finished, joins them, and throws
 * when a thread raised (Python raises an ExceptionGroup).
 */
export class Bunch {
  readonly state = new Int32Array(new SharedArrayBuffer(12));
  readonly threads: threading.Thread[] = [];
  readonly exceptions: unknown[] = [];

  private constructor(
    f: (h: ThreadHelpers, ...args: never[]) => void,
    args: unknown[],
    readonly n: number,
    waitBeforeExit: boolean,
  ) {
    if (!waitBeforeExit) Atomics.store(this.state, 2, 1);
    const source = Function.prototype.toString.call(f);
    try {
      for (let i = 0; i < n; i++) {
        const t = new threading.Thread({ target: bunchTask, args: [source, this.state, args] });
        bunchOf.set(t, this);
        installBunchHook();
        t.start();
        this.threads.push(t);
      }
    } catch (err) {
      this.doFinish();
      throw err;
    }
  }

  static async start(
    f: (h: ThreadHelpers, ...args: never[]) => void,
    args: unknown[],
    n: number,
    waitBeforeExit = false,
  ): Promise<Bunch> {
    const bunch = new Bunch(f, args, n, waitBeforeExit);
    await waitUntil(() => bunch.started >= n);
    return bunch;
  }

  /** Runs a whole `with Bunch(f, n): pass`. */
  static async run(
    f: (h: ThreadHelpers, ...args: never[]) => void,
    args: unknown[],
    n: number,
  ): Promise<void> {
    const bunch = await Bunch.start(f, args, n);
    await bunch.finish();
  }

  get started(): number {
    return Atomics.load(this.state, 0);
  }
  get finished(): number {
    return Atomics.load(this.state, 1);
  }

  doFinish(): void {
    Atomics.store(this.state, 2, 1);
    Atomics.notify(this.state, 2);
  }

  async finish(): Promise<void> {
    try {
      await waitUntil(() => this.finished >= this.n);
      this.doFinish();
      for (const t of this.threads) await t.join(SHORT_TIMEOUT);
    } finally {
      this.doFinish();
    }
    const alive = this.threads.filter((t) => t.isAlive()).length;
    if (alive) throw new Error(`${alive} Bunch threads still alive after ${SHORT_TIMEOUT} s`);
    if (this.exceptions.length) {
      const errors = this.exceptions;
      throw new AggregateError(errors, `Bunch threads raised: ${errors.map(String).join('; ')}`);
    }
  }
}

// Exceptions of Bunch threads go to their Bunch (several may run at once);
// the others to the hook that was there before.
const bunchOf = new WeakMap<threading.Thread, Bunch>();
let bunchHook: ((args: threading.ExceptHookArgs) => void) | null = null;
function installBunchHook(): void {
  if (bunchHook && threading.excepthook === bunchHook) return;
  const hook = (args: threading.ExceptHookArgs): void => {
    const bunch = args.thread ? bunchOf.get(args.thread) : undefined;
    if (bunch) bunch.exceptions.push(args.excValue);
    else previous(args);
  };
  const previous = threading.setExcepthook(hook);
  bunchHook = hook;
}

/** lock_tests.wait_threads_blocked: an arbitrary pause for N threads to block. */
export function waitThreadsBlocked(n: number): Promise<void> {
  return sleep(0.01 * n);
}

/** BaseTestCase.assertTimeout: at least 0.6 x expected, less than 10 x. */
export function expectTimeout(actual: number, expected: number): void {
  expect(actual).toBeGreaterThanOrEqual(expected * 0.6);
  expect(actual).toBeLessThan(expected * 10);
}

/** Every Process and Thread a test started has ended (no strays). */
export function expectNoStrays(): void {
  expect(mp.activeChildren().map(String)).toEqual([]);
  expect(threading.enumerate().map(String)).toEqual([String(threading.mainThread())]);
}

/** The modules of this process: a forked child finds its parent's, a
 * spawned child loads the built package (used inside Process targets). */
export interface Modules {
  mp: typeof mp;
  threading: typeof threading;
  os: typeof os;
}

/** What a ProcBunch's function receives first, in the child. */
export interface ProcHelpers {
  mp: typeof mp;
  threading: typeof threading;
  require: NodeJS.Require;
  assert: typeof import('node:assert');
  sleep(seconds: number): void;
  monotonic(): number;
  /** Adds 1 to a shared counter (a Value('i'), under its lock):
   * _DummyList.append. */
  append(counter: mp.SynchronizedValue<'i'>): void;
  len(counter: mp.SynchronizedValue<'i'>): number;
}

/** The target of every ProcBunch child (self-contained: sent by source with
 * the spawn start method). state: Array('i', 3) = [started, finished,
 * canExit], polled, each change under its lock (as Python's _DummyList; not
 * Atomics on `view`, which without the addon is a typed accessor, not
 * memory). */
function procBunchTask(source: string, state: mp.SynchronizedArray<'i'>, args: unknown[]): void {
  const mods = globalThis.__forkful ?? {
    mp: require('forkful/multiprocessing'),
    threading: require('forkful/threading'),
  };
  const nap = (seconds: number) =>
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
  const h = {
    mp: mods.mp,
    threading: mods.threading,
    require,
    assert: require('node:assert'),
    sleep: nap,
    monotonic: () => performance.now() / 1000,
    append: (counter: mp.SynchronizedValue<'i'>) =>
      counter.getLock().withLock(() => (counter.value += 1)),
    len: (counter: mp.SynchronizedValue<'i'>) => counter.value,
  };
  const add = (i: number) => state.getLock().withLock(() => state.set(i, state.get(i) + 1));
  add(0);
  try {
    const f = new Function(`return (${source});`)();
    f(h, ...args);
  } finally {
    add(1);
    const end = Date.now() + 30000;
    while (state.get(2) === 0 && Date.now() < end) nap(0.005);
  }
}

/** _test_multiprocessing.Bunch: `n` daemonic Processes running
 * `f(h, ...args)` (sent as source: self-contained, its shared state in
 * `args`). finish() waits for them (bounded) and checks their exit codes. */
export class ProcBunch {
  readonly state = mp.Array('i', 3);
  readonly procs: mp.Process[] = [];

  private constructor(
    f: (h: ProcHelpers, ...args: never[]) => void,
    args: unknown[],
    readonly n: number,
    waitBeforeExit: boolean,
  ) {
    if (!waitBeforeExit) this.state.set(2, 1);
    const source = Function.prototype.toString.call(f);
    for (let i = 0; i < n; i++) {
      const p = new mp.Process({ target: procBunchTask, args: [source, this.state, args] });
      p.daemon = true;
      p.start();
      this.procs.push(p);
    }
  }

  static async start(
    f: (h: ProcHelpers, ...args: never[]) => void,
    args: unknown[],
    n: number,
    waitBeforeExit = false,
  ): Promise<ProcBunch> {
    await settle();
    const bunch = new ProcBunch(f, args, n, waitBeforeExit);
    await waitUntil(() => bunch.started >= n);
    return bunch;
  }

  get started(): number {
    return this.state.get(0);
  }
  get finished(): number {
    return this.state.get(1);
  }
  doFinish(): void {
    this.state.set(2, 1);
  }
  waitForFinished(): Promise<boolean> {
    return waitUntil(() => this.finished >= this.n);
  }

  /** Joins every child (bounded; a child still running is killed) and
   * expects exit code 0 from each. */
  async finish(): Promise<void> {
    this.doFinish();
    for (const p of this.procs) {
      await p.join(SHORT_TIMEOUT);
      if (p.exitcode === null) {
        p.kill();
        await p.join(SHORT_TIMEOUT);
      }
    }
    expect(this.procs.map((p) => p.exitcode)).toEqual(this.procs.map(() => 0));
  }
}

/** Joins a process with a bound (support.join_process): a child still
 * running after `timeout` seconds is killed, and the test fails. */
export async function joinProcess(p: mp.Process, timeout = SHORT_TIMEOUT): Promise<void> {
  await p.join(timeout);
  if (p.exitcode === null) {
    p.kill();
    await p.join(timeout);
    throw new Error(`${p} did not end within ${timeout} s (killed)`);
  }
}

/** Joins (bounded), kills a child still running, never throws: for
 * cleanups, which must not hide the failure that brought them. */
export async function reap(p: mp.Process, timeout = SHORT_TIMEOUT): Promise<number | null> {
  try {
    await p.join(timeout);
    if (p.exitcode === null) {
      p.kill();
      await p.join(timeout);
    }
    return p.exitcode;
  } catch {
    return null;
  }
}

/**
 * Kept for the suites that call it; does nothing now. It used to continue
 * from a timer callback, working around a forkful bug fixed since: a Process
 * started from an immediate forkful had not wrapped (jest's, Node's, or one
 * queued before forkful loaded) left that immediate's batch referenced but
 * unreachable in the child, whose loop then never blocked (100% CPU) or which
 * died (lib/runtime/child-isolation.ts; test/runtime/child-untracked-immediate).
 */
export function settle(): Promise<void> {
  return Promise.resolve();
}

/** jest's test as it is (kept for the suites that wrap theirs with it). */
export function settledTest(base: jest.It): jest.It {
  return base;
}
