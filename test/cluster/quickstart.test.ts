// docs/cluster.md's quick start, run as written (on a free port instead of
// 6379, and with Redis's pid file and directory in a temp dir so that this
// test can stop what it started): three commands, then the map's output.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  alive,
  clusterSkipReason,
  freePort,
  killTree,
  ROOT,
  stopAll,
  tempDir,
  waitFor,
} from './helpers';

const skip = clusterSkipReason();
const suite = skip ? describe.skip : describe;
if (skip) test.skip(skip, () => {});

function quickStart(): string[] {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'cluster.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Quick start'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block.split('\n').filter((line) => line.trim() !== '');
}

function run(
  command: string,
  onOutput?: (text: string) => void,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const proc = spawn('bash', ['-c', command], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (d: Buffer) => {
      out += d;
      onOutput?.(out);
    };
    proc.stdout.on('data', take);
    proc.stderr.on('data', take);
    proc.on('close', (code) => resolve({ code, out }));
  });
}

suite('docs/cluster.md quick start', () => {
  const owned: number[] = [];
  afterAll(async () => {
    for (const pid of owned) killTree(pid);
    await stopAll();
  }, 30000);

  test('three commands: Redis, two workers, a map of 10,000 tasks', async () => {
    const lines = quickStart();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^redis-server .*--daemonize yes$/);
    expect(lines[1]).toMatch(/npx forkful worker .*&/);
    expect(lines[2]).toMatch(/^node examples\/cluster-map\.js /);

    const port = String(await freePort());
    const dir = tempDir('quickstart');
    const pidfile = path.join(dir, 'redis.pid');
    // `npx forkful` as a user's project runs it (the package's bin in
    // node_modules/.bin); run from this repository, npm exec would install
    // the package into itself, and its install script rebuilds build/ under
    // the tests running beside this one. The same bin, run directly:
    const cli = `node ${JSON.stringify(path.join(ROOT, 'dist', 'cluster', 'cli.js'))}`;
    const [redisLine, workersLine, mapLine] = lines.map((l) =>
      l.replaceAll('6379', port).replaceAll('npx forkful ', `${cli} `),
    );

    const redis = await run(`${redisLine} --pidfile ${pidfile} --dir ${dir}`);
    expect(redis.code).toBe(0);
    await waitFor(() => fs.existsSync(pidfile), 10000, "redis-server's pid file");
    owned.push(Number(fs.readFileSync(pidfile, 'utf8')));

    // The workers stay in the background of a shell that prints their pids
    // and ends; their output still comes through its pipe.
    let workersOut = '';
    const workers = run(`${workersLine}\njobs -p`, (text) => (workersOut = text));
    await waitFor(
      () => (workersOut.match(/ ready: queue 'jobs'/g) ?? []).length === 2,
      60000,
      'two workers ready',
    );
    const shellPids = workersOut
      .split('\n')
      .filter((l) => /^\d+$/.test(l.trim()))
      .map(Number);
    expect(shellPids).toHaveLength(2);
    owned.push(...shellPids);

    const map = await run(mapLine);
    expect(map.code).toBe(0);
    expect(map.out).toMatch(/^10000 squares, the last 99980001, in \d+ ms$/m);
    const perWorker = /tasks per worker: (\{[^}]*\})/s.exec(map.out)?.[1] ?? '';
    const counts = [...perWorker.matchAll(/: (\d+)/g)].map((m) => Number(m[1]));
    expect(counts).toHaveLength(2); // both workers ran tasks
    expect(counts.reduce((a, b) => a + b, 0)).toBe(10000);
    expect(map.out).toMatch(/^apply: 2 \+ 3 = 5$/m);

    // Stopped as the doc says (SIGTERM): they finish and exit.
    for (const pid of shellPids) killTree(pid, 'SIGTERM');
    await waitFor(() => shellPids.every((pid) => !alive(pid)), 20000, 'the workers to stop');
    await workers;
  }, 120000);
});
