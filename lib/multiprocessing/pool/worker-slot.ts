// One worker as the pool's engine tracks it: its process, the chunks it
// holds (in the order sent: results come back in that order), what it
// knows of the registry, and how far along its end is.
import type { Chunk } from './jobs';
import type { PoolWorkerProcess } from './worker-process';

export interface WorkerSlot {
  proc: PoolWorkerProcess;
  /** Chunks sent and not yet answered, in the order sent. */
  held: Chunk[];
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
}

export function newSlot(proc: PoolWorkerProcess, knownMax: number): WorkerSlot {
  return {
    proc,
    held: [],
    sent: 0,
    knownMax,
    defined: new Set(),
    outbox: [],
    retiring: false,
    exitcode: null,
    eof: false,
    writeFailed: false,
    finished: false,
  };
}

/** May be sent more work. */
export function usable(w: WorkerSlot): boolean {
  return !w.retiring && w.exitcode === null && !w.eof && !w.writeFailed;
}
