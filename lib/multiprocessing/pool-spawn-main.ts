// Entry point of a spawned pool worker (spawn backend): fds 3 and 4 are its
// task and result pipes; the first message is its setup.
import { Connection } from './connection';
import { encodeError, MSG_INIT_ERROR } from './pool-protocol';
import { defineFunction, type FunctionSpec, type SpawnSetup } from './pool-spawn';
import { workerLoop, type AnyFunction } from './pool-worker';

async function main(): Promise<void> {
  const tasks = new Connection(3, { writable: false });
  const results = new Connection(4, { readable: false });
  let setup: SpawnSetup;
  try {
    const first = tasks.recvSync() as ['setup', SpawnSetup];
    setup = first[1];
  } catch {
    return; // the pool went away before we started
  }
  const functions = new Map<number, AnyFunction>();
  const failures = new Map<number, Error>();
  let initializer: AnyFunction | null = null;
  try {
    if (setup.initializer) initializer = defineFunction(setup.initializer);
  } catch (err) {
    results.send([MSG_INIT_ERROR, encodeError(err)]);
    return;
  }
  await workerLoop({
    tasks,
    results,
    lookup: (id) => {
      const fn = functions.get(id);
      if (fn) return fn;
      const failure = failures.get(id);
      if (failure) {
        return () => {
          throw failure;
        };
      }
      return undefined;
    },
    define: (id, spec) => {
      try {
        functions.set(id, defineFunction(spec as FunctionSpec));
      } catch (err) {
        failures.set(id, err as Error);
      }
    },
    initializer,
    initargs: setup.initargs,
    maxtasks: setup.maxtasks,
    allowAsync: true,
  });
  tasks.close();
  results.close();
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`pool worker ${process.pid} failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
