// Queue, JoinableQueue, SimpleQueue across processes (current start method).
import { results, runFixture } from '../helpers/fixture';

describe('Queue family', () => {
  const run = runFixture('mp-queue.js', [], { timeoutMs: 90000 });
  const r = results(run.stdout);

  test('the fixture completes', () => {
    expect(run.stderr).not.toMatch(/FIXTURE ERROR/);
    expect(r.done).toBe(true);
    expect(run.status).toBe(0);
  });

  test('FIFO, Empty/Full with and without timeouts, qsize/empty/full', () => {
    expect(r.fresh).toEqual({ empty: true, full: false, qsize: 0 });
    expect(r.filled).toEqual({ empty: false, full: true, qsize: 2 });
    expect(r.full).toBe(true);
    expect(r.fullTimeout).toBe(true);
    expect(r.fifo).toEqual(['a', { b: [1] }]);
    expect(r.empty).toBe(true);
    expect(r.emptyTimeout).toBe(true);
    expect(r.emptyTimeoutSync).toBe(true);
  });

  test('an unserialisable item is refused without taking a slot; closed queues refuse', () => {
    expect(r.unserialisable).toEqual({ name: 'SerializationError', qsize: 0 });
    expect(r.closed).toBe(true);
    expect(r.closedEmpty).toEqual({ name: 'OSError', code: 'EBADF', closed: true });
    expect(r.unusedClosedEmpty).toBe(true);
  });

  test("the article's writer/reader processes", () => {
    expect(r.writerReader).toEqual(['A', 'B', 'C']);
    expect(r.writerReaderExit).toEqual([0, 0]);
  });

  test('4 producers x 4 consumers x 10,000 items: none lost or duplicated', () => {
    expect(r.manyToMany).toEqual({
      n: 40000,
      sumOk: true,
      xorOk: true,
      exitcodes: [0, 0, 0, 0, 0, 0, 0, 0],
    });
  });

  test('JoinableQueue: join waits for taskDone; too many taskDone is an error', () => {
    expect(r.joinable).toEqual({ total: 5050 });
    expect(r.taskDoneTooMany).toBe(true);
  });

  test('put returns before the item is written; the feeder flushes, also at child exit', () => {
    expect(r.bigSelf).toBe(100);
    expect(r.childFlush).toEqual({ flushed: 50, exitcode: 0 });
  });

  test('SimpleQueue', () => {
    expect(r.simple).toEqual({ squares: [0, 1, 4, 9, 16], empty: true });
  });
});
