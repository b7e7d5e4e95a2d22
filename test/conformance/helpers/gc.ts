// A full garbage collection from a test (Python's gc.collect()), without
// --expose-gc on the command line.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setImmediate as turn } from 'node:timers/promises';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects garbage twice, with event-loop turns between (WeakRefs are
 * kept alive until the end of the job that created or dereferenced them). */
export async function collectGarbage(): Promise<void> {
  for (let i = 0; i < 2; i++) {
    await turn();
    gc();
  }
  await turn();
}
