// forkful/coroutine: greenlets, joinall, sleep, kill, timeouts.
import {
  Greenlet,
  GreenletExit,
  Timeout,
  getcurrent,
  iwait,
  joinall,
  killall,
  sleep,
  spawn,
  spawnLater,
  wait,
  withTimeout,
} from '../../lib/coroutine';
import { ForkfulError, RuntimeError, TimeoutError, ValueError } from '../../lib/core/errors';

/** A promise opened by hand: deterministic ordering without timings. */
function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** Captures what greenlets report on stderr while `fn` runs. */
async function captureStderr(fn: () => Promise<void>): Promise<string> {
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await fn();
    return spy.mock.calls.map((call) => String(call[0])).join('');
  } finally {
    spy.mockRestore();
  }
}

describe('spawn and Greenlet', () => {
  test('starts on the next turn, in spawn order; joinall returns completion order', async () => {
    const started: number[] = [];
    const gates = [0, 1, 2, 3, 4].map(() => gate());
    const greenlets = gates.map((g, i) =>
      spawn(async (n: number) => {
        started.push(n);
        await g.promise;
        return n * 10;
      }, i),
    );
    expect(started).toEqual([]); // not run synchronously
    expect(greenlets.every((g) => g.started && !g.ready())).toBe(true);
    await sleep(0);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    for (const i of [3, 1, 4, 0, 2]) gates[i].open();
    const done = await joinall(greenlets, { timeout: 10 });
    expect(done.map((g) => g.value)).toEqual([30, 10, 40, 0, 20]);
    expect(greenlets.map((g) => g.value)).toEqual([0, 10, 20, 30, 40]);
    expect(await Promise.all(greenlets)).toEqual([0, 10, 20, 30, 40]);
  });

  test('value, exception, ready, successful, dead, get, and await', async () => {
    const ok = spawn((a: number, b: number) => a + b, 2, 3);
    const bad = spawn(async () => {
      await sleep(0);
      throw new ValueError('boom');
    });
    bad.linkException(() => undefined); // observed: no stderr report
    expect(ok.ready()).toBe(false);
    expect(ok.value).toBeUndefined();
    await expect(ok.get({ block: false })).rejects.toBeInstanceOf(Timeout);
    expect(await ok).toBe(5);
    expect([ok.ready(), ok.successful(), ok.dead, ok.value, ok.exception]).toEqual([
      true,
      true,
      true,
      5,
      undefined,
    ]);
    await expect(bad).rejects.toThrow('boom');
    await expect(bad.get()).rejects.toBeInstanceOf(ValueError);
    expect([bad.ready(), bad.successful(), bad.dead, bad.value]).toEqual([
      true,
      false,
      true,
      undefined,
    ]);
    expect(bad.exception).toBeInstanceOf(ValueError);
    await bad.join(); // join never throws the greenlet's exception
  });

  test('this is the greenlet, getcurrent() finds it across awaits, null outside', async () => {
    expect(getcurrent()).toBeNull();
    const seen: unknown[] = [];
    const g = spawn(async function (this: Greenlet<void>) {
      seen.push(this, getcurrent());
      await sleep(0);
      await Promise.resolve();
      seen.push(getcurrent());
    });
    await g;
    expect(seen).toEqual([g, g, g]);
  });

  test('a greenlet that throws does not take the others down, and is reported', async () => {
    const out = await captureStderr(async () => {
      const before = spawn(async () => {
        await sleep(0);
        return 'before';
      });
      const thrower = spawn(function thrower() {
        throw new Error('synchronous failure');
      });
      const rejecter = spawn(async () => {
        await sleep(0);
        throw new Error('asynchronous failure');
      });
      const after = spawn(async () => {
        await sleep(0.01);
        return 'after';
      });
      const done = await joinall([before, thrower, rejecter, after], { timeout: 10 });
      expect(done).toHaveLength(4);
      expect([before.value, after.value]).toEqual(['before', 'after']);
      expect((thrower.exception as Error).message).toBe('synchronous failure');
      expect((rejecter.exception as Error).message).toBe('asynchronous failure');
    });
    expect(out).toContain('synchronous failure');
    expect(out).toContain('asynchronous failure');
    expect(out).toMatch(/<Greenlet "Greenlet-\d+".*> failed with Error/);
  });

  test('link, linkValue, linkException and unlink run after the end, never synchronously', async () => {
    const calls: string[] = [];
    const ok = spawn(() => 'v');
    const bad = spawn(() => {
      throw new Error('x');
    });
    const dropped = (): void => void calls.push('dropped');
    ok.link((g) => calls.push(`link ${g.value}`));
    ok.linkValue(() => calls.push('ok value'));
    ok.linkException(() => calls.push('ok exception'));
    bad.linkValue(() => calls.push('bad value'));
    bad.linkException((g) => calls.push(`bad exception ${(g.exception as Error).message}`));
    ok.link(dropped);
    ok.unlink(dropped);
    await joinall([ok, bad]);
    await sleep(0);
    expect(calls.sort()).toEqual(['bad exception x', 'link v', 'ok value']);
    // Linking a dead greenlet still calls back, asynchronously.
    let late = false;
    ok.link(() => (late = true));
    expect(late).toBe(false);
    await sleep(0);
    expect(late).toBe(true);
  });

  test('spawnLater starts after the delay; killed before that it never runs', async () => {
    let ran = 0;
    const later = spawnLater(0.02, () => ++ran);
    const never = spawnLater(0.02, () => ++ran);
    // Checked before any turn of the loop: after one (a sleep), a loaded
    // machine may already be past the 20 ms, and `later` dead (not started).
    expect(later.started).toBe(true);
    expect(ran).toBe(0);
    await never.kill();
    expect(ran).toBe(0);
    expect(await later).toBe(1);
    await sleep(0.03);
    expect(ran).toBe(1);
    expect(never.value).toBeInstanceOf(GreenletExit);
  });

  test('a greenlet spawned before a sleep has run when the sleep ends, even if its timer came due first', async () => {
    // gevent runs the loop's callbacks (greenlet starts) before its timers.
    // Node runs a timer that is due at the next turn before a setImmediate
    // made in this one's check phase: spawn there, start the sleep, and hold
    // the thread past its 1 ms (as a busy machine may).
    const order = await new Promise<string[]>((resolve, reject) => {
      setImmediate(() => {
        const seen: string[] = [];
        spawn(() => seen.push('greenlet'));
        const slept = sleep(0.001);
        const until = Date.now() + 5;
        while (Date.now() < until); // the sleep is due before the next turn
        slept.then(() => resolve([...seen, 'sleep over']), reject);
      });
    });
    expect(order).toEqual(['greenlet', 'sleep over']);
  });

  test('argument errors are typed', () => {
    expect(() => spawn(42 as never)).toThrow(TypeError);
    expect(() => sleep(-1)).toThrow(ValueError);
    expect(() => sleep(NaN)).toThrow(ValueError);
    expect(() => joinall([1 as never])).toThrow(TypeError);
    expect(() => joinall([], { count: -1 })).toThrow(ValueError);
  });
});

