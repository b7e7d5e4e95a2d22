// The entry script of every forkful Thread (a Worker). When the arguments
// hold forkful objects, it loads forkful's root first, so every shareable
// kind has its reviver before the arguments are decoded (a plain thread
// skips that: the root costs tens of ms per thread); then it runs the target
// and reports how it ended.
import { workerData } from 'node:worker_threads';
import { SerializationError } from '../core/errors';
import { decodeShareables } from '../transfer/shareable';
import { redirectThreadOutput } from './output';
import { explainReferenceError, loadTarget } from './target';
import { packException } from './exceptions';
import { runBeforeChildExit } from '../runtime/lifecycle';
import { Slot, ThreadData, getNativeId, kThreadData } from './thread';

const data = (workerData as Record<string, ThreadData>)[kThreadData];
const { state, port, spec } = data;

Atomics.store(state, Slot.NativeId, getNativeId() ?? -1);
Atomics.notify(state, Slot.NativeId);
redirectThreadOutput();

let reported = false;
function report(err: unknown): void {
  if (reported) return;
  reported = true;
  port.postMessage({ type: 'exception', exception: packException(err) });
}

// Set last: whoever waits in joinSync then finds the report already queued.
function finish(): void {
  Atomics.store(state, Slot.Done, 1);
  Atomics.notify(state, Slot.Done);
}

process.on('exit', finish);
// An exception thrown later by a callback the target scheduled ends the
// thread as an exception in the target would.
process.on('uncaughtException', (err) => {
  report(explainReferenceError(err, spec));
  process.exit(1);
});
process.on('unhandledRejection', (reason) => {
  report(explainReferenceError(reason, spec));
  process.exit(1);
});

/** Timer: waits until fireAt unless cancelled; true when the call is due. */
function timerDue(fireAt: number): boolean {
  for (;;) {
    if (Atomics.load(state, Slot.Cancelled) !== 0) return false;
    const left = fireAt - Date.now();
    if (left <= 0) return true;
    Atomics.wait(state, Slot.Cancelled, 0, left);
  }
}

function decodeArgs(): unknown[] {
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

async function main(): Promise<void> {
  try {
    const target = await loadTarget(spec);
    const args = decodeArgs();
    if (data.fireAt !== undefined && !timerDue(data.fireAt)) return;
    await target(...args);
  } catch (err) {
    report(explainReferenceError(err, spec));
  }
  // As a child's end: the non-daemon threads this thread started (they
  // belong to its isolate, and would keep a Python process alive) finish,
  // then the feeders of the queues it put on write what they hold.
  await runBeforeChildExit();
}

main().finally(() => process.exit(reported ? 1 : 0));
