// The article's programs (examples/NN-*.js) print what the article prints,
// with real pids. (Pool and coroutine examples have tests of their own.)
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { needsFork } from '../helpers/needs';

function run(name: string): string[] {
  const result = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'examples', name)], {
    encoding: 'utf8',
    timeout: 60000,
    killSignal: 'SIGKILL',
  });
  if (result.error) throw new Error(`${name}: ${result.error.message}\n${result.stderr}`);
  expect({ name, status: result.status, stderr: result.stderr }).toEqual({
    name,
    status: 0,
    stderr: '',
  });
  return result.stdout.trimEnd().split('\n');
}

needsFork.test('01-fork: parent and child lines with real pids', () => {
  const lines = run('01-fork.js');
  expect(lines).toHaveLength(3);
  const parent = Number(/^Process \((\d+)\) start\.\.\.$/.exec(lines[0])?.[1]);
  expect(parent).toBeGreaterThan(0);
  const rest = lines.slice(1).sort();
  const child = Number(/^I \(\d+\) just created a child process \((\d+)\)\.$/.exec(rest[0])?.[1]);
  expect(rest).toEqual([
    `I (${parent}) just created a child process (${child}).`,
    `I am child process (${child}) and my parent is ${parent}.`,
  ]);
});

test('02-process: the child runs between "will start" and "end"', () => {
  const lines = run('02-process.js');
  const parent = Number(/^Parent process (\d+)\.$/.exec(lines[0])?.[1]);
  expect(lines[1]).toBe('Process will start.');
  const child = Number(/^Run child process test \((\d+)\)\.\.\.$/.exec(lines[2])?.[1]);
  expect(child).toBeGreaterThan(0);
  expect(child).not.toBe(parent);
  expect(lines[3]).toBe('Process end.');
});

test('03-pipe and 04-pipe-duplex', () => {
  expect(run('03-pipe.js')).toEqual(["[ 42, null, 'hello' ]"]);
  expect(run('04-pipe-duplex.js').sort()).toEqual(['proc1 rec: hello, too', 'proc2 rec: hello']);
});

test('05-queue prints 100', () => {
  expect(run('05-queue.js')).toEqual(['100']);
});

needsFork.test('06-queue-global prints 100 (the queue is a global: fork semantics)', () => {
  expect(run('06-queue-global.js')).toEqual(['100']);
});

test('20: the balance under a lock ends at exactly 0 (threads)', () => {
  expect(run('20-balance-threads.js').at(-1)).toBe('0');
});

test('21: the balance under a lock ends at exactly 0 (processes)', () => {
  expect(run('21-balance-processes.js').at(-1)).toBe('0');
});

test('30-thread-local: each thread sees its own student', () => {
  expect(run('30-thread-local.js').sort()).toEqual([
    'Hello, Alice (in Thread-A)',
    'Hello, Bob (in Thread-B)',
  ]);
});

test('31-lock-data: acquire / get / release per thread, in lock order', () => {
  const lines = run('31-lock-data.js');
  expect(lines.at(-1)).toBe('data = 3');
  const events = lines.slice(0, -1);
  for (const name of ['Thread-1 (func)', 'Thread-2 (func)', 'Thread-3 (func)']) {
    const mine = events.filter((l) => l.startsWith(`${name} `));
    expect(mine).toEqual([
      `${name} acquire lock...`,
      `${name} get the lock.`,
      `${name} release lock...`,
    ]);
  }
  // Mutual exclusion: every "get" is followed by that thread's "release"
  // before the next "get".
  const holds = events.filter((l) => / (get the lock\.|release lock\.\.\.)$/.test(l));
  for (let i = 0; i < holds.length; i += 2) {
    expect(holds[i + 1]).toBe(holds[i].replace('get the lock.', 'release lock...'));
  }
});
