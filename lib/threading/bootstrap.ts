// The entry script of every forkful Thread's isolate (a Worker). It runs one
// thread after another: the first from its workerData, the next ones as the
// parent sends them (isolates.ts keeps it idle in between). For each, when
// the arguments hold forkful objects, it loads forkful's root first, so every
// shareable kind has its reviver before the arguments are decoded (a plain
// thread skips that: the root costs tens of ms); then it runs the target,
// reports how it ended, and whether the isolate is clean enough to run the
// next thread: a target that left handles, listeners or threads behind ends
// its isolate with it, as the thread of a Python thread ends.
import { parentPort, workerData } from 'node:worker_threads';
import { SerializationError } from '../core/errors';
import { activeHandles } from '../core/node-internals';
import { decodeShareables } from '../transfer/shareable';
import { redirectThreadOutput } from './output';
import { explainReferenceError, loadTarget } from './target';
import { packException } from './exceptions';
import { forgetThreadLocals } from './local';
import { runBeforeChildExit } from '../runtime/lifecycle';
import { whyIsolateCannotBeReused } from '../runtime/thread-reuse';
import { IsolateData, kIsolateData } from './isolates';
import { Slot, ThreadData, _beginThread, _startedThreadsAlive, getNativeId } from './thread';

const { job: firstJob, port } = (workerData as Record<string, IsolateData<ThreadData>>)[
  kIsolateData
];
const nativeId = getNativeId() ?? -1;
/** The thread running now, null while the isolate is idle. */
let current: ThreadData | null = null;
let reported = false;

redirectThreadOutput();

function report(err: unknown): void {
  if (reported || !current) return;
  reported = true;
  port!.postMessage({
    type: 'exception',
    exception: packException(explainReferenceError(err, current.spec)),
  });
}

// Set last: whoever waits in joinSync then finds the reports already queued.
function setDone(data: ThreadData): void {
  Atomics.store(data.state, Slot.Done, 1);
  Atomics.notify(data.state, Slot.Done);
}

process.on('exit', () => {
  if (current) setDone(current);
});
// An exception thrown later by a callback the target scheduled ends the
// thread as an exception in the target would (and its isolate).
process.on('uncaughtException', (err) => {
  report(err);
  process.exit(1);
});
process.on('unhandledRejection', (reason) => {
  report(reason);
  process.exit(1);
});

/** Timer: waits until fireAt unless cancelled; true when the call is due. */
function timerDue(state: Int32Array, fireAt: number): boolean {
  for (;;) {
    if (Atomics.load(state, Slot.Cancelled) !== 0) return false;
    const left = fireAt - Date.now();
    if (left <= 0) return true;
    Atomics.wait(state, Slot.Cancelled, 0, left);
  }
}

function decodeArgs(data: ThreadData): unknown[] {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (data.argsHoldShareables) require('../index');
    return decodeShareables(data.args) as unknown[];
  } catch (err) {
    throw new SerializationError(
      `cannot decode the args of ${data.name}: ${(err as Error)?.message ?? String(err)}`,
      { cause: err },
    );
  }
}

/** What a thread could leave running in its isolate: handles, requests and
 * timers that keep it alive (unref'd ones cannot be seen), process listeners.
 * Not 'exit' listeners: forkful's modules add theirs as they load (module
 * state), and one a thread adds runs when its isolate ends. */
function footprint(): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (key: string, n = 1) => counts.set(key, (counts.get(key) ?? 0) + n);
  for (const resource of process.getActiveResourcesInfo()) add(resource);
  add('handles', activeHandles().length);
  for (const event of process.eventNames()) {
    if (typeof event === 'string' && event !== 'exit') {
      add(`on:${event}`, process.listenerCount(event));
    }
  }
  return counts;
}

function leftBehind(before: Map<string, number>): boolean {
  for (const [key, n] of footprint()) if (n > (before.get(key) ?? 0)) return true;
  return false;
}

async function run(data: ThreadData): Promise<void> {
  current = data;
  reported = false;
  _beginThread(data);
  Atomics.store(data.state, Slot.NativeId, nativeId);
  Atomics.notify(data.state, Slot.NativeId);
  // Taken once the target's modules are loaded: what they keep open is
  // module state, which stays with the isolate (see docs/threading.md).
  let before: Map<string, number> | null = null;
  try {
    const target = await loadTarget(data.spec);
    const args = decodeArgs(data);
    before = footprint();
    if (data.fireAt === undefined || timerDue(data.state, data.fireAt)) await target(...args);
  } catch (err) {
    report(err);
  }
  // As a child's end: the non-daemon threads this thread started (they
  // belong to its isolate, and would keep a Python process alive) finish,
  // then the feeders of the queues it put on write what they hold.
  await runBeforeChildExit();
  // A promise the target rejected without a handler is reported first.
  await new Promise((resolve) => setImmediate(resolve));
  const reusable =
    !(before && leftBehind(before)) &&
    !_startedThreadsAlive() &&
    whyIsolateCannotBeReused() === null;
  port!.postMessage({ type: 'done', reusable });
  // One that cannot be reused ends: the exit listeners set Done, after the
  // portable arena's has marked the thread ended (a lock it still holds is
  // then taken over by whoever acquires it once joined).
  if (!reusable) process.exit(reported ? 1 : 0);
  current = null;
  setDone(data);
  forgetThreadLocals();
  parentPort!.ref(); // idle: wait for the next thread
}

parentPort!.on('message', (msg: { type: string; job?: ThreadData }) => {
  if (msg?.type === 'end') process.exit(0);
  if (msg?.type !== 'job' || !msg.job) return;
  // While a thread runs, only what it does keeps the isolate alive: when its
  // event loop empties, the thread ends (with its isolate), as before reuse.
  parentPort!.unref();
  void run(msg.job);
});

if (firstJob) {
  parentPort!.unref();
  void run(firstJob);
}
