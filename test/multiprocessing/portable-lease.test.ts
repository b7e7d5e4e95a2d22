// Leases on the portable backend (lib/multiprocessing/portable/leases.ts):
// a hub Lock, RLock or Value used by one process lives there while it holds
// the lease, and goes back when another process asks. The fixture runs with
// FORKFUL_NO_NATIVE=1 on any machine, so this runs in every CI pass.
import { results, runFixture } from '../helpers/fixture';

describe('portable leases (FORKFUL_NO_NATIVE=1)', () => {
  const run = runFixture('mp-portable-lease.js', [], {
    timeoutMs: 240000,
    env: { FORKFUL_NO_NATIVE: '1' },
  });
  const r = results(run.stdout);

  test('the fixture completes', () => {
    expect(run.stderr).not.toMatch(/FIXTURE ERROR/);
    expect(r.done).toBe(true);
    expect(run.status).toBe(0);
  });

  test('three contending processes (one async): every locked read-modify-write counted, Lock and RLock', () => {
    expect(r.contention).toEqual({
      counter: 9000,
      synced: 9000,
      locked: false,
      codes: [0, 0, 0],
    });
  });

  test('the main thread, a Thread and a child on one Lock and Value: every update counted', () => {
    expect(r.threads).toEqual({ counter: 6000, code: 0, threadDone: true });
  });

  test('an idle lessee (busy, never touching them) hands back by its I/O thread: the bytes it wrote, a free lock, a held one as held', () => {
    expect(r.idle).toEqual({
      wasReady: true,
      value: 42.5,
      freeTaken: true,
      heldTaken: false,
      heldLocked: true,
      alive: true,
    });
  });

  test('a lessee stopped (SIGSTOP) holding the lock: a timed acquire times out, an aborted one aborts; after SIGCONT and its release the lock comes back, unwarned', () => {
    expect(r.stopped).toEqual({
      wasReady: true,
      timedOut: false,
      aborted: 'AbortError',
      taken: true,
      warned: false,
    });
  });

  test('a lessee SIGKILLed holding the lock: the next acquirer takes it, warned; its unsent writes are lost', () => {
    expect(r.killed).toEqual({ wasHeld: true, code: -9, taken: true, warned: true, value: 1 });
    expect(run.stderr).toMatch(/FORKFUL_LOCK_OWNER_DIED/);
  });

  test('a lessee that exits hands its writes back', () => {
    expect(r.exited).toEqual({ items: [996, 997, 998, 999], code: 0 });
  });
});

describe('portable leases: the I/O thread ends while its thread holds leases', () => {
  const run = runFixture('portable-lease-io-lost.js', [], {
    timeoutMs: 60000,
    env: { FORKFUL_NO_NATIVE: '1', FORKFUL_TEST_IO_DIE_MS: '1500' },
  });
  const r = results(run.stdout);

  test('the thread no longer uses them locally: lock and value calls raise RuntimeError', () => {
    expect(run.stderr).not.toMatch(/FIXTURE ERROR/);
    expect(r.lost).toEqual({
      leased: true,
      acquire: 'RuntimeError',
      read: 'RuntimeError',
      write: 'RuntimeError',
    });
  });
});
