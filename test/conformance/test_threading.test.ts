// Port of CPython's Lib/test/test_threading.py (ThreadTests,
// ThreadJoinOnShutdown, ThreadingExceptionTests, ExceptHookTests,
// TimerTests) to forkful/threading. Its LockTests, RLockTests, ... are the
// lock_tests.py classes: see lock_tests.test.ts.
//
// Documented differences ported to forkful's form: a target is a
// self-contained function (no subclass run()), a thread joins only the
// threads it started, enumerate() lists the calling thread's view, fork()
// only from the main thread (ForkError), process.exit() is os._exit, the old
// spellings (getName, isDaemon...) do not warn. Cases that need a process of
// their own run test/fixtures/conformance/threading.js.
import { Worker } from 'node:worker_threads';
import {
  BoundedSemaphore,
  ExceptHookArgs,
  Lock,
  RLock,
  Thread,
  Timer,
  __excepthook__,
  activeCount,
  currentThread,
  enumerate,
  excepthook,
  getIdent,
  getNativeId,
  mainThread,
  setExcepthook,
  stackSize,
} from '../../lib/threading';
import { Condition, Event } from '../../lib/threading';
import { ForkError, RuntimeError, ValueError } from '../../lib/core/errors';
import { runFixture } from '../helpers/fixture';
import { needsFork } from '../helpers/needs';
import { captureExcepthook, expectNoStrays, sleep, waitUntil } from './helpers/common';

jest.setTimeout(60000);

afterEach(() => expectNoStrays());

function fixture(name: string, timeoutMs = 30000) {
  return runFixture('conformance/threading.js', [name], { timeoutMs });
}

/** Captures what is written to process.stderr while `fn` runs. */
async function capturedStderr(fn: () => Promise<void> | void): Promise<string> {
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation(((chunk: unknown) => {
    chunks.push(String(chunk));
    return true;
  }) as typeof process.stderr.write);
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  return chunks.join('');
}

// A thread target that raises ValueError("run failed") (ThreadRunFail).
function threadRunFail(): void {
  const { ValueError: VE } = require('forkful');
  throw new VE('run failed');
}

