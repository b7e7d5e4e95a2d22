// Port of CPython's Lib/test/_test_multiprocessing.py case on a Queue used
// while a module loads (_TestQueue.test_no_import_lock_contention), kept
// apart from _test_multiprocessing.test.ts: the module is loaded in a Node
// of its own (test/fixtures/conformance/mp-import-lock.js), as Python
// imports it fresh.
import { runFixture } from '../helpers/fixture';

describe('_TestQueue', () => {
  test('_TestQueue.test_no_import_lock_contention', () => {
    const r = runFixture('conformance/mp-import-lock.js', [], { timeoutMs: 30000 });
    expect(r.stdout.trim()).toBe('knock knock');
    expect(r.status).toBe(0);
  });
});
