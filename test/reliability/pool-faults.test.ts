// Issue 14: Pool faults. A result the parent cannot decode fails its own
// task with the real SerializationError, and the worker lives (item 2).
import { results, runFixture, spawnBackend } from '../helpers/fixture';

type Described = { name: string; serialization: boolean; lost: boolean; message: string };

(spawnBackend ? describe.skip : describe)('Pool faults', () => {
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
      expect(e.message).toMatch(/lives in another forkful arena/);
    }
    expect(u.sameWorker).toBe(true);
  });
});
