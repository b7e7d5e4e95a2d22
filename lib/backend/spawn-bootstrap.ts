// The program a spawned child runs: receive the payload from the parent over
// the IPC channel, hang the channel up, become the named child, and run the
// target (see spawn-backend.ts).
import { deserialize } from '../serialize';
import { native } from '../native';
import { becomeChild } from './current';
import { runTarget } from './run-target';
import { closureHint, resolveTarget } from './spawn-target';
import type { SpawnPayload } from './spawn-backend';
// Every shareable kind must have its reviver registered before the args are
// decoded: loading the public modules registers them all.
import '../multiprocessing';

const SIGKILL = 9;

process.once('message', (message) => {
  const payload = message as SpawnPayload;
  process.disconnect?.();
  becomeChild(payload, payload.parentPid, payload.parentName);
  if (payload.daemon && native) {
    try {
      native.setParentDeathSignal(SIGKILL, payload.parentPid);
    } catch {
      process.exit(1); // the parent is already gone
    }
  }
  const hint = closureHint(payload.target);
  let target: (...args: unknown[]) => unknown;
  let args: unknown[];
  try {
    target = resolveTarget(payload.target);
    args = deserialize(payload.args) as unknown[];
  } catch (err) {
    void runTarget(() => {
      throw err;
    }, []);
    return;
  }
  void runTarget(target, args, hint);
});
