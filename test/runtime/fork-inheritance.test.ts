// What a forked child inherits and must not act on: the IPC channel to its
// parent's parent, the parent's timers (made through node:timers too), and
// the parent's listening servers (kept by os.fork() by default, closed with
// fork({ isolate: true })).
import { results, runFixture } from '../helpers/fixture';
import { needsFork } from '../helpers/needs';

function run(which: string) {
  const out = runFixture('fork-inheritance.js', [which], { timeoutMs: 40000 });
  expect(out.stderr).not.toMatch(/FIXTURE ERROR/);
  return results(out.stdout);
}

describe('a forked child never reads the IPC channel it inherited', () => {
  needsFork.test(
    'os.fork() inside a message handler: all 50 later messages reach the parent',
    () => {
      const r = run('ipc-raw');
      expect(r['ipc-raw']).toBe(50);
      expect(r.workerExit).toBe(0);
    },
  );

  test('a Process started inside a message handler: all 50 later messages reach the parent', () => {
    const r = run('ipc-process');
    expect(r['ipc-process']).toBe(50);
    expect(r.workerExit).toBe(0);
  });
});

describe("the parent's timers do not fire in a Process child", () => {
  test("require('node:timers').setTimeout", () => {
    const r = run('timers');
    expect(r.firedInChild).toBeUndefined();
    expect(r.timers).toBe(0);
  });

  test("import { setTimeout } from 'node:timers'", () => {
    const out = runFixture('fork-timers-esm.mjs', [], { timeoutMs: 30000 });
    const r = results(out.stdout);
    expect(r.firedInChild).toBeUndefined();
    expect(r.timers).toBe(0);
  });
});

describe("the parent's listening server", () => {
  needsFork.test("os.fork() keeps it: after the parent's close() the child still answers", () => {
    const r = run('server-raw');
    expect((r['server-raw'] as { afterClose: string }).afterClose).toBe('child');
  });

  needsFork.test('fork({ isolate: true }) closes it in the child only', () => {
    const r = run('server-isolate');
    expect(r['server-isolate']).toEqual({ byChild: 0, afterClose: 'ECONNREFUSED' });
  });
});