describe('kill and cancellation', () => {
  test('kill interrupts sleep, aborts the signal, and GreenletExit counts as success', async () => {
    let caught: unknown;
    const g = spawn(async function (this: Greenlet<string>) {
      try {
        await sleep(30);
        return 'slept';
      } catch (error) {
        caught = error;
        throw error;
      }
    });
    await sleep(0);
    const signal = g.signal;
    expect(signal.aborted).toBe(false);
    await g.kill({ timeout: 10 });
    expect(g.dead).toBe(true);
    expect(caught).toBeInstanceOf(GreenletExit);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(caught);
    expect(g.successful()).toBe(true);
    expect(g.value).toBe(caught);
    expect(await g).toBe(caught);
  });

  test('kill with a custom exception fails the greenlet with it', async () => {
    class Stop extends Error {}
    const g = spawn(() => sleep(30));
    g.linkException(() => undefined);
    await sleep(0);
    await g.kill({ exception: Stop });
    expect(g.successful()).toBe(false);
    expect(g.exception).toBeInstanceOf(Stop);
    const h = spawn(() => sleep(30));
    h.linkException(() => undefined);
    const instance = new Stop('mine');
    await h.kill({ exception: instance });
    expect(h.exception).toBe(instance);
  });

  test('cancellation is cooperative: a greenlet may clean up and return a value', async () => {
    const g = spawn(async () => {
      try {
        await sleep(30);
      } catch (error) {
        expect(error).toBeInstanceOf(GreenletExit);
        await Promise.resolve(); // later waits fail too, but plain awaits work
        await expect(sleep(0)).rejects.toBeInstanceOf(GreenletExit);
        return 'cleaned up';
      }
      return 'not killed';
    });
    await sleep(0);
    await g.kill();
    expect(g.value).toBe('cleaned up');
  });

  test('a killed greenlet stops waiting in join, joinall and foreign APIs via its signal', async () => {
    const { setTimeout: delay } = await import('node:timers/promises');
    const forever = spawn(() => sleep(30));
    const joiner = spawn(() => forever.join());
    const allJoiner = spawn(() => joinall([forever]));
    const foreign = spawn(async function (this: Greenlet<void>) {
      await delay(30000, undefined, { signal: this.signal });
    });
    foreign.linkException(() => undefined);
    await sleep(0);
    await killall([joiner, allJoiner, foreign], { timeout: 10 });
    expect(joiner.value).toBeInstanceOf(GreenletExit);
    expect(allJoiner.value).toBeInstanceOf(GreenletExit);
    expect((foreign.exception as Error).name).toBe('AbortError');
    expect(forever.ready()).toBe(false);
    await forever.kill();
    expect(forever.dead).toBe(true);
  });

  test('kill before start: the function never runs; block:false returns at once', async () => {
    let ran = false;
    const g = spawn(() => {
      ran = true;
    });
    await g.kill({ block: false });
    expect(g.dead).toBe(true);
    await sleep(0);
    expect(ran).toBe(false);
    expect(g.value).toBeInstanceOf(GreenletExit);
    // A greenlet that ignores its signal keeps running; kill({timeout}) stops waiting.
    const stubborn = spawn(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return 'done anyway';
    });
    await sleep(0);
    await stubborn.kill({ timeout: 0.001 });
    expect(stubborn.ready()).toBe(false);
    expect(await stubborn).toBe('done anyway');
  });

  test('a greenlet may kill itself', async () => {
    const g = spawn(async () => {
      await getcurrent()!.kill();
      return 'unreachable';
    });
    expect(await g).toBeInstanceOf(GreenletExit);
  });
});

