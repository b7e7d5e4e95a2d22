// The pool of receive slabs (native/recv_slabs.cc, issue 17): a message's
// memory is reused once V8 has freed it, never while JS can see it; the
// pool is bounded, leaks no fds, and a forked child does not reuse its
// parent's (copy-on-write) slabs. Counts, not RSS or timings.
import { results, runFixture } from '../helpers/fixture';
import { needsAddon, needsFork } from '../helpers/needs';

needsAddon.describe('receive slab pool', () => {
  let r: Record<string, unknown>;
  beforeAll(() => {
    const run = runFixture('mp-recv-slabs.js', [], {
      timeoutMs: 120000,
      nodeArgs: ['--expose-gc'],
    });
    r = results(run.stdout);
    if (!r.done) {
      throw new Error(`mp-recv-slabs failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
    }
  });

  test('a kept slab stays intact; dropped ones are reused; the pool is bounded', () => {
    expect(r.direct).toEqual({
      keptIntact: true,
      reused: true,
      poolBounded: true,
      unmappedOverBound: true,
      size: 2 * 1024 * 1024,
    });
  });

  test('a received Buffer stays intact while 200 MiB more arrive into recycled slabs', () => {
    const p = r.pipe as Record<string, unknown>;
    expect({ firstIntact: p.firstIntact, allOk: p.allOk, poolBounded: p.poolBounded }).toEqual({
      firstIntact: true,
      allOk: true,
      poolBounded: true,
    });
    // 50 slabs' worth of messages: most come from the pool (without it,
    // every one was a fresh mapping).
    expect({
      mappedUnder25: (p.mapped as number) < 25,
      reusedOver25: (p.reused as number) > 25,
    }).toEqual({ mappedUnder25: true, reusedOver25: true });
  });

  test("a Queue's copies of large items go back to the pool once written", () => {
    // 6 items of 12 MiB: each copy (what the pipe did not take at put()) is a
    // slab, given back when written: no collection needed. The items are
    // what the Buffer held at put().
    // (A collection meanwhile may give back received items' slabs too.)
    const q = r.queue as { ok: boolean; copiesBack: number };
    expect({ ok: q.ok, copiesBackAtLeast6: q.copiesBack >= 6 }).toEqual({
      ok: true,
      copiesBackAtLeast6: true,
    });
  });

  test('no fd left open', () => {
    expect(r.fds).toEqual({ growth: 0 });
  });

  needsFork.test('a forked child starts with an empty pool', () => {
    expect(r.fork).toEqual({ parentHad: true, child: { slabs: 0, bytes: 0 } });
  });
});
