// One worker as the pool's engine tracks it: its process, the chunks it
// holds (in the order sent: results come back in that order), what it
// knows of the registry, and how far along its end is.
import type { Chunk } from './jobs';
import type { PoolWorkerProcess } from './worker-process';

export interface WorkerSlot {
  proc: PoolWorkerProcess;
  /** Chunks sent and not yet answered, in the order sent. */
  held: Chunk[];
  /** The task frames of `held`, in bytes: at most what its task pipe still
   * holds of them (the worker has read at least the one it runs). */
  heldBytes: number;
  sent: number;
  /** Fork: the highest function id registered when it was forked. */
  knownMax: number;
  /** Spawn: function ids defined in it. */
  defined: Set<number>;
  /** Task frames to write at the end of the dispatch pass. */
  outbox: Buffer[];
  retiring: boolean;
  exitcode: number | null;
  /** Its result pipe reached end of file. */
  eof: boolean;
  /** A write to its task pipe failed: it is going away. */
  writeFailed: boolean;
  finished: boolean;
  /** Its exit can no longer be learnt (see PoolWorkerProcess.onLost): it
   * is finished once its result pipe reaches end of file, which the
   * portable hub reports when the worker is gone. */
  lost: Error | null;
  /** Shared with the worker: the id of the last chunk it started (null
   * where there is no shared arena: then all it held counts as started). */
  progress: Progress | null;
}

/** A number the worker writes and the pool reads after the worker died. */
export interface Progress {
  value: number;
}

export function newSlot(
  proc: PoolWorkerProcess,
  knownMax: number,
  progress: Progress | null = null,
): WorkerSlot {
  return {
    progress,
    proc,
    held: [],
    heldBytes: 0,
    sent: 0,
    knownMax,
    defined: new Set(),
    outbox: [],
    retiring: false,
    exitcode: null,
    eof: false,
    writeFailed: false,
    finished: false,
    lost: null,
  };
}

/** May be sent more work. */
export function usable(w: WorkerSlot): boolean {
  return !w.retiring && w.exitcode === null && !w.eof && !w.writeFailed;
}
