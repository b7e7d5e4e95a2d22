// Thread targets, a Timer function, a local init function and a local
// subclass written in TypeScript, run by the TypeScript runners people use.
// What travels to the thread is the runner's output: __name(...) calls from
// tsx (esbuild keepNames), an import() helper from swc and tsc, and a local
// subclass whose base is read through a module variable.
import { results, runFixture } from '../helpers/fixture';

const fixture = 'typescript/threading-transpiled.ts';

interface Runner {
  nodeArgs: string[];
  /** Helpers the runner put in the functions' source. */
  helpers: string[];
}

const runners: Record<string, Runner> = {
  tsx: { nodeArgs: [require.resolve('tsx/cli')], helpers: ['__name'] },
  'ts-node --swc': {
    nodeArgs: [require.resolve('ts-node/dist/bin.js'), '--swc'],
    helpers: ['_interop_require_wildcard'],
  },
  '@swc-node/register': {
    nodeArgs: ['--require', require.resolve('@swc-node/register')],
    helpers: ['_interop_require_wildcard'],
  },
  'ts-node --transpile-only (TypeScript)': {
    nodeArgs: [require.resolve('ts-node/dist/bin.js'), '--transpile-only'],
    helpers: ['__importStar'],
  },
};

function expectRan(name: string, nodeArgs: string[], helpers: string[]): void {
  const r = runFixture(fixture, [], { nodeArgs, timeoutMs: 60000 });
  const found = results(r.stdout);
  const context = `${name}: status ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  expect({ context, failures: found.failures }).toEqual({ context, failures: [] });
  expect(found.helpers).toEqual(helpers);
  expect(found.alive).toEqual([false, false]);
  // twice(21), basename length, the thread's own Tally bumped from 10,
  // local init triple(7), the Timer's seven().
  expect(found.out).toEqual([42, 5, 11, 21, 7]);
  expect(r.status).toBe(0);
}

describe.each(Object.entries(runners))('under %s', (name, runner) => {
  test('a Thread target, a Timer function, a local init function and subclass run', () => {
    expectRan(name, runner.nodeArgs, runner.helpers);
  });
});

// Node runs .ts files itself from 22.6 (--experimental-strip-types; on by
// default from 22.18 and 23.6): types are blanked out, no helper is added.
const [major, minor] = process.versions.node.split('.').map(Number);
const builtIn = Boolean((process.features as { typescript?: unknown }).typescript);
const flagged = !builtIn && (major > 22 || (major === 22 && minor >= 6));
const stripping = builtIn || flagged;
(stripping ? test : test.skip)(
  stripping
    ? "under Node's type stripping: the same functions run"
    : `under Node's type stripping: skipped, Node ${process.version} has none (added in 22.6)`,
  () => {
    expectRan('node', flagged ? ['--experimental-strip-types'] : [], []);
  },
);

describe('the spawn backend', () => {
  test('a Process target compiled with esbuild keepNames runs; a helper it lacks is named', () => {
    const r = runFixture('spawn-transpiled.js', [], { timeoutMs: 60000 });
    const found = results(r.stdout);
    expect(found.helpers).toEqual([true, true]);
    // twice(20) + one disposal
    expect(found.named).toBe(41);
    expect(found.private).toBe(1);
    expect(r.stderr).toContain('ReferenceError: __privateAdd is not defined');
    expect(r.stderr).toContain(
      '__privateAdd is a helper that your TypeScript or JavaScript transpiler',
    );
    expect(r.stderr).not.toContain('Closures need');
    expect(r.status).toBe(0);
  });
});
