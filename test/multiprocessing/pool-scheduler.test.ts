// The pool's scheduling policy (lib/multiprocessing/pool/scheduler.ts) on
// hand-made worker slots: where a chunk goes, when it waits, and what makes
// room.
import {
  PIPE_SLACK,
  PREFETCH_MAX_BYTES,
  TINY_DEPTH,
  TINY_FRAME_BYTES,
  makeRoom,
  pickWorker,
  workersToStart,
  type SchedulerView,
} from '../../lib/multiprocessing/pool/scheduler';
import { newSlot, type WorkerSlot } from '../../lib/multiprocessing/pool/worker-slot';
import type { Chunk } from '../../lib/multiprocessing/pool/jobs';
import type { PoolWorkerProcess } from '../../lib/multiprocessing/pool/worker-process';

function slot(held: number, knownMax = 10): WorkerSlot {
  const w = newSlot({} as PoolWorkerProcess, knownMax);
  for (let i = 0; i < held; i++) w.held.push({} as Chunk);
  return w;
}

function view(workers: WorkerSlot[], waiting: number, processes = workers.length): SchedulerView {
  return { workers, processes, waiting, knows: (w, fnId) => w.knownMax >= fnId };
}

const BIG = PREFETCH_MAX_BYTES + 1;

test('the least busy worker that knows the function gets the chunk', () => {
  const [a, b, c] = [slot(0, 0), slot(0), slot(0)];
  expect(pickWorker(view([a, b, c], 1), 5, BIG)).toBe(b); // a was forked before fn 5
});

test('one chunk per worker unless the queue is long and the message small', () => {
  const ws = [slot(1), slot(1)];
  expect(pickWorker(view(ws, 3), 1, BIG)).toBeNull();
  expect(pickWorker(view(ws, 4), 1, TINY_FRAME_BYTES + 1)).toBeNull(); // 4 is not > 2 x 2
  expect(pickWorker(view(ws, 5), 1, TINY_FRAME_BYTES + 1)).toBe(ws[0]); // prefetch: 2 deep
  ws[0].held.push({} as Chunk);
  ws[1].held.push({} as Chunk);
  expect(pickWorker(view(ws, 5), 1, TINY_FRAME_BYTES + 1)).toBeNull();
});

test('a busy worker takes a second large chunk only when its task pipe surely has room', () => {
  const frame = 100 * 1024; // a map chunk of 12,500 numbers
  const pipe = 1 << 20;
  const busy = (room: number): WorkerSlot => {
    const w = newSlot({ taskRoom: room } as PoolWorkerProcess, 10);
    w.held.push({} as Chunk);
    w.heldBytes = frame;
    return w;
  };
  const [a, b] = [busy(pipe), busy(pipe)];
  expect(pickWorker(view([a, b], 2), 1, frame)).toBe(a); // one more for every worker
  expect(pickWorker(view([a, b], 1), 1, frame)).toBeNull(); // the queue's end: not piled on a
  // Room for it besides everything a holds (a may not have read any of it).
  a.heldBytes = b.heldBytes = pipe - frame - PIPE_SLACK + 1;
  expect(pickWorker(view([a, b], 8), 1, frame)).toBeNull();
  a.heldBytes = frame;
  expect(pickWorker(view([a, b], 8), 1, frame)).toBe(a);
  // Two deep at most, and never where the pipe's size is unknown.
  a.held.push({} as Chunk);
  expect(pickWorker(view([a], 8, 1), 1, frame)).toBeNull();
  expect(pickWorker(view([busy(0)], 8, 1), 1, frame)).toBeNull();
});

test('tiny tasks queue up to TINY_DEPTH, in batches: a worker past a quarter full waits', () => {
  const w = slot(TINY_DEPTH / 4 + 1);
  expect(pickWorker(view([w], 100), 1, 100)).toBeNull(); // not being filled in this pass
  w.outbox.push(Buffer.alloc(1)); // being filled now: fill it up
  expect(pickWorker(view([w], 100), 1, 100)).toBe(w);
  w.held.length = TINY_DEPTH;
  expect(pickWorker(view([w], 100), 1, 100)).toBeNull();
});

test('a busy worker gets no second chunk while the pool is below full strength', () => {
  const w = slot(1);
  expect(pickWorker(view([w], 10, 2), 1, 100)).toBeNull();
  expect(pickWorker(view([w], 10, 1), 1, 100)).toBe(w);
});

test('retiring, exited, closed or failed workers get nothing', () => {
  const ws = [slot(0), slot(0), slot(0), slot(0)];
  ws[0].retiring = true;
  ws[1].exitcode = 0;
  ws[2].eof = true;
  ws[3].writeFailed = true;
  expect(pickWorker(view(ws, 1), 1, 100)).toBeNull();
  expect(makeRoom(view(ws, 1), 1)).toEqual({ kind: 'start' });
  expect(workersToStart(view(ws, 1))).toBe(1);
  expect(workersToStart(view(ws, 9))).toBe(4);
});

test('at full strength: replace an idle worker that predates the function, else wait', () => {
  const old = slot(0, 1);
  const busy = slot(1, 9);
  expect(makeRoom(view([busy, old], 1), 5)).toEqual({ kind: 'replace', stale: old });
  old.held.push({} as Chunk);
  expect(makeRoom(view([busy, old], 1), 5)).toEqual({ kind: 'wait' });
  expect(workersToStart(view([busy, old], 7))).toBe(0);
});
