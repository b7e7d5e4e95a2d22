// NODE_DEBUG=forkful: Node's own debug switch (util.debuglog) traces what
// forkful does behind a call: forks, workers started and ended, the start
// method chosen. One logger for the package; each line names its subject.
// (FORKFUL_DEBUG=lifecycle, which traces each fork hook, stays separate.)
import { debuglog } from 'node:util';

/** Writes `forkful <pid>: <message>` to stderr when NODE_DEBUG has forkful. */
export const debug = debuglog('forkful');

/** Whether NODE_DEBUG=forkful is on (to skip building costly messages). */
export function debugEnabled(): boolean {
  return debug.enabled;
}
