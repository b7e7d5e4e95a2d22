// { signal } on every wait but the Pool's (Process, Queue, Connection,
// locks, Event/Condition/Barrier, Thread), for-await over a Queue fed by 4
// processes and over a Connection, explicit disposal: in a fixture process,
// once on each backend. The fixture must also end by itself: an aborted
// wait leaves nothing holding its event loop.
import { results, runFixture } from '../helpers/fixture';
import { describeEachStartMethod } from '../helpers/needs';

const aborted = { name: 'AbortError', code: 'ABORT_ERR', cause: 'TimeoutError' };
const unknownOption = { name: 'TypeError', code: 'ERR_FORKFUL_UNKNOWN_OPTION' };

describeEachStartMethod('waits and iteration, Node-style, on the %s backend', (method) => {
  let r: Record<string, Record<string, unknown>>;
  beforeAll(() => {
    const run = runFixture('nodeapi-waits.js', [], {
      timeoutMs: 60000,
      env: { FORKFUL_START_METHOD: method },
    });
    r = results(run.stdout) as typeof r;
    if (run.status !== 0 || !r.done) {
      throw new Error(`nodeapi-waits failed (status ${run.status}):\n${run.stdout}\n${run.stderr}`);
    }
  });

  test('Process.join: an abort stops the wait, not the child; disposal ends and closes it', () => {
    expect(r.process).toEqual({
      aborted,
      aliveAfter: true,
      closed: true,
      typo: unknownOption,
    });
  });

  test('Queue.get/put, JoinableQueue.join: an aborted wait takes and puts nothing', () => {
    expect(r.queue).toMatchObject({
      get: aborted,
      put: aborted,
      qsize: 1,
      first: 'a',
      second: 'c',
      typo: unknownOption,
      // A blocking get cannot be cancelled: signal is not one of its options.
      syncSignal: unknownOption,
      afterDispose: { name: 'ValueError' },
      join: aborted,
    });
    // After the aborted join, a join resolves once the item is done (no error).
    expect(r.queue.joinAfter).toEqual({});
  });

  test('Connection.recv/recvBytes/pollAsync: an aborted receive consumes no message', () => {
    expect(r.connection).toEqual({
      recv: aborted,
      recvBytes: aborted,
      poll: aborted,
      next: 'x',
      bytes: 'yz',
      typo: unknownOption,
      closed: true,
    });
  });

  test('Lock and Semaphore acquireAsync: an abort gives back what the wait took late', () => {
    expect(r.locks).toEqual({
      acquire: aborted,
      freeAfter: true,
      semAcquire: aborted,
      semValue: 1,
      syncSignal: unknownOption,
    });
  });

  test('Event/Condition/Barrier waitAsync: AbortError; Condition keeps its lock; Barrier breaks', () => {
    expect(r.events).toEqual({
      wait: aborted,
      afterSet: true,
      condWait: aborted,
      holdsLock: true,
      barrier: aborted,
      broken: true,
      typo: unknownOption,
    });
  });

  test('Thread.join: an abort stops the wait; disposal awaits the end', () => {
    expect(r.thread).toEqual({ join: aborted, aliveAfter: true, endedAfterDispose: true });
  });

  test('for await over a Queue fed by 4 processes; break keeps it usable; close() ends a loop', () => {
    expect(r.queueFedByFour).toEqual({
      count: 100,
      inOrder: true,
      exitcodes: [0, 0, 0, 0],
      after: 'after',
      rest: [],
    });
  });

  test('for await over a Connection ends at EOF', () => {
    expect(r.connectionIteration).toEqual({ got: [0, 1, 2, 3, 4], exitcode: 0 });
  });
});
