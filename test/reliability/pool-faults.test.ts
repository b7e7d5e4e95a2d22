// Issue 14: Pool faults. A result the parent cannot decode fails its own
// task with the real SerializationError, and the worker lives (item 2);
// tasks prefetched to a worker that dies are re-queued (item 10).
import { results, runFixture } from '../helpers/fixture';
import { needsFork } from '../helpers/needs';

type Described = { name: string; serialization: boolean; lost: boolean; message: string };

needsFork.describe('Pool faults', () => {
  let r: Record<string, unknown>;
  beforeAll(() => {
    const run = runFixture('rel-pool.js', [], { timeoutMs: 60000 });
    r = results(run.stdout);
    if (!r.done) throw new Error(`rel-pool failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
  });

  test('an undecodable result is a SerializationError for its call; the worker serves on', () => {
    const u = r.undecodable as {
      first: string;
      bad: Described;
      badMap: Described;
      sameWorker: boolean;
    };
    expect(u.first).toBe('fulfilled');
    for (const e of [u.bad, u.badMap]) {
      expect(e).toMatchObject({ name: 'SerializationError', serialization: true, lost: false });
      expect(e.message).toMatch(/cannot revive a shared 'worker.Only'/);
    }
    expect(u.sameWorker).toBe(true);
  });

  test('tasks prefetched to a worker that dies run on its replacement; only the running one fails', () => {
    expect(r.prefetched).toEqual({
      lost: 1,
      values: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130],
    });
    expect(r.killedOutside).toEqual({ longLost: true, manyOk: 1000 });
  });

  test('imap: a lost chunk throws at each of its positions; later values keep theirs', () => {
    expect(r.imapPositions).toEqual([0, 1, 2, 'lost', 'lost', 'lost', 6, 7, 8, 'done']);
  });
});
