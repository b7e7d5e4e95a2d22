// Port of CPython 3.13's Lib/test/_test_multiprocessing.py _TestSharedMemory
// (multiprocessing.shared_memory and SharedMemoryManager), kept apart from
// _test_multiprocessing.test.ts. Documented form (docs/multiprocessing.md,
// "Shared memory"): pickling is "sent through a Pipe" (a SharedMemory or
// ShareableList crosses by name, the receiver attaches), Python's IndexError
// is a RangeError, len(sl) is sl.length, bytes are Buffers and None is null.
// Parts that patch Python's privates (_make_filename, _flags, _name) are
// left out, each said where. forkful's own cases are in
// test/multiprocessing/shared-memory.test.ts.
import './helpers/spawn-shim';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as mp from '../../lib/multiprocessing';
import {
  FileExistsError,
  FileNotFoundError,
  SerializationError,
  ValueError,
} from '../../lib/core/errors';
import { serialize } from '../../lib/transfer/serialize';
import { needsAddon } from '../helpers/needs';
import { expectNoStrays, joinProcess, settledTest, type Modules } from './helpers/common';

jest.setTimeout(60000);
const test = settledTest(needsAddon.test);
afterEach(() => expectNoStrays());

const { SharedMemory, ShareableList } = mp.sharedMemory;
const { SharedMemoryManager } = mp.managers;
const root = path.resolve(__dirname, '..', '..');

// unittest's addCleanup: unlinks run after each test, whatever happened.
let cleanups: Array<() => void> = [];
function addCleanup(fn: () => void): void {
  cleanups.push(fn);
}
afterEach(() => {
  for (const fn of cleanups.reverse()) {
    try {
      fn();
    } catch {
      // already unlinked
    }
  }
  cleanups = [];
});

function newShmName(prefix: string): string {
  return prefix + process.pid;
}

/** _attach_existing_shmem_then_write (self-contained: a Process target). */
function attachExistingShmemThenWrite(nameOrObj: string | mp.SharedMemory, data: string): void {
  const m = (globalThis.__forkful?.mp ?? require('forkful/multiprocessing')) as Modules['mp'];
  const local =
    typeof nameOrObj === 'string' ? new m.sharedMemory.SharedMemory(nameOrObj) : nameOrObj;
  local.buf!.write(data, 0, 'latin1');
  local.close();
}

/** pickle.loads(pickle.dumps(obj)): sent through a Pipe, received here. */
function throughPipe<T>(obj: T): T {
  const [a, b] = mp.Pipe(false);
  try {
    b.send(obj);
    return a.recvSync() as T;
  } finally {
    a.close();
    b.close();
  }
}

/** A script run by a Node of its own (script_helper.assert_python_ok). */
function runNode(source: string, ...args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['-e', source, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30000,
  });
  return { status: r.status, stderr: r.stderr };
}

/** pickle.loads of a dead block raises FileNotFoundError; forkful's rule for
 * a message that cannot be decoded is a SerializationError, whose cause is
 * that FileNotFoundError. */
function expectDeadOnArrival(recv: () => unknown): void {
  let err: unknown = null;
  try {
    recv();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SerializationError);
  expect((err as Error).cause).toBeInstanceOf(FileNotFoundError);
}