describe('joinall, wait, iwait', () => {
  test('count returns after that many, in completion order', async () => {
    const gates = [0, 1, 2, 3].map(() => gate());
    const greenlets = gates.map((g, i) => spawn(() => g.promise.then(() => i)));
    await sleep(0);
    gates[2].open();
    gates[0].open();
    const done = await joinall(greenlets, { count: 2, timeout: 10 });
    expect(done.map((g) => g.value)).toEqual([2, 0]);
    expect(greenlets[1].ready()).toBe(false);
    gates[1].open();
    gates[3].open();
    expect((await wait(greenlets)).length).toBe(4);
  });

  test('timeout returns the greenlets done so far', async () => {
    const quick = spawn(() => 'quick');
    const slow = spawn(() => sleep(30));
    const done = await joinall([quick, slow], { timeout: 0.02 });
    expect(done).toEqual([quick]);
    expect(slow.ready()).toBe(false);
    await slow.kill();
  });

  test('raiseError rejects with the first failure while others still run', async () => {
    const slow = spawn(() => sleep(30));
    const failing = spawn(async () => {
      await sleep(0);
      throw new RuntimeError('first failure');
    });
    await expect(joinall([slow, failing], { raiseError: true, timeout: 10 })).rejects.toThrow(
      'first failure',
    );
    expect(slow.ready()).toBe(false);
    await slow.kill();
    // Without raiseError the failure is only recorded.
    const done = await joinall([failing]);
    expect(done[0].exception).toBeInstanceOf(RuntimeError);
  });

  test('iwait yields greenlets (not values) as they finish', async () => {
    const gates = [0, 1, 2].map(() => gate());
    const greenlets = gates.map((g, i) => spawn(() => g.promise.then(() => i)));
    const order: number[] = [];
    gates[1].open();
    let opened = 1;
    for await (const item of iwait(greenlets, { timeout: 10 })) {
      const g = item as unknown as Greenlet<number>; // see iwait's note on typing
      expect(g).toBeInstanceOf(Greenlet);
      order.push(g.value as number);
      if (opened === 1) gates[2].open();
      if (opened === 2) gates[0].open();
      opened += 1;
    }
    expect(order).toEqual([1, 2, 0]);
  });
});

