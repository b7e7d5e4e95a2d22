// examples/progress-bar.js: the bar advances to total, the workers are
// reported, and SIGINT aborts the map through its signal.
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';

const example = path.join(__dirname, '..', '..', 'examples', 'progress-bar.js');

test('draws the bar to the end and sums up', () => {
  const run = spawnSync(process.execPath, [example, '40'], {
    encoding: 'utf8',
    timeout: 60000,
    killSignal: 'SIGKILL',
  });
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  const lines = run.stdout.trimEnd().split('\n');
  const bars = lines.filter((l) => l.startsWith('['));
  expect(bars.length).toBeGreaterThan(1);
  expect(bars[bars.length - 1]).toBe(`[${'#'.repeat(30)}] 40/40`);
  const counts = bars.map((l) => Number(/\] (\d+)\/40$/.exec(l)?.[1]));
  expect(counts).toEqual([...counts].sort((a, b) => a - b));
  expect(lines).toContain('done: 40 sums');
  expect(lines.filter((l) => /^worker \d+ started$/.test(l))).toHaveLength(2);
  expect(lines.filter((l) => /^worker \d+ exited \(0\)$/.test(l))).toHaveLength(2);
  expect(lines.some((l) => l.startsWith('tasks: 10 completed, 0 failed, 0 cancelled;'))).toBe(true);
});

test('SIGINT aborts the map: the queued tasks are dropped', async () => {
  const child = spawn(process.execPath, [example, '4000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60000);
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (/\] \d+\/4000/.test(out) && !child.killed) {
        child.kill('SIGINT');
        resolve();
      }
    });
    child.on('exit', () => resolve());
  });
  const code = await exited;
  clearTimeout(killer);
  expect({ code, err }).toEqual({ code: 0, err: '' });
  expect(out).toContain('aborted (interrupted): the queued tasks were dropped');
  const cancelled = Number(/(\d+) cancelled/.exec(out)?.[1]);
  expect(cancelled).toBeGreaterThan(0);
  expect(out).not.toContain('done: 4000 sums');
});