describe('_TestSharedMemory', () => {
  test('_TestSharedMemory.test_shared_memory_name_with_embedded_null', () => {
    const name = newShmName('test01_null');
    const sms = new SharedMemory(name, true, 512);
    addCleanup(() => sms.unlink());
    expect(() => new SharedMemory(name + '\0a', false, 512)).toThrow(ValueError);
    // (The second half sets the private _name to a name with a NUL and
    // unlinks: forkful's name is private.)
    sms.close();
  });

  test('_TestSharedMemory.test_shared_memory_basics', () => {
    const nameTsmb = newShmName('test01_tsmb');
    const sms = new SharedMemory(nameTsmb, true, 512);
    addCleanup(() => sms.unlink());

    expect(sms.name).toBe(nameTsmb);
    expect(sms.size).toBeGreaterThanOrEqual(512);
    expect(sms.buf!.length).toBeGreaterThanOrEqual(sms.size);

    expect(String(sms)).toContain(sms.name);
    expect(String(sms)).toContain(String(sms.size));

    sms.buf![0] = 42;
    expect(sms.buf![0]).toBe(42);

    const alsoSms = new SharedMemory(nameTsmb);
    expect(alsoSms.buf![0]).toBe(42);
    alsoSms.close();

    const sameSms = new SharedMemory(nameTsmb, false, 20 * sms.size);
    expect(sameSms.size).toBeLessThan(20 * sms.size); // size was ignored
    sameSms.close();

    expect(() => new SharedMemory(null, true, -2)).toThrow(ValueError);
    expect(() => new SharedMemory(null, false)).toThrow(ValueError);

    // (The mock of _make_filename returning a name in use: not portable,
    // see test_shared_memory_recreate.)

    const nameDblunlink = newShmName('test01_dblunlink');
    const smsUno = new SharedMemory(nameDblunlink, true, 5000);
    expect(() => {
      try {
        expect(smsUno.size).toBeGreaterThanOrEqual(5000);
        const smsDuo = new SharedMemory(nameDblunlink);
        smsDuo.unlink(); // the first shm_unlink()
        smsDuo.close();
        smsUno.close();
      } finally {
        smsUno.unlink(); // a second shm_unlink() is bad
      }
    }).toThrow(FileNotFoundError);

    expect(() => new SharedMemory(nameTsmb, true, 512)).toThrow(FileExistsError);

    // (OptionalAttachSharedMemory overrides the private _flags with
    // O_CREAT | O_RDWR: forkful has no such class attribute.)

    expect(() => {
      const nonexisting = new SharedMemory('test01_notthere');
      nonexisting.unlink(); // the error is on the line before
    }).toThrow(FileNotFoundError);

    sms.close();
  });

  test('_TestSharedMemory.test_invalid_shared_memory_creation', () => {
    expect(() => new SharedMemory(null, true, -1)).toThrow(ValueError);
    expect(() => new SharedMemory(null, true, 0)).toThrow(ValueError);
    expect(() => new SharedMemory(null, true)).toThrow(ValueError);
  });

  test('_TestSharedMemory.test_shared_memory_pickle_unpickle', () => {
    const sms = new SharedMemory(null, true, 512);
    addCleanup(() => sms.unlink());
    sms.buf!.write('pickle');

    const sms2 = throughPipe(sms);
    expect(sms2).toBeInstanceOf(SharedMemory);
    expect(sms2).not.toBe(sms);
    expect(sms.name).toBe(sms2.name);
    expect(sms.buf!.toString('latin1', 0, 6)).toBe('pickle');
    expect(sms2.buf!.toString('latin1', 0, 6)).toBe('pickle');

    sms.buf!.write('newval');
    expect(sms.buf!.toString('latin1', 0, 6)).toBe('newval');
    expect(sms2.buf!.toString('latin1', 0, 6)).toBe('newval');

    sms2.buf!.write('oldval');
    expect(sms.buf!.toString('latin1', 0, 6)).toBe('oldval');
    expect(sms2.buf!.toString('latin1', 0, 6)).toBe('oldval');
    sms2.close();
  });

  test('_TestSharedMemory.test_shared_memory_pickle_unpickle_dead_object', () => {
    const sms = new SharedMemory(null, true, 512);
    sms.buf!.write('pickle');
    const [a, b] = mp.Pipe(false);
    try {
      b.send(sms);
      sms.close();
      sms.unlink();
      expectDeadOnArrival(() => a.recvSync());
    } finally {
      a.close();
      b.close();
    }
  });

  test('_TestSharedMemory.test_shared_memory_across_processes', async () => {
    const sms = new SharedMemory(null, true, 512);
    addCleanup(() => sms.unlink());

    let p = new mp.Process({ target: attachExistingShmemThenWrite, args: [sms.name, 'howdy'] });
    p.daemon = true;
    p.start();
    await joinProcess(p);
    expect(p.exitcode).toBe(0);
    expect(sms.buf!.toString('latin1', 0, 5)).toBe('howdy');

    p = new mp.Process({ target: attachExistingShmemThenWrite, args: [sms, 'HELLO'] });
    p.daemon = true;
    p.start();
    await joinProcess(p);
    expect(p.exitcode).toBe(0);
    expect(sms.buf!.toString('latin1', 0, 5)).toBe('HELLO');

    sms.close();
  });

  test('_TestSharedMemory.test_shared_memory_SharedMemoryManager_reuses_resource_tracker', () => {
    const { status, stderr } = runNode(`
      const { managers } = require('forkful/multiprocessing');
      const smm = new managers.SharedMemoryManager();
      smm.start();
      const sl = smm.ShareableList([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      smm.shutdown();
    `);
    expect(stderr).toBe('');
    expect(status).toBe(0);
  });

  test('_TestSharedMemory.test_shared_memory_SharedMemoryManager_basics', () => {
    const smm1 = new SharedMemoryManager();
    expect(() => smm1.SharedMemory(9)).toThrow(ValueError); // not started
    smm1.start();
    const lol = [5, 6, 7, 8, 9].map((i) => smm1.ShareableList([...Array(i).keys()]));
    const lom = [32, 48, 64, 80, 96, 112].map((j) => smm1.SharedMemory(j));
    const dopplegangerList0 = new ShareableList(null, { name: lol[0].shm.name });
    expect(dopplegangerList0.length).toBe(5);
    const dopplegangerShm0 = new SharedMemory(lom[0].name);
    expect(dopplegangerShm0.buf!.length).toBeGreaterThanOrEqual(32);
    let heldName = lom[0].name;
    smm1.shutdown();
    expect(() => new SharedMemory(heldName)).toThrow(FileNotFoundError);

    {
      using smm2 = new SharedMemoryManager().start();
      const sl = smm2.ShareableList('howdy');
      smm2.SharedMemory(128);
      heldName = sl.shm.name;
    }
    expect(() => new ShareableList(null, { name: heldName })).toThrow(FileNotFoundError);
  });

  test('_TestSharedMemory.test_shared_memory_ShareableList_basics', () => {
    const sl = new ShareableList(['howdy', Buffer.from('HoWdY'), -273.154, 100, null, true, 42]);
    addCleanup(() => sl.shm.unlink());

    expect(String(sl)).toContain(sl.shm.name);
    expect(String(sl)).toContain(`'howdy'`);

    expect(() => sl[7]).toThrow(RangeError);
    expect(() => {
      sl[7] = 2;
    }).toThrow(RangeError);

    // (_get_packing_format(0) is private: the format string says the same.)
    const currentFormat = sl.format;
    sl[0] = 'howdy';
    expect(sl.format).toBe(currentFormat);

    expect(sl.format).toBe('8s8sdqxxxxxx?xxxxxxxx?q');
    expect(sl.length).toBe(7);

    expect(() => sl.index('100')).toThrow(ValueError);
    expect(sl.index(100)).toBe(3);

    expect(sl[0]).toBe('howdy');
    expect(sl[-2]).toBe(true);

    expect([...sl]).toEqual(['howdy', Buffer.from('HoWdY'), -273.154, 100, null, true, 42]);

    sl[3] = 42;
    expect(sl[3]).toBe(42);
    sl[4] = 'some'; // change type at a given position
    expect(sl[4]).toBe('some');
    expect(sl.format).toBe('8s8sdq8sxxxxxxx?q');
    expect(() => {
      sl[4] = 'far too many';
    }).toThrow(/exceeds available storage/);
    expect(sl[4]).toBe('some');
    sl[0] = 'encodés'; // exactly 8 bytes of UTF-8
    expect(sl[0]).toBe('encodés');
    expect(sl[1]).toEqual(Buffer.from('HoWdY')); // no spillage
    expect(() => {
      sl[0] = 'encodées'; // 9 bytes of UTF-8
    }).toThrow(/exceeds available storage/);
    expect(sl[1]).toEqual(Buffer.from('HoWdY'));
    expect(() => {
      sl[1] = Buffer.from('123456789');
    }).toThrow(/exceeds available storage/);
    expect(sl[1]).toEqual(Buffer.from('HoWdY'));

    expect(sl.count(42)).toBe(2);
    expect(sl.count(Buffer.from('HoWdY'))).toBe(1);
    expect(sl.count(Buffer.from('adios'))).toBe(0);

    const nameDuplicate = newShmName('test03_duplicate');
    const slCopy = new ShareableList(sl, { name: nameDuplicate });
    try {
      expect(sl.shm.name).not.toBe(slCopy.shm.name);
      expect(slCopy.shm.name).toBe(nameDuplicate);
      expect([...sl]).toEqual([...slCopy]);
      expect(sl.format).toBe(slCopy.format);
      slCopy[-1] = 77;
      expect(slCopy[-1]).toBe(77);
      expect(sl[-1]).not.toBe(77);
      slCopy.shm.close();
    } finally {
      slCopy.shm.unlink();
    }

    const slTethered = new ShareableList(null, { name: sl.shm.name });
    expect(slTethered.shm.name).toBe(sl.shm.name);
    slTethered[-1] = 880;
    expect(sl[-1]).toBe(880);
    slTethered.shm.close();

    sl.shm.close();

    const emptySl = new ShareableList();
    try {
      expect(emptySl.length).toBe(0);
      expect(emptySl.format).toBe('');
      expect(emptySl.count('any')).toBe(0);
      expect(() => emptySl.index(null)).toThrow(ValueError);
      emptySl.shm.close();
    } finally {
      emptySl.shm.unlink();
    }
  });

  test('_TestSharedMemory.test_shared_memory_ShareableList_pickling', () => {
    const sl = new ShareableList([...Array(10).keys()]);
    addCleanup(() => sl.shm.unlink());

    const deserializedSl = throughPipe(sl);
    expect(deserializedSl).toBeInstanceOf(ShareableList);
    expect(deserializedSl[-1]).toBe(9);
    expect(deserializedSl).not.toBe(sl);

    deserializedSl[4] = 'changed';
    expect(sl[4]).toBe('changed');
    sl[3] = 'newvalue';
    expect(deserializedSl[3]).toBe('newvalue');

    const largerSl = new ShareableList([...Array(400).keys()]);
    addCleanup(() => largerSl.shm.unlink());
    // Both travel as their name: the same size of message.
    expect(serialize(largerSl).length).toBe(serialize(sl).length);
    largerSl.shm.close();

    deserializedSl.shm.close();
    sl.shm.close();
  });

  test('_TestSharedMemory.test_shared_memory_ShareableList_pickling_dead_object', () => {
    const sl = new ShareableList([...Array(10).keys()]);
    const [a, b] = mp.Pipe(false);
    try {
      b.send(sl);
      sl.shm.close();
      sl.shm.unlink();
      expectDeadOnArrival(() => a.recvSync());
    } finally {
      a.close();
      b.close();
    }
  });

  test('_TestSharedMemory.test_shared_memory_untracking', () => {
    // A separate process that attaches with track: false must not unlink
    // the block when it ends.
    const mem = new SharedMemory(null, true, 10);
    try {
      const { status, stderr } = runNode(
        `const { SharedMemory } = require('forkful/multiprocessing');
         const mem = new SharedMemory(process.argv[1], false, 0, { track: false });
         mem.close();`,
        mem.name,
      );
      expect(stderr).not.toContain('resource_tracker');
      expect(status).toBe(0);
      new SharedMemory(mem.name).close();
    } finally {
      try {
        mem.unlink();
      } catch {
        // gone already
      }
      mem.close();
    }
  });

  test('_TestSharedMemory.test_shared_memory_tracking', () => {
    // A separate process that attaches with track: true unlinks the block
    // when it ends, and says so.
    const mem = new SharedMemory(null, true, 10);
    try {
      const { status, stderr } = runNode(
        `const { SharedMemory } = require('forkful/multiprocessing');
         const mem = new SharedMemory(process.argv[1], false, 0, { track: true });
         mem.close();`,
        mem.name,
      );
      expect(status).toBe(0);
      expect(stderr).toContain(
        'resource_tracker: There appear to be 1 leaked shared_memory objects to clean up at shutdown',
      );
    } finally {
      try {
        mem.unlink();
      } catch {
        // gone already: the other process unlinked it
      }
      mem.close();
    }
  });
});
