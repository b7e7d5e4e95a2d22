// The coroutine examples print what the article prints (they run on dist/:
// `npm run build:dev` first).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

function runExample(name: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'examples', name)], {
    encoding: 'utf8',
    timeout: 30000,
    killSignal: 'SIGKILL',
  });
  if (result.error) throw new Error(`${name} did not finish: ${result.error.message}`);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("40-yield.js prints the article's producer/consumer lines", () => {
  const { status, stdout, stderr } = runExample('40-yield.js');
  expect(stderr).toBe('');
  expect(status).toBe(0);
  const expected: string[] = [];
  for (let i = 1; i <= 5; i++) {
    expected.push(
      `[PRODUCER] Producing ${i}...`,
      `[CONSUMER] Consuming ${i}...`,
      '[PRODUCER] Consumer return: 200 OK',
    );
  }
  expect(stdout.trimEnd().split('\n')).toEqual(expected);
});

test('41-gevent-spawn.js fetches every local URL, concurrently started', () => {
  const { status, stdout, stderr } = runExample('41-gevent-spawn.js');
  expect(stderr).toBe('');
  expect(status).toBe(0);
  const lines = stdout.trimEnd().split('\n');
  // All three GETs are issued before any response arrives.
  expect(lines.slice(0, 3).every((line) => line.startsWith('GET: http://127.0.0.1:'))).toBe(true);
  const received = lines.slice(3, 6).map((line) => line.replace(/:\d+\//, ':PORT/'));
  expect(received.sort()).toEqual([
    '48000 bytes received from http://127.0.0.1:PORT/www.python.org/.',
    '512000 bytes received from http://127.0.0.1:PORT/www.yahoo.com/.',
    '96000 bytes received from http://127.0.0.1:PORT/github.com/.',
  ]);
  expect(lines[6]).toMatch(/^3 pages, 656000 bytes in \d+ ms/);
});

test('42-gevent-pool.js never runs more than 2 at once', () => {
  const { status, stdout, stderr } = runExample('42-gevent-pool.js');
  expect(stderr).toBe('');
  expect(status).toBe(0);
  const counts = [...stdout.matchAll(/running: (\d+)/g)].map((m) => Number(m[1]));
  expect(counts.length).toBe(8);
  expect(Math.max(...counts)).toBe(2);
  expect(stdout).toContain('all done');
  expect(stdout.trimEnd().split('\n').pop()).toBe('map-1.html map-2.html map-3.html');
});
