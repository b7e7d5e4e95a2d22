// Where the next chunk goes: the pool's scheduling policy, pure functions
// over the worker slots (the engine acts on the answer). A worker gets one
// chunk at a time, except when the queue is long and the task message
// small: then a worker may hold a second one (prefetch), and tiny tasks
// (imap with chunksize 1, many applyAsync calls) queue deeper, so a worker
// runs several per wake-up and the pool reads several results per wake-up.
// A larger message may wait in a busy worker's pipe too when the pipe
// surely has room for it (the native backend's pipes hold 1 MiB): a map's
// chunks of thousands of items then follow each other without a round trip
// to the pool between them.
import { usable, type WorkerSlot } from './worker-slot';

// A task message this small may wait in a busy worker's pipe: it can never
// fill the pipe, so the (blocking) send never stalls the pool.
export const PREFETCH_MAX_BYTES = 16 * 1024;
// 16 x 2 KB still fits any pipe.
export const TINY_FRAME_BYTES = 2 * 1024;
export const TINY_DEPTH = 16;
// Room kept free in a task pipe besides the frames the worker holds: their
// length headers, and a spawn worker's function definitions.
export const PIPE_SLACK = 16 * 1024;

export interface SchedulerView {
  workers: readonly WorkerSlot[];
  /** The pool's size. */
  processes: number;
  /** Chunks queued and not yet sent. */
  waiting: number;
  /** Whether worker `w` can run function `fnId` (spawn: always; fork: if
   * it was forked after the function was registered). */
  knows(w: WorkerSlot, fnId: number): boolean;
}

/** The worker to send a chunk of `frameSize` bytes (function `fnId`) to
 * now, or null when none should take it yet. */
export function pickWorker(
  view: SchedulerView,
  fnId: number,
  frameSize: number,
): WorkerSlot | null {
  const mayPrefetch = frameSize <= PREFETCH_MAX_BYTES && view.waiting > 2 * view.processes;
  const tiny = mayPrefetch && frameSize <= TINY_FRAME_BYTES;
  const limit = mayPrefetch ? (tiny ? TINY_DEPTH : 2) : 1;
  let best: WorkerSlot | null = null;
  let live = 0;
  for (const w of view.workers) {
    if (!usable(w)) continue;
    live++;
    if (!view.knows(w, fnId)) continue;
    if (w.held.length >= limit && !mayQueueLarge(view, w, frameSize)) continue;
    // Tiny tasks go in batches: a worker already half full waits until it
    // is (nearly) done, unless it is being filled in this pass.
    if (tiny && w.held.length > 0 && w.outbox.length === 0 && w.held.length > TINY_DEPTH / 4) {
      continue;
    }
    if (!best || w.held.length < best.held.length) best = w;
  }
  // Queue behind a busy worker only when the pool is at full strength.
  if (best && best.held.length > 0 && live < view.processes) return null;
  return best;
}

/** Whether a busy worker may hold a second large chunk: enough chunks are
 * left for every worker to get one more (an end of the queue is not piled
 * on one worker), and the pipe has room for the frame besides every frame
 * the worker holds, so that the pool's (blocking) write never waits for a
 * worker busy with its task (which may itself be waiting for the pool to
 * read its results). */
function mayQueueLarge(view: SchedulerView, w: WorkerSlot, frameSize: number): boolean {
  return (
    frameSize > PREFETCH_MAX_BYTES &&
    w.held.length === 1 &&
    view.waiting >= view.processes &&
    w.heldBytes + frameSize + PIPE_SLACK <= w.proc.taskRoom
  );
}

/** No worker can take a chunk of `fnId` now: what would make room. */
export type Room =
  | { kind: 'start' } // fewer workers than processes: start some
  | { kind: 'replace'; stale: WorkerSlot } // an idle worker forked before fnId existed
  | { kind: 'wait' }; // every worker is busy: a result will free one

export function makeRoom(view: SchedulerView, fnId: number): Room {
  const live = view.workers.filter(usable);
  if (live.length < view.processes) return { kind: 'start' };
  const stale = live.find((w) => w.held.length === 0 && !view.knows(w, fnId));
  return stale ? { kind: 'replace', stale } : { kind: 'wait' };
}

/** How many workers to start for the queue. */
export function workersToStart(view: SchedulerView): number {
  const live = view.workers.filter(usable).length;
  return Math.max(0, Math.min(view.processes - live, view.waiting));
}
