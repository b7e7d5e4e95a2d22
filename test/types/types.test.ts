// A typed consumer project compiles under tsc --strict --module nodenext
// against forkful's published types (dist/ and esm/, through the package's
// exports map), with no casts: consumer.mts (ESM) and consumer.cts
// (CommonJS) state the types the API must give and the mistakes it must
// refuse (@ts-expect-error fails the build when the mistake compiles).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');

function typeCheck(project: string): void {
  const tsc = require.resolve('typescript/bin/tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', project], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120000,
  });
  expect(run.error).toBeUndefined();
  expect(`${run.stdout}${run.stderr}`).toBe('');
  expect(run.status).toBe(0);
}

test('the consumer project type-checks', () => {
  typeCheck(path.join(__dirname, 'tsconfig.json'));
});

test('the TypeScript examples type-check (examples/typescript)', () => {
  typeCheck(path.join(root, 'examples', 'typescript', 'tsconfig.json'));
});
