// The program a spawned child runs: receive the payload from the parent over
// the IPC channel, hang the channel up, become the named child, and run the
// target (see spawn-backend.ts).
import { deserialize } from '../../transfer/serialize';
import { native } from '../../core/native';
import { becomeChild, whileBootstrapping } from '../../runtime/identity';
import { runTarget } from '../../runtime/run-target';
import { applyLoggingSetup } from '../../runtime/logging';
import { closureHint, resolveTarget } from '../../transfer/spawn-target';
import type { SpawnPayload } from './spawn';
import { provideNamespace } from '../../threading/local';
// Every shareable kind must have its reviver before the args are decoded:
// the reviver table, not the whole of multiprocessing (the target loads what
// it needs; a spawned child starts faster without the rest).
import '../../shareables';

// A threading.local subclass revived here may name these namespaces.
/* eslint-disable @typescript-eslint/no-require-imports */
provideNamespace('threading', () => require('../../threading') as Record<string, unknown>);
provideNamespace('forkful', () => require('../../index') as Record<string, unknown>);
/* eslint-enable @typescript-eslint/no-require-imports */

const SIGKILL = 9;

// import() inside a source target goes through vm's main-context loader,
// which Node 20 flags as experimental on every use: the user did not ask for
// it, so the warning is not theirs to see.
const emitWarning = process.emitWarning;
process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
  const text = typeof warning === 'string' ? warning : warning?.message;
  if (text && text.includes('USE_MAIN_CONTEXT_DEFAULT_LOADER')) return;
  return (emitWarning as (...a: unknown[]) => void).call(this, warning, ...rest);
} as typeof process.emitWarning;

/** A daemonic child dies with its parent. Without the addon (no
 * PR_SET_PDEATHSIG, nor any such thing on Windows or macOS) it keeps the
 * IPC channel, unreferenced, as its watch: the parent's death closes it. */
function dieWithParent(parentPid: number): void {
  if (native) {
    hangUp();
    try {
      native.setParentDeathSignal(SIGKILL, parentPid);
    } catch {
      process.exit(1); // the parent is already gone
    }
    return;
  }
  process.once('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  (process.channel as { unref?(): void } | undefined)?.unref?.();
}

// Not at once: when the payload arrived before the listener (a slow start,
// e.g. under a loader such as tsx), Node delivers it from its pending list
// and writes to the channel after the emit; a channel gone by then throws in
// Node's own code and the child exits 1.
function hangUp(): void {
  process.nextTick(() => process.disconnect?.());
}

process.once('message', (message) => {
  const payload = message as SpawnPayload;
  if (payload.daemon) dieWithParent(payload.parentPid);
  else hangUp();
  becomeChild(payload, payload.parentPid, payload.parentName);
  applyLoggingSetup(payload.logging);
  const hint = closureHint(payload.target);
  let target: (...args: unknown[]) => unknown;
  let args: unknown[];
  try {
    // Loading the target's module may run a main module without a main
    // guard, which would start this child's own children: spawn refuses.
    [target, args] = whileBootstrapping(() => [
      resolveTarget(payload.target),
      deserialize(payload.args) as unknown[],
    ]);
  } catch (err) {
    void runTarget(() => {
      throw err;
    }, []);
    return;
  }
  void runTarget(target, args, hint);
});
