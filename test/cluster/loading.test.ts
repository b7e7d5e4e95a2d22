// bullmq and ioredis are optional peer dependencies: `require('forkful')`
// never loads them, and `require('forkful/cluster')` only when a Pool or
// Worker is created. (No Redis needed: runs everywhere.)
import { spawnSync } from 'node:child_process';
import { ROOT } from './helpers';

function loaded(script: string): string[] {
  const r = spawnSync(process.execPath, ['-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30000,
  });
  if (r.status !== 0) throw new Error(`node -e failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim());
}

const peers = `JSON.stringify([...new Set(Object.keys(require.cache).map((f) => (/node_modules\\/(bullmq|ioredis)\\//.exec(f) || [])[1]).filter(Boolean))])`;

test("require('forkful') and require('forkful/cluster') load neither bullmq nor ioredis", () => {
  expect(
    loaded(`require('forkful'); require('forkful/multiprocessing'); console.log(${peers})`),
  ).toEqual([]);
  expect(loaded(`require('forkful/cluster'); console.log(${peers})`)).toEqual([]);
});

test('creating a cluster Pool loads them', () => {
  const script =
    `const { Pool } = require('forkful/cluster');` +
    `const p = new Pool({ connection: { host: '127.0.0.1', port: 1, lazyConnect: true, retryStrategy: () => null }, name: 'x' });` +
    `setTimeout(() => { console.log(${peers}); process.exit(0); }, 50);`;
  expect(loaded(script).sort()).toEqual(['bullmq', 'ioredis']);
});
