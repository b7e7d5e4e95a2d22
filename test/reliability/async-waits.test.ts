// Issue 14 item 9: pending async waits (acquireAsync, waitAsync) take O(1)
// threads: a few shared waiter threads sleep on every pending word at once
// (futex_waitv), where each wait took a thread of its own. Every wait still
// ends right, on the shared threads and on the thread-per-wait fallback
// (FORKFUL_FUTEX_WAITV=0, as on kernels before 5.16): many waits on one
// word, more words than one futex_waitv call takes, timeouts, AbortSignal,
// a Worker's waits (and a Worker that ends with waits pending, which
// crashed the process before), and fork() with waits pending.
import { results, runFixture } from '../helpers/fixture';
import { needsFork } from '../helpers/needs';

const modes: [string, NodeJS.ProcessEnv][] = [
  ['futex_waitv', {}],
  ['threads', { FORKFUL_FUTEX_WAITV: '0' }],
];

// The shared waiter threads and the fork part are the addon's (os.fork).
needsFork.describe.each(modes)('pending async waits (%s)', (mode, env) => {
  let r: Record<string, unknown>;
  beforeAll(() => {
    const run = runFixture('rel-async-waits.js', [], { timeoutMs: 120000, env });
    r = results(run.stdout);
    if (!r.done || run.status !== 0) {
      throw new Error(`rel-async-waits failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
    }
  });

  test('the mode asked for', () => {
    // futex_waitv exists on Linux 5.16+: CI's and this machine's kernels.
    expect(r.mode).toBe(mode);
  });

  test('990 waits on one Lock, Semaphore, Condition and Event: each ends right', () => {
    const many = r.many as Record<string, unknown>;
    expect(many).toMatchObject({
      lockDone: 600,
      overlap: false,
      semAcquired: 130,
      semLeft: 0,
      condWoken: 130,
      eventWoken: 130,
      lockFree: true,
      pendingAfter: 0,
    });
    if (mode === 'futex_waitv') {
      // A bounded set of waiter threads (the fallback: one per wait): the
      // lock's and the semaphore's waits on the three threads of the lock
      // words above, the condition's and the event's on up to 16 (a thread
      // each keeps notify(n) exact).
      expect(many.pending).toBe(990);
      expect(many.threadsAdded).toBeLessThanOrEqual(16);
    }
  });

  test('one wait on each of 300 Locks: every lock acquired', () => {
    const d = r.distinct as Record<string, number>;
    expect(d.acquired).toBe(300);
    if (mode === 'futex_waitv') {
      // 127 words per futex_waitv call: three waiter threads.
      expect(d.waiterThreads).toBe(3);
      expect(d.slots).toBe(300);
      expect(d.threadsAdded).toBeLessThanOrEqual(3);
    }
  });

  test('Condition.waitAsync: notify(1) ends one async wait, notify(2) two more, notifyAll the rest', () => {
    expect(r.notify).toEqual([1, 3, 6]);
  });

  test('timeouts end each wait false, none early; a long wait beside them is unaffected', () => {
    expect(r.timeouts).toEqual({ allFalse: true, earliestMargin: true, longOk: true });
  });

  test('AbortSignal: 100 pending waits reject with AbortError; nothing stays taken for them, even before the event loop turns; without a timeout a wait outlasts its slices', () => {
    expect(r.aborts).toEqual({
      syncAfterAbort: true,
      untimed: true,
      aborted: 100,
      other: [],
      free: true,
      drained: true,
    });
  });

  test("a Worker's waits settle in the Worker; a Worker ended with waits pending withdraws them", () => {
    expect(r.workers).toEqual({
      settled: ['allPending', 100],
      hangPending: { msgs: ['waiting', 'allPending'], after: 0 },
      free: true,
    });
  });

  test("fork() with waits pending: the child has none, waits itself and ends; the parent's all end", () => {
    expect(r.child).toEqual({ pendingWaits: 0, waiterThreads: 0, ownWait: true, pendingAfter: 0 });
    expect(r.forked).toMatchObject({ done: 200, childExit: 0 });
    if (mode === 'futex_waitv')
      expect((r.forked as { parentPending: number }).parentPending).toBe(200);
  });

  test('the waiter threads stay few', () => {
    if (mode !== 'futex_waitv') return;
    // Three for the 300 lock words, up to 32 for condition and event waits.
    const end = r.threadsAtEnd as { added: number; waiterThreads: number };
    expect(end.waiterThreads).toBeLessThanOrEqual(35);
    expect(end.added).toBe(end.waiterThreads);
  });
});
