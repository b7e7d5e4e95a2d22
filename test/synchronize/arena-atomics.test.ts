// Atomics.wait / Atomics.notify between threads on the shared arena (a
// RawArray's view): every thread's SharedArrayBuffer over the arena shares
// one V8 BackingStore, as a buffer sent to a Worker does. With one per
// thread, V8 aborted the process at the notify (free(): invalid pointer).
// In a fresh process: an abort must not take the jest worker with it.
import { inFreshProcess } from '../helpers/fresh-process';

test('a Thread in Atomics.wait on a RawArray view is woken by Atomics.notify from the main thread', () => {
  inFreshProcess(async (dist: string) => {
    const assert = require('node:assert');
    // threading's RawArray: the arena's (natively multiprocessing's too;
    // without the addon the portable arena's SharedArrayBuffer).
    const { RawArray, Thread } = require(`${dist}/threading`);
    const arr = new RawArray('i', 4);
    const woke = new RawArray('i', 1);
    const t = new Thread({
      target: (a: { view: Int32Array }, w: { view: Int32Array }) => {
        w.view[0] = Atomics.wait(a.view, 0, 0, 20000) === 'ok' ? 1 : 2;
      },
      args: [arr, woke],
    });
    t.start();
    // Wait (bounded) until the thread sleeps on the word, then wake it.
    let woken = 0;
    for (let i = 0; i < 2000 && woken === 0; i++) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      woken = Atomics.notify(arr.view, 0);
    }
    await t.join(30);
    assert.strictEqual(woken, 1, 'the thread never slept on the word');
    assert.strictEqual(woke.view[0], 1, 'the thread was not woken by the notify');
  });
});
