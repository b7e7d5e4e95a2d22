// `await using` / `using` on Pool, Process, Queue, Connection and Thread:
// the syntax needs a Node that parses it (24 and later), so the fixture
// runs under the pinned Node 24 (scripts/node.js), with forkful's prebuild
// for that Node. The explicit calls ([Symbol.asyncDispose]()) are tested
// on this Node in waits-node-api and pool-node-api.
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { results } from '../helpers/fixture';

const root = path.join(__dirname, '..', '..');

test('await using disposes a Pool, a Process, a Thread; using a Queue and Connections', () => {
  const nodeDir = execFileSync(
    process.execPath,
    [path.join(root, 'scripts', 'node.js'), '24', '--path'],
    {
      encoding: 'utf8',
      timeout: 300000,
    },
  ).trim();
  const node = path.join(nodeDir, 'bin', 'node');
  const run = spawnSync(node, [path.join(root, 'test', 'fixtures', 'nodeapi-using.mjs')], {
    encoding: 'utf8',
    timeout: 60000,
    killSignal: 'SIGKILL',
  });
  const r = results(run.stdout);
  if (run.status !== 0 || !r.done) {
    throw new Error(
      `nodeapi-using.mjs under Node 24 failed (status ${run.status}; a missing prebuild: ` +
        `node scripts/prebuild-all.js --arch x64 --majors 24):\n${run.stdout}\n${run.stderr}`,
    );
  }
  expect(r.map).toEqual([1, 4, 9]);
  expect(r.pool).toEqual({ workers: 2, strays: [], refused: 'BrokenPoolError' });
  expect(r.process).toEqual({ processClosed: true });
  expect(r.queueGet).toBe(1);
  expect(r.queue).toEqual({ queueClosed: true });
  expect(r.recv).toBe('hi');
  expect(r.connection).toEqual({ closed: true });
  expect(r.thread).toEqual({ ended: true });
});