describe('ThreadTests', () => {
  test('ThreadTests.test_name', () => {
    function func() {}
    expect(new Thread({ name: 'myname1' }).name).toBe('myname1');
    expect(new Thread({ name: 123 as unknown as string }).name).toBe('123');
    expect(new Thread({ target: func, name: 'myname2' }).name).toBe('myname2');
    expect(new Thread({ name: '' }).name).toMatch(/^Thread-\d+$/);
    expect(new Thread().name).toMatch(/^Thread-\d+$/);
    expect(new Thread({ target: func }).name).toMatch(/^Thread-\d+ \(func\)$/);
  });

  test('ThreadTests.test_args_argument', async () => {
    const cases: Array<[unknown[], unknown]> = [
      [[1], 1],
      [['str'], 'str'],
      [[[1]], [1]],
    ];
    const hook = captureExcepthook();
    try {
      for (const [args, expected] of cases) {
        const t = new Thread({
          target: (arg: unknown, exp: unknown) => require('node:assert').deepStrictEqual(arg, exp),
          args: [...args, expected],
        });
        t.start();
        await t.join();
      }
    } finally {
      hook.restore();
    }
    expect(hook.seen).toEqual([]);
  });

  async function variousOps(): Promise<void> {
    const NUMTASKS = 10;
    const sema = new BoundedSemaphore(3);
    const mutex = new RLock();
    const numrunning = new Int32Array(new SharedArrayBuffer(8)); // [running, max seen]
    const threads: Thread[] = [];
    const hook = captureExcepthook();
    try {
      for (let i = 0; i < NUMTASKS; i++) {
        const t = new Thread({
          name: `<thread ${i}>`,
          target: (sem: BoundedSemaphore, mtx: RLock, n: Int32Array) => {
            const assert = require('node:assert');
            const delay = Math.random() / 10000;
            sem.withLock(() => {
              mtx.withLock(() => {
                n[0]++;
                n[1] = Math.max(n[1], n[0]);
                assert.ok(n[0] <= 3);
              });
              Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delay * 1000);
              mtx.withLock(() => {
                n[0]--;
                assert.ok(n[0] >= 0);
              });
            });
          },
          args: [sema, mutex, numrunning],
        });
        threads.push(t);
        expect(t.ident).toBeNull();
        expect(String(t)).toMatch(/^<Thread\(.*, initial\)>$/);
        t.start();
      }
      const nativeIds = new Set([...threads.map((t) => t.nativeId), getNativeId()]);
      expect(nativeIds.has(null)).toBe(false);
      expect(nativeIds.size).toBe(NUMTASKS + 1);
      for (const t of threads) {
        await t.join();
        expect(t.isAlive()).toBe(false);
        expect(t.ident).not.toBe(0);
        expect(t.ident).not.toBeNull();
        expect(String(t)).toMatch(/^<Thread\(.*, stopped -?\d+\)>$/);
      }
    } finally {
      hook.restore();
      for (const t of threads) if (t.isAlive()) await t.join(10);
    }
    expect(hook.seen).toEqual([]);
    expect(numrunning[0]).toBe(0);
  }

  test('ThreadTests.test_various_ops', () => variousOps());

  test('ThreadTests.test_ident_of_no_threading_threads', async () => {
    expect(currentThread().ident).not.toBeNull();
    // _thread.start_new_thread: a Worker forkful did not start.
    const w = new Worker(
      `const { parentPort } = require('node:worker_threads');
       parentPort.postMessage(require(${JSON.stringify(require.resolve('../../dist/threading'))}).currentThread().ident);`,
      { eval: true },
    );
    const ident = await new Promise((resolve) => w.once('message', resolve));
    expect(ident).toBe(w.threadId);
    await w.terminate();
  });

  test('ThreadTests.test_various_ops_small_stack', async () => {
    stackSize(262144);
    try {
      // Python's start() returns once the thread runs: one thread first, so
      // that a thread that cannot run fails here at once (its nativeId would
      // otherwise be waited for, 10 s per thread).
      const hook = captureExcepthook();
      try {
        const probe = new Thread({ target: () => {} });
        probe.start();
        await probe.join(10);
      } finally {
        hook.restore();
      }
      expect(hook.seen.map((s) => String(s.excValue))).toEqual([]);
      await variousOps();
    } finally {
      stackSize(0);
    }
  });

  test('ThreadTests.test_various_ops_large_stack', async () => {
    stackSize(0x100000);
    try {
      await variousOps();
    } finally {
      stackSize(0);
    }
  });

  test('ThreadTests.test_foreign_thread', async () => {
    // A thread forkful did not start sees itself as a dummy thread, alive,
    // that cannot be joined. (Python passes the dummy Thread object back to
    // the main thread; a Thread object cannot leave its isolate.)
    const w = new Worker(
      `const { parentPort, threadId } = require('node:worker_threads');
       const t = require(${JSON.stringify(require.resolve('../../dist/threading'))}).currentThread();
       t.join().then(() => 'joined', (e) => e.name).then((joinError) =>
         parentPort.postMessage({ ident: t.ident, threadId, alive: t.isAlive(), repr: String(t),
           same: t === require(${JSON.stringify(require.resolve('../../dist/threading'))}).currentThread(),
           joinError }));`,
      { eval: true },
    );
    const got = (await new Promise((resolve) => w.once('message', resolve))) as Record<
      string,
      unknown
    >;
    await w.terminate();
    expect(got.ident).toBe(got.threadId);
    expect(got.alive).toBe(true);
    expect(got.repr).toMatch(/Dummy/);
    expect(got.same).toBe(true);
    expect(got.joinError).toBe('RuntimeError');
  });

  test('ThreadTests.test_join_nondaemon_on_shutdown', () => {
    const r = fixture('join_nondaemon_on_shutdown');
    expect(r.stdout.trim()).toBe('Woke up, sleep function is: function');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test('ThreadTests.test_enumerate_after_join', async () => {
    // Python varies the GIL's switch interval over 99 rounds; 20 rounds here.
    for (let i = 1; i < 21; i++) {
      const t = new Thread({ target: () => {} });
      t.start();
      await t.join();
      expect(enumerate()).not.toContain(t);
    }
  });

  test('ThreadTests.test_join_from_multiple_threads', async () => {
    // Documented difference: only the thread that started a Thread joins it
    // (a Thread object cannot travel); many joins of it at once all return.
    for (let N = 2; N < 20; N++) {
      const worker = new Thread({
        target: () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5),
      });
      worker.start();
      const joins = Array.from({ length: N }, () => worker.join());
      await sleep(0.01);
      await Promise.all(joins);
      expect(worker.isAlive()).toBe(false);
    }
  });

  test('ThreadTests.test_join_with_timeout', async () => {
    const lock = new Lock();
    lock.acquire();
    const thread = new Thread({ target: (l: Lock) => l.acquire(), args: [lock] });
    thread.start();
    await thread.join(0.01);
    expect(thread.isAlive()).toBe(true);
    lock.release();
    await thread.join();
    expect(thread.isAlive()).toBe(false);
  });

  test('ThreadTests.test_old_threading_api', () => {
    // Documented: the old spellings exist for ported code, without warnings.
    const t = new Thread();
    expect(t.isDaemon()).toBe(false);
    t.setDaemon(true);
    expect(t.daemon).toBe(true);
    expect(t.getName()).toBe(t.name);
    t.setName('name');
    expect(t.name).toBe('name');
    const e = new Event();
    expect(e.isSet()).toBe(false);
    const cond = new Condition();
    cond.acquire();
    cond.notifyAll();
    cond.release();
    expect(activeCount()).toBe(1);
    expect(currentThread()).toBe(mainThread());
  });

  test('ThreadTests.test_repr_daemon', () => {
    const t = new Thread();
    expect(String(t)).not.toContain('daemon');
    t.daemon = true;
    expect(String(t)).toContain('daemon');
  });

  test('ThreadTests.test_daemon_param', () => {
    expect(new Thread().daemon).toBe(false);
    expect(new Thread({ daemon: false }).daemon).toBe(false);
    expect(new Thread({ daemon: true }).daemon).toBe(true);
  });

  needsFork.test('ThreadTests.test_dummy_thread_after_fork', () => {
    const r = fixture('dummy_thread_after_fork');
    expect(r.stderr).not.toMatch(/FIXTURE ERROR|AssertionError/);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  });

  needsFork.test('ThreadTests.test_is_alive_after_fork', () => {
    const r = fixture('is_alive_after_fork');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test('ThreadTests.test_main_thread', async () => {
    const main = mainThread();
    expect(main.name).toBe('MainThread');
    expect(main.ident).toBe(currentThread().ident);
    expect(main.ident).toBe(getIdent());
    const hook = captureExcepthook();
    try {
      const th = new Thread({
        target: () => {
          const threading = require('forkful/threading');
          require('node:assert').notStrictEqual(
            threading.mainThread().ident,
            threading.currentThread().ident,
          );
        },
      });
      th.start();
      await th.join();
    } finally {
      hook.restore();
    }
    expect(hook.seen).toEqual([]);
  });

  needsFork.test('ThreadTests.test_main_thread_after_fork', () => {
    const r = fixture('main_thread_after_fork');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      'current ident True\nmain MainThread\nmain ident True\ncurrent is main True\n',
    );
  });

  // Documented difference: only the main thread forks (ForkError elsewhere).
  needsFork.test('ThreadTests.test_main_thread_after_fork_from_nonmain_thread', async () => {
    const out = new Int32Array(new SharedArrayBuffer(4));
    const th = new Thread({
      target: (o: Int32Array) => {
        const { ForkError: FE } = require('forkful');
        try {
          require('forkful/os').fork();
        } catch (err) {
          if (err instanceof FE) o[0] = 1;
        }
      },
      args: [out],
    });
    th.start();
    await th.join();
    expect(out[0]).toBe(1);
  });

  async function forkFromForeignThread(createDummy: boolean): Promise<string> {
    const w = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const threading = require(${JSON.stringify(require.resolve('../../dist/threading'))});
       if (${createDummy}) threading.currentThread();
       try { require(${JSON.stringify(require.resolve('../../dist/os'))}).fork(); parentPort.postMessage('forked'); }
       catch (err) { parentPort.postMessage(err.name); }`,
      { eval: true },
    );
    const got = (await new Promise((resolve) => w.once('message', resolve))) as string;
    await w.terminate();
    return got;
  }

  needsFork.test('ThreadTests.test_main_thread_after_fork_from_foreign_thread', async () => {
    expect(await forkFromForeignThread(false)).toBe(ForkError.name);
  });

  needsFork.test('ThreadTests.test_main_thread_after_fork_from_dummy_thread', async () => {
    expect(await forkFromForeignThread(true)).toBe(ForkError.name);
  });

  test('ThreadTests.test_main_thread_during_shutdown', () => {
    const r = fixture('main_thread_during_shutdown');
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(Array(2).fill('GC: True True True'));
  });

  test('ThreadTests.test_repr_stopped', async () => {
    const started = new Lock();
    const finish = new Lock();
    started.acquire();
    finish.acquire();
    const t = new Thread({
      target: (s: Lock, f: Lock) => {
        s.release();
        f.acquire();
      },
      args: [started, finish],
    });
    t.start();
    started.acquire();
    expect(String(t)).toContain('started');
    finish.release();
    await waitUntil(() => String(t).includes('stopped'), 5);
    expect(String(t)).toContain('stopped');
    await t.join();
  });

  test('ThreadTests.test_BoundedSemaphore_limit', async () => {
    for (let limit = 1; limit < 10; limit++) {
      const bs = new BoundedSemaphore(limit);
      let threads = Array.from(
        { length: limit },
        () => new Thread({ target: (s: BoundedSemaphore) => s.acquire(), args: [bs] }),
      );
      for (const t of threads) t.start();
      for (const t of threads) await t.join();
      threads = Array.from(
        { length: limit },
        () => new Thread({ target: (s: BoundedSemaphore) => s.release(), args: [bs] }),
      );
      for (const t of threads) t.start();
      for (const t of threads) await t.join();
      expect(() => bs.release()).toThrow(ValueError);
    }
  });

  test('ThreadTests.test_locals_at_exit', () => {
    const r = fixture('locals_at_exit');
    expect(r.stdout.trimEnd()).toBe("thread_dict.atexit = 'value'");
  });

  test('ThreadTests.test_leak_without_join', async () => {
    const t = new Thread({ target: () => {} });
    t.start();
    // threading_helper.wait_threads_exit: the thread ends without join().
    expect(await waitUntil(() => !t.isAlive() && !enumerate().includes(t), 10)).toBe(true);
    await t.join();
  });

  test('ThreadTests.test_import_from_another_thread', () => {
    const r = fixture('import_from_another_thread');
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  // Thread.start() in an 'exit' listener raises RuntimeError (the thread
  // would never run), as Python's at interpreter shutdown.
  test('ThreadTests.test_start_new_thread_at_finalization', () => {
    const r = fixture('start_new_thread_at_finalization');
    expect(r.stdout.trim()).toBe('OK');
    expect(r.stderr).toContain("can't create new thread at interpreter shutdown");
  });
});

describe('ThreadJoinOnShutdown', () => {
  test('ThreadJoinOnShutdown.test_1_join_on_shutdown', () => {
    const r = fixture('join_on_shutdown_1');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('end of main\nend of thread\n');
  });

  needsFork.test('ThreadJoinOnShutdown.test_2_join_in_forked_process', () => {
    const r = fixture('join_on_shutdown_2');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('end of main\nend of thread\n');
  });

  // Documented difference: only the main thread forks.
  needsFork.test('ThreadJoinOnShutdown.test_3_join_in_forked_from_thread', async () => {
    const out = new Int32Array(new SharedArrayBuffer(4));
    const w = new Thread({
      target: (o: Int32Array) => {
        try {
          require('forkful/os').fork();
        } catch (err) {
          o[0] = (err as Error).name === 'ForkError' ? 1 : 2;
        }
      },
      args: [out],
    });
    w.start();
    await w.join();
    expect(out[0]).toBe(1);
  });

  test('ThreadJoinOnShutdown.test_4_daemon_threads', () => {
    const r = fixture('daemon_threads_4', 60000);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test('ThreadJoinOnShutdown.test_thread_from_thread', () => {
    const r = fixture('thread_from_thread');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('OK');
    expect(r.status).toBe(0);
  });

  // Documented difference: only the main thread forks, so 16 threads that
  // each try fork() all get ForkError.
  needsFork.test('ThreadJoinOnShutdown.test_reinit_tls_after_fork', async () => {
    const out = new Int32Array(new SharedArrayBuffer(4));
    const threads = Array.from(
      { length: 16 },
      () =>
        new Thread({
          target: (o: Int32Array) => {
            try {
              require('forkful/os').fork();
            } catch (err) {
              if ((err as Error).name === 'ForkError') Atomics.add(o, 0, 1);
            }
          },
          args: [out],
        }),
    );
    for (const t of threads) t.start();
    for (const t of threads) await t.join();
    expect(out[0]).toBe(16);
  });

  needsFork.test('ThreadJoinOnShutdown.test_clear_threads_states_after_fork', () => {
    const r = fixture('clear_threads_states_after_fork');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('ThreadingExceptionTests', () => {
  test('ThreadingExceptionTests.test_start_thread_again', async () => {
    const thread = new Thread();
    thread.start();
    expect(() => thread.start()).toThrow(RuntimeError);
    await thread.join();
  });

  test('ThreadingExceptionTests.test_joining_current_thread', async () => {
    const current = currentThread();
    await expect(current.join()).rejects.toThrow(RuntimeError);
    expect(() => current.joinSync()).toThrow(RuntimeError);
  });

  test('ThreadingExceptionTests.test_joining_inactive_thread', async () => {
    const thread = new Thread();
    await expect(thread.join()).rejects.toThrow(RuntimeError);
  });

  test('ThreadingExceptionTests.test_daemonize_active_thread', async () => {
    const thread = new Thread();
    thread.start();
    expect(() => {
      thread.daemon = true;
    }).toThrow(RuntimeError);
    await thread.join();
  });

  test('ThreadingExceptionTests.test_releasing_unacquired_lock', () => {
    expect(() => new Lock().release()).toThrow(RuntimeError);
  });

  test('ThreadingExceptionTests.test_recursion_limit', async () => {
    const out = new Int32Array(new SharedArrayBuffer(4));
    const hook = captureExcepthook();
    try {
      const w = new Thread({
        target: (o: Int32Array) => {
          const recurse = (): number => recurse() + 1;
          try {
            recurse();
          } catch (err) {
            if (err instanceof RangeError) o[0] = 1;
          }
        },
        args: [out],
      });
      w.start();
      await w.join();
    } finally {
      hook.restore();
    }
    expect(hook.seen).toEqual([]);
    expect(out[0]).toBe(1);
  });

  test('ThreadingExceptionTests.test_print_exception', async () => {
    const previous = setExcepthook(null);
    try {
      const err = await capturedStderr(async () => {
        const t = new Thread({
          target: () => {
            throw new RangeError('division by zero');
          },
        });
        t.start();
        await t.join();
      });
      expect(err).toContain('Exception in thread');
      expect(err).toMatch(/\n\s+at /); // the traceback
      expect(err).toContain('RangeError: division by zero');
      expect(err).not.toContain('Unhandled exception');
    } finally {
      setExcepthook(previous);
    }
  });

  test('ThreadingExceptionTests.test_multithread_modify_file_noerror', async () => {
    const file = `${require('node:os').tmpdir()}/forkful-conformance-${process.pid}`;
    const hook = captureExcepthook();
    try {
      for (let i = 0; i < 100; i++) {
        const t = new Thread({
          target: (f: string) => {
            require('node:fs').writeFileSync(f, ' ');
            void new Error().stack;
          },
          args: [file],
        });
        t.start();
        await t.join();
      }
    } finally {
      hook.restore();
      require('node:fs').rmSync(file, { force: true });
    }
    expect(hook.seen).toEqual([]);
  });
});

describe('ExceptHookTests', () => {
  let previous: typeof excepthook;
  beforeEach(() => {
    previous = setExcepthook(null);
  });
  afterEach(() => {
    setExcepthook(previous);
  });

  test('ExceptHookTests.test_excepthook', async () => {
    const thread = new Thread({ name: 'excepthook thread', target: threadRunFail });
    const stderr = await capturedStderr(async () => {
      thread.start();
      await thread.join();
    });
    expect(stderr).toContain(`Exception in thread ${thread.name}:\n`);
    expect(stderr).toMatch(/\n\s+at threadRunFail/);
    expect(stderr).toContain('ValueError: run failed');
  });

  test('ExceptHookTests.test_excepthook_thread_None', async () => {
    const stderr = await capturedStderr(() => {
      try {
        throw new ValueError('bug');
      } catch (exc) {
        excepthook({
          excType: ValueError,
          excValue: exc,
          excTraceback: (exc as Error).stack ?? null,
          thread: null,
        });
      }
    });
    expect(stderr).toContain(`Exception in thread ${getIdent()}:\n`);
    expect(stderr).toMatch(/\n\s+at /);
    expect(stderr).toContain('ValueError: bug');
  });

  test('ExceptHookTests.test_system_exit', async () => {
    // process.exit() in a thread ends that thread only, silently.
    const stderr = await capturedStderr(async () => {
      const thread = new Thread({ target: () => process.exit(1) });
      thread.start();
      await thread.join();
    });
    expect(stderr).toBe('');
  });

  test('ExceptHookTests.test_custom_excepthook', async () => {
    let args: ExceptHookArgs | null = null;
    setExcepthook((hookArgs) => {
      args = hookArgs;
    });
    const thread = new Thread({ target: threadRunFail });
    thread.start();
    await thread.join();
    const got = args as unknown as ExceptHookArgs;
    expect(got.excType).toBe(ValueError);
    expect(String((got.excValue as Error).message)).toBe('run failed');
    expect(got.excTraceback).toBe((got.excValue as Error).stack);
    expect(got.thread).toBe(thread);
  });

  test('ExceptHookTests.test_custom_excepthook_fail', async () => {
    setExcepthook(() => {
      throw new ValueError('threading_hook failed');
    });
    const stderr = await capturedStderr(async () => {
      const thread = new Thread({ target: threadRunFail });
      thread.start();
      await thread.join();
    });
    // Python hands the hook's failure to sys.excepthook; forkful prints it
    // with the default hook.
    expect(stderr.startsWith('Exception in threading.excepthook:\n')).toBe(true);
    expect(stderr).toContain('threading_hook failed');
  });

  test('ExceptHookTests.test_original_excepthook', async () => {
    const runThread = () =>
      capturedStderr(async () => {
        const thread = new Thread({ name: 'excepthook thread', target: threadRunFail });
        thread.start();
        await thread.join();
      });
    const normalize = (s: string) => s.replace(/:\d+:\d+\)/g, ':L:C)');
    const defaultOutput = await runThread();
    setExcepthook(() => process.stderr.write('Running a thread failed\n'));
    const customHookOutput = await runThread();
    setExcepthook(__excepthook__);
    const recoveredOutput = await runThread();
    expect(normalize(recoveredOutput)).toBe(normalize(defaultOutput));
    expect(customHookOutput).not.toBe(defaultOutput);
    expect(customHookOutput).toBe('Running a thread failed\n');
  });
});

describe('TimerTests', () => {
  test('TimerTests.test_init_immutable_default_args', async () => {
    const calls = new Int32Array(new SharedArrayBuffer(16));
    const spy = (c: Int32Array, ...rest: unknown[]) => {
      const i = Atomics.add(c, 0, 1);
      c[1 + i] = rest.length;
    };
    const timer1 = new Timer(0.01, spy, [calls]);
    timer1.start();
    await timer1.join();
    const timer2 = new Timer(0.01, spy, [calls]);
    timer2.start();
    await timer2.join();
    expect(Array.from(calls.subarray(0, 3))).toEqual([2, 0, 0]);
  });
});
