// multiprocessing.shared_memory (forkful's own cases; CPython's are ported in
// test/conformance/_test_multiprocessing_shared_memory.test.ts): attach from
// a forked child, from a Process of each start method, from an unrelated
// Node and from Python; errors typed; close(); Atomics on the block; what
// the resource tracker leaves to whom.
import '../conformance/helpers/spawn-shim';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isSharedArrayBuffer } from 'node:util/types';
import * as mp from '../../lib/multiprocessing';
import * as os from '../../lib/os';
import {
  FileExistsError,
  FileNotFoundError,
  NotSupportedError,
  OSError,
  ValueError,
} from '../../lib/core/errors';
import { native } from '../../lib/core/native';
import { trackedNames } from '../../lib/multiprocessing/resource-tracker';
import { describeEachStartMethod, needsAddon, needsFork } from '../helpers/needs';
import {
  expectNoStrays,
  joinProcess,
  settledTest,
  waitUntil,
  type Modules,
} from '../conformance/helpers/common';

jest.setTimeout(60000);
const test = settledTest(needsAddon.test);
afterEach(() => expectNoStrays());

const { SharedMemory, ShareableList } = mp;
const root = path.resolve(__dirname, '..', '..');

// Blocks a test made, unlinked after it whatever happened.
let made: mp.SharedMemory[] = [];
function block(size = 64, name: string | null = null): mp.SharedMemory {
  const shm = new SharedMemory(name, true, size);
  made.push(shm);
  return shm;
}
afterEach(() => {
  for (const shm of made) {
    try {
      shm.unlink();
    } catch {
      // the test unlinked it
    }
  }
  made = [];
});

/** Adds 1 to the block's first int32, `n` times, with Atomics (a Process
 * target: self-contained). */
function addInChild(nameOrShm: string | mp.SharedMemory, n: number): void {
  const m = (globalThis.__forkful?.mp ?? require('forkful/multiprocessing')) as Modules['mp'];
  const shm = typeof nameOrShm === 'string' ? new m.SharedMemory(nameOrShm) : nameOrShm;
  const words = new Int32Array(shm.buf!.buffer, shm.buf!.byteOffset, 1);
  for (let i = 0; i < n; i++) Atomics.add(words, 0, 1);
  shm.close();
}

