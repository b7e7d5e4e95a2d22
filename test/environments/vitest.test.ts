// forkful imported inside a vitest test, in vitest's threads pool (test files
// run in worker_threads Workers that alone load forkful) and forks pool
// (child processes). vitest runs in a subprocess, bounded in time.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.join(__dirname, '..', 'fixtures', 'vitest');
const vitest = path.join(path.dirname(require.resolve('vitest/package.json')), 'vitest.mjs');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forkful-vitest-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Report {
  success: boolean;
  numPassedTests: number;
  numFailedTests: number;
  testResults: Array<{ assertionResults: Array<{ title: string; status: string }> }>;
}

describe.each([
  // In a Worker fork() is refused with a ForkError; Node 20 also unloaded
  // the addon with the Worker and crashed at exit before -z nodelete.
  ['threads', 'worker'],
  ['forks', 'process'],
])('vitest --pool=%s', (pool, where) => {
  test('a Lock, a Value and a Thread work; fork() does what it can there', () => {
    const outputFile = path.join(dir, `${pool}.json`);
    const r = spawnSync(
      process.execPath,
      [
        vitest,
        'run',
        '--root',
        root,
        `--pool=${pool}`,
        '--reporter=json',
        `--outputFile=${outputFile}`,
      ],
      {
        encoding: 'utf8',
        timeout: 120000,
        killSignal: 'SIGKILL',
        env: { ...process.env, FORKFUL_VITEST_CACHE: path.join(dir, 'cache'), NO_COLOR: '1' },
      },
    );
    const context = `status ${r.status} signal ${r.signal}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
    expect({ context, status: r.status, signal: r.signal }).toEqual({
      context,
      status: 0,
      signal: null,
    });
    const report = JSON.parse(fs.readFileSync(outputFile, 'utf8')) as Report;
    expect(report.success).toBe(true);
    expect(report.numFailedTests).toBe(0);
    expect(report.numPassedTests).toBe(2);
    const titles = report.testResults.flatMap((file) => file.assertionResults);
    expect(titles.map(({ title, status }) => [title, status])).toEqual([
      ['a Lock, a Value and a Thread that updates the Value under the Lock', 'passed'],
      [`fork() in a ${where}`, 'passed'],
    ]);
  });
});
