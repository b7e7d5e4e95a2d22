// Python's multiprocessing.resource_tracker, for shared memory blocks: a
// block registered here (SharedMemory with track: true) and not unlinked by
// the time the main process exits is unlinked then, with Python's warning.
//
// Python runs the tracker as a process of its own, shared by a program and
// its multiprocessing children, so it also cleans up after a SIGKILL and
// takes children's registrations. forkful has no such process: each main
// process (one not started by forkful as a child) cleans up what it
// registered when it exits normally; a child's registrations are not acted
// on (its blocks are its parent's to unlink), and a child of os.fork()
// starts with none of its parent's. docs/multiprocessing.md, "Shared memory".
import { writeSync } from 'node:fs';
import { native } from '../core/native';
import { afterFork, atExit, Order } from '../runtime/lifecycle';
import { currentIdentity } from '../runtime/identity';

const registered = new Set<string>();

/** Tracks a shared memory block by its name (Python's `_name`, with '/'). */
export function register(name: string): void {
  registered.add(name);
}

/** Stops tracking it (it was unlinked). */
export function unregister(name: string): void {
  registered.delete(name);
}

/** The names tracked now (tests, and the exit hook). */
export function trackedNames(): string[] {
  return [...registered];
}

// Python's tracker warns through the warnings module; at exit, stderr directly
// (a write that fails must not stop the unlinks).
function warn(line: string): void {
  try {
    writeSync(2, line + '\n');
  } catch {
    // stderr closed or full
  }
}

atExit('shared memory: unlink the blocks this process leaked', Order.multiprocessing + 5, () => {
  if (registered.size === 0 || currentIdentity().parentPid !== null || !native) return;
  const names = [...registered];
  registered.clear();
  warn(
    `resource_tracker: There appear to be ${names.length} leaked shared_memory objects ` +
      `to clean up at shutdown: ${JSON.stringify(names)}`,
  );
  for (const name of names) {
    try {
      native.shmUnlink(name);
    } catch (err) {
      warn(`resource_tracker: ${JSON.stringify(name)}: ${(err as Error).message}`);
    }
  }
});

// Parenthesised: compiled with this module, not in each child.
// prettier-ignore
afterFork("shared memory: the parent's tracked blocks stay the parent's", Order.multiprocessing, (function forgetTrackedBlocks() {
  registered.clear();
}));
