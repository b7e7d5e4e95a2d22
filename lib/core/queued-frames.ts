// Connection.send() queues its frames on this thread (native/connection.cc
// writes them in one write before the thread next blocks, forks or exits,
// or at its event loop's next wait). The synchronisation primitives write
// them first whenever they release or signal, so that whoever acquires or
// wakes next can read what was sent before: Python's send() had written it.
import { native } from './native';

let queued = false;

/** Connection.send() queued a frame (cheap: a flag). */
export function noteQueuedFrames(): void {
  queued = true;
}

/** Writes this thread's queued frames, if any (one native call then). */
export function flushQueuedFrames(): void {
  if (!queued) return;
  queued = false;
  native?.flushQueuedFrames();
}
