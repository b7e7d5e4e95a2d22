// The lifecycle's phases (lib/runtime/lifecycle.ts), run directly: this
// file loads no other forkful module, so only its own hooks are registered.
import {
  afterFork,
  atExit,
  beforeChildExit,
  lifecycleHooks,
  runAfterFork,
  runBeforeChildExit,
} from '../../lib/runtime/lifecycle';

function captureStderr(body: () => unknown): Promise<string> {
  const write = process.stderr.write;
  let text = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  return Promise.resolve()
    .then(body)
    .then(
      () => text,
      (err) => Promise.reject(err),
    )
    .finally(() => {
      process.stderr.write = write;
    });
}

test('afterFork hooks run by order, then registration; a failing one is reported and the rest run', async () => {
  const ran: string[] = [];
  afterFork('late', 20, () => ran.push('late'));
  afterFork('early', 0, () => ran.push('early'));
  afterFork('broken', 10, () => {
    throw new Error('boom');
  });
  afterFork('second at 10', 10, () => ran.push('second at 10'));
  const stderr = await captureStderr(() => runAfterFork());
  expect(ran).toEqual(['early', 'second at 10', 'late']);
  expect(stderr).toMatch(/the afterFork hook broken failed: Error: boom/);
});

test('beforeChildExit hooks are awaited one after the other, guarded the same way', async () => {
  const ran: string[] = [];
  beforeChildExit('slow first', 0, async () => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    ran.push('slow first');
  });
  beforeChildExit('rejects', 1, () => Promise.reject(new Error('flush failed')));
  beforeChildExit('then this', 2, async () => {
    ran.push('then this');
  });
  const stderr = await captureStderr(() => runBeforeChildExit());
  expect(ran).toEqual(['slow first', 'then this']);
  expect(stderr).toMatch(/the beforeChildExit hook rejects failed: Error: flush failed/);
});

test('the listing names every hook of every phase in run order; names are unique per phase', () => {
  atExit('at exit', 5, () => {});
  expect(lifecycleHooks()).toEqual([
    { phase: 'afterFork', name: 'early', order: 0 },
    { phase: 'afterFork', name: 'broken', order: 10 },
    { phase: 'afterFork', name: 'second at 10', order: 10 },
    { phase: 'afterFork', name: 'late', order: 20 },
    { phase: 'beforeChildExit', name: 'slow first', order: 0 },
    { phase: 'beforeChildExit', name: 'rejects', order: 1 },
    { phase: 'beforeChildExit', name: 'then this', order: 2 },
    { phase: 'atExit', name: 'at exit', order: 5 },
  ]);
  expect(() => afterFork('late', 0, () => {})).toThrow(/already registered/);
});
