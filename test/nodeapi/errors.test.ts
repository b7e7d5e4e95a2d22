// Every typed error has a stable code and keeps its cause; the same mistake
// (a NaN timeout) is the same class in every call that takes a timeout.
import * as errors from '../../lib/core/errors';
import { Connection, Listener, Pipe, Process, Queue, ClientSync } from '../../lib/multiprocessing';
import { Barrier, Event, Lock, RLock, Semaphore } from '../../lib/synchronize';
import { Timer } from '../../lib/threading';
import { joinall, Pool as GreenletPool, sleep, withTimeout } from '../../lib/coroutine';
import { fork } from '../../lib/os';
import { Value, setStartMethod } from '../../lib/multiprocessing';
import { Thread as ForkfulThread } from '../../lib/threading';

type ErrorClass = new (message?: string, options?: { cause?: unknown }) => Error;
const classes = Object.entries(errors as unknown as Record<string, ErrorClass>).filter(
  ([, Cls]) => typeof Cls === 'function' && Cls.prototype instanceof Error,
);

test('every error class has a stable code of its own', () => {
  expect(classes.length).toBeGreaterThan(15);
  const seen = new Map<string, string>();
  for (const [name, Cls] of classes) {
    const err = new Cls('m') as Error & { code?: unknown };
    expect(typeof err.code).toBe('string');
    // An OSError's code is errno's name: its subclasses (FileExistsError,
    // FileNotFoundError) are named after one errno each, as in Python.
    const osError = err instanceof errors.OSError;
    expect(err.code).toMatch(
      osError ? /^(UNKNOWN|E[A-Z0-9]+)$/ : /^(ERR_FORKFUL(_[A-Z]+)*|ABORT_ERR|UNKNOWN)$/,
    );
    if (name !== 'OSError') {
      expect(seen.get(err.code as string)).toBeUndefined();
      seen.set(err.code as string, name);
    }
  }
  expect(new errors.AbortError('x')).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
  expect(new errors.ValueError('x').code).toBe('ERR_FORKFUL_VALUE');
  expect(new errors.BrokenPoolError('x').code).toBe('ERR_FORKFUL_BROKEN_POOL');
  expect(new errors.FileExistsError('x')).toMatchObject({ code: 'EEXIST' });
  expect(new errors.FileNotFoundError('x')).toBeInstanceOf(errors.OSError);
});

test('every error class keeps its cause', () => {
  const cause = new Error('root');
  for (const [, Cls] of classes) {
    expect(new Cls('m', { cause }).cause).toBe(cause);
  }
});

describe('a NaN timeout is a ValueError everywhere', () => {
  const cases: Array<[string, () => unknown]> = [
    ['Process.join', () => new Process().join(NaN)],
    ['Process.joinSync', () => new Process().joinSync(NaN)],
    ['Event.wait', () => new Event().wait(NaN)],
    ['Event.waitAsync', () => new Event().waitAsync(NaN)],
    ['Barrier.wait', () => new Barrier(2).wait(NaN)],
    ['Lock.acquire', () => new Lock().acquire(true, NaN)],
    ['RLock.acquireAsync', () => new RLock().acquireAsync({ timeout: NaN })],
    ['Semaphore.acquire', () => new Semaphore(0).acquire({ timeout: NaN })],
    ['Queue.get', () => new Queue().get({ timeout: NaN })],
    ['Queue.putSync', () => new Queue().putSync(1, { timeout: NaN })],
    ['Connection.poll', () => Pipe()[0].poll(NaN)],
    ['Connection.pollAsync', () => (Pipe()[0] as Connection).pollAsync(NaN)],
    ['Timer', () => new Timer(NaN, () => {})],
    ['coroutine sleep', () => sleep(NaN)],
  ];
  test.each(cases)('%s', async (_what, call) => {
    let error: unknown = null;
    try {
      await call();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(errors.ValueError);
  });
});

describe('an unknown option name is a TypeError everywhere options are taken', () => {
  const cases: Array<[string, () => unknown]> = [
    ['Process', () => new Process({ targt: () => 1 } as never)],
    ['Thread', () => new ForkfulThread({ nam: 'x' } as never)],
    ['setStartMethod', () => setStartMethod('fork', { forse: true } as never)],
    ['Value', () => Value('i', 0, { lok: true } as never)],
    ['Barrier', () => new Barrier(2, { actoin: null } as never)],
    ['Lock.acquire', () => new Lock().acquire({ timout: 1 } as never)],
    ['Event.waitAsync', () => new Event().waitAsync(1, { sigal: null } as never)],
    ['Queue.get', () => new Queue().get({ blok: false } as never)],
    ['Connection', () => new Connection(0, { exct: true } as never)],
    ['Listener', () => new Listener({ authKey: 'k' } as never)],
    ['ClientSync', () => ClientSync('/nowhere', { authKey: 'k' } as never)],
    ['os.fork', () => fork({ isolat: true } as never)],
    ['joinall', () => joinall([], { timout: 1 } as never)],
    ['coroutine Pool.join', () => new GreenletPool().join({ timout: 1 } as never)],
    ['withTimeout', () => withTimeout(() => 1, 1, { timeoutVal: 1 } as never)],
  ];
  test.each(cases)('%s', async (_what, call) => {
    let error: unknown = null;
    try {
      await call();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ code: 'ERR_FORKFUL_UNKNOWN_OPTION' });
  });
});
