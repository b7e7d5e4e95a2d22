// Promote on share (lib/multiprocessing/portable/local.ts): on the portable
// backend multiprocessing's Lock, RLock, Semaphore, Event and Value/Array
// used by the Threads of one process stay in its memory (no hub round trip,
// no hub at all), and move to the hub with their state the first time they
// go to a child.
import { results, runFixture } from '../helpers/fixture';

describe('portable multiprocessing objects: local until shared with a process', () => {
  const run = runFixture('portable-promote.js', [], {
    timeoutMs: 120000,
    env: { FORKFUL_NO_NATIVE: '1', FORKFUL_HUB: '' },
  });
  const r = results(run.stdout);

  test('the fixture completes', () => {
    expect(run.stderr).not.toMatch(/FIXTURE ERROR/);
    expect(r.done).toBe(true);
    expect(run.status).toBe(0);
  });

  test('used by Threads only: exact counts, and no hub started anywhere', () => {
    expect(r.local).toEqual({ value: 6000, array: [0.5, 3], threadHubs: [0, 0], hub: null });
  });

  test('Semaphore and Event: local between Threads (bound kept), then moved with their value and flag', () => {
    expect(r.signals).toEqual({
      local: { set: true, value: 2, tooMany: 'ValueError', hub: null },
      seen: { value: 1, set: true, took: true, second: false },
      code: 0,
      after: { value: 0, set: false, woken: 1 },
    });
  });

  test('a Lock whose holder Thread ended before it moved is taken over in the child, warned', () => {
    expect(r.deadHolder).toEqual({ taken: true, code: 0 });
    expect(run.stderr).toMatch(/FORKFUL_LOCK_OWNER_DIED/);
  });

  test('sent to a child: a held Lock stays held, an RLock keeps its thread and level, a Value its value', () => {
    expect(r.moved).toEqual({
      first: { lockFree: false, rlockFree: false, value: 41 },
      second: { got: true },
      code: 0,
      holder: 2,
      waited: 1,
      value: 43,
      locked: [false, false],
    });
  });

  test('moved while two Threads update it: every update counted once', () => {
    expect(r.race).toEqual({ value: 10300, sem: 1, code: 0 });
  });
});