describe('Timeout and withTimeout', () => {
  test('withTimeout rejects with a typed Timeout and aborts the block', async () => {
    let inner: unknown;
    let seenSignal: AbortSignal | undefined;
    const error = await withTimeout(async (signal) => {
      seenSignal = signal;
      try {
        await sleep(30);
      } catch (e) {
        inner = e;
      }
    }, 0.02).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Timeout);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toBeInstanceOf(ForkfulError);
    expect((error as Timeout).seconds).toBe(0.02);
    expect((error as Error).message).toBe('timed out after 0.02 seconds');
    await sleep(0);
    expect(inner).toBe(error);
    expect(seenSignal!.aborted).toBe(true);
  });

  test('withTimeout gives the value in time, timeoutValue on expiry, a custom exception', async () => {
    expect(await withTimeout(() => 'fast', 10)).toBe('fast');
    expect(await withTimeout(() => sleep(30), 0.01, { timeoutValue: 'late' })).toBe('late');
    class Slow extends Error {}
    await expect(withTimeout(() => sleep(30), 0.01, { exception: Slow })).rejects.toBeInstanceOf(
      Slow,
    );
    expect(() => withTimeout(() => 'x', -1)).toThrow(ValueError);
  });

  test('a greenlet killed inside withTimeout ends the block with GreenletExit', async () => {
    const g = spawn(() => withTimeout(() => new Promise(() => undefined), 30));
    await sleep(0);
    await g.kill({ timeout: 10 });
    expect(g.value).toBeInstanceOf(GreenletExit);
  });

  test('Timeout.startNew in a greenlet fails its next wait; cancel() disarms it', async () => {
    const g = spawn(async () => {
      const events: string[] = [];
      const t = Timeout.startNew(0.01);
      expect(t.pending).toBe(true);
      try {
        await sleep(30);
      } catch (error) {
        events.push(error === t ? 'timed out' : `other ${String(error)}`);
      } finally {
        t.cancel();
      }
      expect(t.pending).toBe(false);
      await sleep(0.02); // the greenlet goes on normally afterwards
      const t2 = Timeout.startNew(30);
      await sleep(0);
      t2.cancel();
      events.push('after');
      return events;
    });
    expect(await g).toEqual(['timed out', 'after']);
  });

  test('a Timeout left armed is disarmed when its greenlet ends (no stray timer)', async () => {
    let t: Timeout | undefined;
    const g = spawn(() => {
      t = Timeout.startNew(30);
    });
    await g;
    expect(t!.pending).toBe(false);
  });

  test('get({ timeout }) and a timed-out Pool.map', async () => {
    const slow = spawn(() => sleep(30));
    await expect(slow.get({ timeout: 0.01 })).rejects.toBeInstanceOf(Timeout);
    await slow.kill();
    const { Pool } = await import('../../lib/coroutine');
    const pool = new Pool(2);
    const killed: number[] = [];
    const task = async (n: number): Promise<void> => {
      try {
        await sleep(30);
      } catch (error) {
        if (error instanceof GreenletExit) killed.push(n);
        throw error;
      }
    };
    await expect(withTimeout(() => pool.map(task, [1, 2, 3]), 0.02)).rejects.toBeInstanceOf(
      Timeout,
    );
    expect(await pool.join({ timeout: 10 })).toBe(true);
    expect(killed.sort()).toEqual([1, 2]);
  });

  test('Timeout.start outside a greenlet is a RuntimeError that says what to do', () => {
    expect(() => new Timeout(1).start()).toThrow(RuntimeError);
    expect(() => new Timeout(1).start()).toThrow(/withTimeout/);
  });
});