describe('SharedMemory (forkful)', () => {
  test('a generated name is psm_ and 8 hex digits; a leading / is Python’s', () => {
    const shm = block();
    expect(shm.name).toMatch(/^psm_[0-9a-f]{8}$/);
    expect(fs.existsSync(`/dev/shm/${shm.name}`)).toBe(true);
    expect(shm.buf).toBeInstanceOf(Buffer);
    expect(isSharedArrayBuffer(shm.buf!.buffer)).toBe(true);

    const slashed = block(16, `/fk_slash_${process.pid}`);
    expect(slashed.name).toBe(`/fk_slash_${process.pid}`);
    const plain = new SharedMemory(`fk_slash_${process.pid}`);
    expect(plain.size).toBe(16);
    plain.close();
  });

  test('errors are typed, with errno names', () => {
    const shm = block(8, `fk_err_${process.pid}`);
    let err: unknown = null;
    try {
      new SharedMemory(shm.name, true, 8);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FileExistsError);
    expect(err).toBeInstanceOf(OSError);
    expect(err).toMatchObject({ code: 'EEXIST', errno: 17, syscall: 'shm_open' });
    expect((err as Error).message).toContain(shm.name);

    expect(() => new SharedMemory(`fk_absent_${process.pid}`)).toThrow(FileNotFoundError);
    expect(() => new SharedMemory('a\0b')).toThrow(ValueError);
    expect(() => new SharedMemory('a/b', true, 8)).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(() => new SharedMemory(42 as never)).toThrow(TypeError);
    expect(() => new SharedMemory(null, true, 1.5)).toThrow(TypeError);
    expect(() => new SharedMemory(null, true, 0)).toThrow(ValueError);
  });

  test('close(): buf is null, views taken before stay usable; unlink() after close()', () => {
    const shm = block(32);
    const view = shm.buf!;
    view[3] = 7;
    shm.close();
    shm.close();
    expect(shm.buf).toBeNull();
    expect(view[3]).toBe(7); // the mapping lives while a view does
    const again = new SharedMemory(shm.name);
    expect(again.buf![3]).toBe(7);
    again.close();
    shm.unlink();
    expect(() => new SharedMemory(shm.name)).toThrow(FileNotFoundError);
  });

  test('the options-object form, and track: false is not tracked', () => {
    const shm = new SharedMemory({ create: true, size: 10, track: false });
    try {
      expect(trackedNames()).not.toContain('/' + shm.name);
      const tracked = block(10);
      expect(trackedNames()).toContain('/' + tracked.name);
      tracked.unlink();
      expect(trackedNames()).not.toContain('/' + tracked.name);
    } finally {
      shm.unlink();
    }
  });

  needsFork.test(
    'an os.fork() child shares the mapping, and its exit unlinks nothing',
    async () => {
      const shm = block(8);
      const words = new Int32Array(shm.buf!.buffer, 0, 2);
      const pid = os.fork();
      if (pid === 0) {
        for (let i = 0; i < 1000; i++) Atomics.add(words, 0, 1);
        Atomics.store(words, 1, 1);
        os._exit(0);
      }
      for (let i = 0; i < 1000; i++) Atomics.add(words, 0, 1);
      const [, status] = os.waitpid(pid, 0);
      expect(os.waitstatusToExitcode(status)).toBe(0);
      expect(Atomics.load(words, 0)).toBe(2000);
      expect(Atomics.load(words, 1)).toBe(1);
      new SharedMemory(shm.name).close(); // still there
    },
  );

  describeEachStartMethod('a Process child (%s)', (method) => {
    // Made when a case runs: without the addon there is no 'fork' context.
    const ctx = () => mp.getContext(method);

    test('attaches by name, and gets the block itself as an argument', async () => {
      const shm = block(8);
      const p1 = new (ctx().Process)({ target: addInChild, args: [shm.name, 500] });
      const p2 = new (ctx().Process)({ target: addInChild, args: [shm, 500] });
      p1.start();
      p2.start();
      await joinProcess(p1);
      await joinProcess(p2);
      expect([p1.exitcode, p2.exitcode]).toEqual([0, 0]);
      expect(new Int32Array(shm.buf!.buffer, 0, 1)[0]).toBe(1000);
    });

    test('a ShareableList crosses by name', async () => {
      const sl = new ShareableList([1, 'two', null]);
      made.push(sl.shm);
      const p = new (ctx().Process)({
        target: (list: mp.ShareableList) => {
          list[0] = (list[0] as number) + 41;
          list[2] = true;
        },
        args: [sl],
      });
      p.start();
      await joinProcess(p);
      expect(p.exitcode).toBe(0);
      expect([...sl]).toEqual([42, 'two', true]);
    });

    test('a block a child creates and leaks outlives the child', async () => {
      const name = `fk_child_${process.pid}_${method}`;
      const p = new (ctx().Process)({
        target: (n: string) => {
          const m = (globalThis.__forkful?.mp ??
            require('forkful/multiprocessing')) as Modules['mp'];
          new m.SharedMemory(n, true, 16).buf![0] = 9;
        },
        args: [name],
      });
      p.start();
      await joinProcess(p);
      expect(p.exitcode).toBe(0);
      const shm = new SharedMemory(name);
      made.push(shm);
      expect(shm.buf![0]).toBe(9);
    });
  });

  test('an unrelated Node attaches by name', () => {
    const shm = block(16);
    const r = spawnSync(
      process.execPath,
      [
        '-e',
        `const { SharedMemory } = require('forkful/multiprocessing');
         const shm = new SharedMemory(process.argv[1], false, 0, { track: false });
         shm.buf.write('from node', 0);`,
        shm.name,
      ],
      { cwd: root, encoding: 'utf8', timeout: 30000 },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(shm.buf!.toString('latin1', 0, 9)).toBe('from node');
  });

  test('a main process unlinks at exit what it tracked and leaked, with Python’s warning', () => {
    const r = spawnSync(
      process.execPath,
      [
        '-e',
        `const { SharedMemory } = require('forkful/multiprocessing');
         const kept = new SharedMemory(null, true, 8, { track: false });
         const leaked = new SharedMemory(null, true, 8);
         console.log(kept.name + ' ' + leaked.name);`,
      ],
      { cwd: root, encoding: 'utf8', timeout: 30000 },
    );
    expect(r.status).toBe(0);
    const [kept, leaked] = r.stdout.trim().split(' ');
    try {
      expect(r.stderr).toContain('There appear to be 1 leaked shared_memory objects');
      expect(fs.existsSync(`/dev/shm/${leaked}`)).toBe(false);
      expect(fs.existsSync(`/dev/shm/${kept}`)).toBe(true);
    } finally {
      fs.rmSync(`/dev/shm/${kept}`, { force: true });
    }
  });

  const python = (() => {
    try {
      const v = execFileSync('python3', ['-c', 'import sys; print(sys.version_info >= (3, 8))'], {
        encoding: 'utf8',
      });
      return v.trim() === 'True';
    } catch {
      return false;
    }
  })();

  // Python's layout byte for byte: Python reads and writes forkful's list.
  (python ? test : test.skip)('Python attaches to a ShareableList forkful made', async () => {
    const sl = new ShareableList(['howdy', Buffer.from('HoWdY'), -273.154, 100, null, true, 42]);
    made.push(sl.shm);
    const out = execFileSync(
      'python3',
      [
        '-c',
        `import sys
from multiprocessing import shared_memory, resource_tracker
sl = shared_memory.ShareableList(name=sys.argv[1])
resource_tracker.unregister(sl.shm._name, 'shared_memory')
print(repr(list(sl)), sl.format)
sl[3] = 'py'
sl.shm.close()`,
        sl.shm.name,
      ],
      { encoding: 'utf8', timeout: 30000 },
    );
    expect(out.trim()).toBe(
      `['howdy', b'HoWdY', -273.154, 100, None, True, 42] 8s8sdqxxxxxx?xxxxxxxx?q`,
    );
    expect(sl[3]).toBe('py');
    expect(sl.format).toBe('8s8sd8sxxxxxx?xxxxxxxx?q');
  });

  test('a Thread gets the same mapping: Atomics.wait/notify meet', async () => {
    const shm = block(8);
    const words = new Int32Array(shm.buf!.buffer, 0, 2);
    const t = new (require('../../lib/threading') as typeof import('../../lib/threading')).Thread({
      target: (s: mp.SharedMemory) => {
        const w = new Int32Array(s.buf!.buffer, 0, 2);
        // Woken only by a notify on the same mapping (V8's waiters are keyed
        // by address): a second mapping would time out.
        const woken = Atomics.wait(w, 1, 0, 20000);
        Atomics.store(w, 0, woken === 'ok' ? 1 : 2);
      },
      args: [shm],
    });
    t.start();
    const done = await waitUntil(() => {
      Atomics.notify(words, 1);
      return Atomics.load(words, 0) !== 0;
    }, 30);
    await t.join(30);
    expect(done).toBe(true);
    expect(Atomics.load(words, 0)).toBe(1);
    expect(t.isAlive()).toBe(false);
  });
});

// Without the addon there is no shm_open: a clear NotSupportedError.
settledTest(global.test)('without the addon: NotSupportedError, with the way out', () => {
  if (native) return; // covered above
  expect(() => new SharedMemory(null, true, 8)).toThrow(NotSupportedError);
  expect(() => new SharedMemory(null, true, 8)).toThrow(/multiprocessing.shared_memory/);
});
