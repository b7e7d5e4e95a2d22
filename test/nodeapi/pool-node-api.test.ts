// The Node-style Pool API (issue 18): { signal } on every call, break out
// of imap, events, stats(), progress, unknown options. The pools run in a
// fixture process, once on each backend.
import { results, runFixture } from '../helpers/fixture';
import { describeEachStartMethod } from '../helpers/needs';

type Described = { name: string; code: string; message: string; cause?: string };

describeEachStartMethod('Pool, Node-style, on the %s backend', (method) => {
  let r: Record<string, Record<string, unknown>>;
  beforeAll(() => {
    const run = runFixture('nodeapi-pool.js', [], {
      timeoutMs: 60000,
      env: { FORKFUL_START_METHOD: method },
    });
    r = results(run.stdout) as typeof r;
    if (run.status !== 0 || !r.done) {
      throw new Error(`nodeapi-pool failed (status ${run.status}):\n${run.stdout}\n${run.stderr}`);
    }
  });

  test('an abort mid-map rejects with AbortError, stops the work and leaves no worker', () => {
    const a = r.abortMidMap;
    expect(a.error).toEqual({
      name: 'AbortError',
      code: 'ABORT_ERR',
      message: 'Pool.map was aborted',
      cause: 'enough',
    });
    // Queued tasks dropped, prefetched ones abandoned with their workers.
    expect(a.cancelled).toBeGreaterThan(0);
    expect(a.completedBeforeAll).toBe(true);
    expect(a.accounted).toBe(40);
    // The replaced workers were killed; close + join left none alive.
    expect(a.workersCreated).toBe(a.workersExited);
    expect(a.strays).toEqual([]);
    expect(a.finalWorkers).toBe(0);
    expect(a.finalQueued).toBe(0);
    expect(a.finalRunning).toBe(0);
  });

  test('progress reports done / total as tasks finish; drain fires when the pool is idle', () => {
    const a = r.abortMidMap;
    expect(a.progressFirst).toEqual([1, 40]);
    expect(a.progressTotal).toBe(true);
    expect(a.progressMonotonic).toBe(true);
    expect(a.drains).toBe(1);
  });

  test('break out of imap drops the tasks not yet run', () => {
    const b = r.breakOutOfImap;
    expect(b.seen).toEqual([30, 30, 30]);
    expect(b.cancelled).toBeGreaterThan(0);
    expect(b.strays).toEqual([]);
  });

  test('an abort during imapUnordered throws at the next value', () => {
    const i = r.imapAbort;
    // Two values, whichever finished first: a worker started late on a
    // loaded machine lets the other finish a 400 ms task before the second
    // 5 ms one. The abort after the second value ends the loop there.
    expect(i.seen).toHaveLength(2);
    for (const v of i.seen as number[]) expect([5, 400]).toContain(v);
    expect((i.error as Described).name).toBe('AbortError');
  });

  test('apply, AsyncResult.get and applyAsync take a signal; the pool works on', () => {
    const w = r.applyAndWaits;
    expect(w.preAborted).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', reason: 'no' });
    expect(w.queuedAfterPreAbort).toBe(0);
    expect(w.getAborted).toBe('AbortError');
    expect(w.getAfter).toBe(150);
    expect(w.applyAborted).toBe('ABORT_ERR');
    expect(w.poolStillWorks).toBe(5);
  });

  test('unknown option names and a wrong signal are TypeErrors', () => {
    const w = r.applyAndWaits;
    for (const key of ['mapTypo', 'applyTypo', 'ctorTypo']) {
      expect(w[key]).toMatchObject({ name: 'TypeError', code: 'ERR_FORKFUL_UNKNOWN_OPTION' });
    }
    expect((w.mapTypo as Described).message).toContain("'chunkSize'");
    expect(w.signalType).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  });

  test('stats() reports workers, tasks, utilisation and time summaries', () => {
    const s = (r.applyAndWaits as Record<string, Record<string, unknown>>).stats;
    expect(s.keys).toEqual([
      'cancelled',
      'completed',
      'failed',
      'processes',
      'queued',
      'runTime',
      'running',
      'utilisation',
      'waitTime',
      'workers',
      'workersStarted',
    ]);
    expect(s.processes).toBe(1);
    expect(s.completedPositive).toBe(true);
    expect(s.runTimeCount).toBe(true);
    expect(s.utilisationInRange).toBe(true);
    expect(s.runTimeKeys).toEqual(['count', 'max', 'mean', 'min', 'p50', 'p90', 'p99']);
  });
});
