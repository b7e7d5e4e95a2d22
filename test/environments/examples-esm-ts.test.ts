// The ES module and TypeScript versions of the main examples (examples/esm,
// examples/typescript) print what their CommonJS originals print. TypeScript
// runs through tsx on every Node, and by Node's own type stripping where it
// is on by default (23.6+); test/types type-checks them.
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runScript } from '../helpers/fixture';

const root = path.join(__dirname, '..', '..');
const tsx = pathToFileURL(path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const [major, minor] = process.versions.node.split('.').map(Number);
const stripsTypes = major > 23 || (major === 23 && minor >= 6);

function lines(file: string, nodeArgs: string[] = []): string[] {
  const result = runScript(path.join(root, 'examples', file), [], { nodeArgs, timeoutMs: 60000 });
  const shown = `${file}: exit ${result.status ?? result.signal}\n${result.stdout}\n${result.stderr}`;
  expect({ status: result.status, shown }).toEqual({ status: 0, shown });
  return result.stdout.trimEnd().split('\n');
}

function processLines(out: string[]): void {
  expect(out[0]).toMatch(/^Parent process \d+\.$/);
  expect(out[1]).toBe('Process will start.');
  expect(out[2]).toMatch(/^Run child process test \(\d+\)\.\.\.$/);
  expect(out[2]).not.toContain(`(${/\d+/.exec(out[0])?.[0]})`);
}

describe('ES modules', () => {
  test('process.mjs', () => {
    const out = lines('esm/process.mjs');
    processLines(out);
    expect(out[3]).toBe('Process end.');
  });
  test('queue.mjs prints 100', () => {
    expect(lines('esm/queue.mjs')).toEqual(['100']);
  });
  test('pool-map.mjs: squares in order', () => {
    expect(lines('esm/pool-map.mjs')).toEqual(['0 1 4 9 16 25 36 49 64 81']);
  });
  test('thread-lock.mjs: three threads add under one lock', () => {
    expect(lines('esm/thread-lock.mjs')).toEqual(['data = 3']);
  });
});

describe('TypeScript', () => {
  const runners: [string, string[]][] = [['tsx', ['--import', tsx]]];
  if (stripsTypes) runners.push(['type stripping', []]);
  describe.each(runners)('through %s', (_name, nodeArgs) => {
    test('process.mts', () => {
      const out = lines('typescript/process.mts', nodeArgs);
      processLines(out);
      expect(out[3]).toBe('Process end (exit code 0).');
    });
    test('pipe-queue.mts: a typed Pipe and Queue', () => {
      expect(lines('typescript/pipe-queue.mts', nodeArgs)).toEqual(['a = 42', '100']);
    });
    test('pool-map.mts', () => {
      expect(lines('typescript/pool-map.mts', nodeArgs)).toEqual(['0 1 4 9 16 25 36 49 64 81']);
    });
    test('thread-local.mts: each thread sees its own student', () => {
      expect(lines('typescript/thread-local.mts', nodeArgs).sort()).toEqual([
        'Hello, Alice (in Thread-A)',
        'Hello, Bob (in Thread-B)',
        "main thread's student: undefined",
      ]);
    });
  });
});
