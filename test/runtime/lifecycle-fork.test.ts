// The lifecycle in real forked children, asserted inside the process that
// forks them (test/helpers/fresh-process.ts).
import { inFreshProcess } from '../helpers/fresh-process';
import { needsFork } from '../helpers/needs';

needsFork.test('an afterFork hook that throws is reported, and the other hooks still run', () => {
  const { stderr } = inFreshProcess(async (dist) => {
    const assert = require('node:assert');
    const { afterFork } = require(`${dist}/runtime/lifecycle`);
    const { Process, Queue } = require(`${dist}/multiprocessing`);
    afterFork('test: throws first', -1, () => {
      throw new Error('this hook is broken');
    });
    const queue = new Queue();
    // The queue works in the child only if the arena's and the feeders'
    // hooks ran after the broken one.
    const child = new Process({
      target: (q: { put(v: unknown): Promise<void> }) => q.put(process.pid),
      args: [queue],
    });
    child.start();
    const pid = await queue.get({ timeout: 20 });
    await child.join(20);
    assert.strictEqual(child.exitcode, 0);
    assert.strictEqual(pid, child.pid);
  });
  expect(stderr).toMatch(
    /the afterFork hook test: throws first failed: Error: this hook is broken/,
  );
});

needsFork.test("a Process child's beforeChildExit hooks run after its target, in order", () => {
  inFreshProcess(async (dist) => {
    const assert = require('node:assert');
    const { beforeChildExit } = require(`${dist}/runtime/lifecycle`);
    const { Process, Pipe } = require(`${dist}/multiprocessing`);
    const [reader, writer] = Pipe(false);
    beforeChildExit('test: second', 200, async () => writer.send('second'));
    beforeChildExit('test: first', 100, async () => writer.send('first'));
    const child = new Process({ target: () => writer.send('target') });
    child.start();
    writer.close();
    const got = [await reader.recv(), await reader.recv(), await reader.recv()];
    await child.join(20);
    assert.deepStrictEqual(got, ['target', 'first', 'second']);
    assert.strictEqual(child.exitcode, 0);
  });
});
