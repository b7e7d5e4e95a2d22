// Real components for the cluster tests: a redis-server of our own on a free
// loopback port in a temp dir, and `forkful worker` processes (the built CLI,
// each in its own working directory, standing in for a machine). Everything
// started here is killed by pid, with its children, by stopAll().
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import IORedis from 'ioredis';
import { Pool } from '../../lib/cluster';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cluster', 'cli.js');

/** Why the cluster suite cannot run here, or null when it can. */
export function clusterSkipReason(): string | null {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8', timeout: 10000 });
  if (r.error || r.status !== 0) {
    // CI installs it (.ci/run): there, a skip would hide a broken install.
    if (process.env.CI)
      throw new Error('redis-server is not installed, and CI must run the cluster tests');
    return 'redis-server is not installed (apt-get install redis-server): cluster tests skipped';
  }
  return null;
}

/** The workers run the built CLI (npm test builds it first, in pretest). */
export function checkBuilt(): void {
  for (const f of fs.readdirSync(path.join(ROOT, 'lib', 'cluster'))) {
    const js = path.join(ROOT, 'dist', 'cluster', f.replace(/\.ts$/, '.js'));
    if (!fs.existsSync(js)) throw new Error(`${js} is missing: run \`npm run build:ts\``);
  }
}

const started = new Set<ChildProcess>();
const tempDirs: string[] = [];

export function tempDir(tag: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `forkful-cluster-${tag}-`));
  tempDirs.push(dir);
  return dir;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `check` every 50 ms until it returns true, for at most `ms`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exited(proc: ChildProcess, ms: number): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`pid ${proc.pid} did not exit in ${ms} ms`)),
      ms,
    );
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Pids of the live children of `pid` (from /proc). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid && fields[0] !== 'Z') out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Signals `pid` and all its descendants (children first). */
export function killTree(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (!pid) return;
  for (const child of childrenOf(pid)) killTree(child, signal);
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  proc: ChildProcess;
  /** A client for assertions (closed by stopAll). */
  client: IORedis;
  /** Kills the server (SIGKILL: no shutdown save) and waits for its exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory (reloading its AOF). */
  restart(): Promise<void>;
}

const clients: IORedis[] = [];

export async function startRedis(options: { aof?: boolean } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = tempDir('redis');
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.aof ? 'yes' : 'no',
    '--appendfsync',
    'everysec',
    '--daemonize',
    'no',
    '--logfile',
    '',
  ];
  const launch = async (): Promise<ChildProcess> => {
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    started.add(proc);
    let out = '';
    proc.stdout?.on('data', (d) => (out += d));
    proc.stderr?.on('data', (d) => (out += d));
    await waitFor(
      () => {
        if (proc.exitCode !== null) throw new Error(`redis-server exited: ${out}`);
        return /Ready to accept connections/.test(out);
      },
      15000,
      `redis-server on port ${port}`,
    );
    return proc;
  };
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    proc: await launch(),
    client: new IORedis({
      port,
      host: '127.0.0.1',
      maxRetriesPerRequest: null,
      lazyConnect: false,
    }),
    async kill() {
      server.proc.kill('SIGKILL');
      await exited(server.proc, 10000);
      started.delete(server.proc);
    },
    async restart() {
      server.proc = await launch();
    },
  };
  server.client.on('error', () => {}); // while the server is restarted
  clients.push(server.client);
  return server;
}

export interface WorkerProcess {
  proc: ChildProcess;
  pid: number;
  cwd: string;
  output(): string;
  /** Its local pool's processes. */
  children(): number[];
}

/** Starts `forkful worker` in its own working directory (a machine) and
 * waits for its ready line. */
export async function startWorker(
  redis: RedisServer,
  name: string,
  options: { processes?: number; cwd?: string; args?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<WorkerProcess> {
  const cwd = options.cwd ?? tempDir('worker');
  const args = [
    CLI,
    'worker',
    '--connection',
    redis.url,
    '--name',
    name,
    '--processes',
    String(options.processes ?? 2),
    ...(options.args ?? []),
  ];
  const proc = spawn(process.execPath, args, {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  started.add(proc);
  let out = '';
  proc.stdout?.on('data', (d) => (out += d));
  proc.stderr?.on('data', (d) => (out += d));
  await waitFor(
    () => {
      if (proc.exitCode !== null)
        throw new Error(`forkful worker exited (${proc.exitCode}): ${out}`);
      return / ready: queue /.test(out);
    },
    20000,
    `forkful worker in ${cwd}`,
  );
  return {
    proc,
    pid: proc.pid as number,
    cwd,
    output: () => out,
    children: () => childrenOf(proc.pid as number),
  };
}

export interface ClusterUnderTest {
  redis: RedisServer;
  workers: WorkerProcess[];
  pool: Pool;
}

/** A cluster for the tests of one describe block: a redis-server, one
 * `forkful worker` per machine (a working directory of its own holding
 * tasks.js with the given source) and a Pool on queue `name`; started in
 * beforeAll, everything stopped in afterAll. Its fields are set once
 * beforeAll has run. */
export function useCluster(
  name: string,
  machines: Record<string, string>,
  processes = 2,
): ClusterUnderTest {
  const cluster = { workers: [] as WorkerProcess[] } as ClusterUnderTest;
  beforeAll(async () => {
    checkBuilt();
    cluster.redis = await startRedis();
    for (const [machine, tasks] of Object.entries(machines)) {
      const cwd = tempDir(machine);
      fs.writeFileSync(path.join(cwd, 'tasks.js'), tasks);
      cluster.workers.push(await startWorker(cluster.redis, name, { cwd, processes }));
    }
    cluster.pool = new Pool({ connection: cluster.redis.url, name });
  }, 60000);
  afterAll(async () => {
    if (cluster.pool) {
      cluster.pool.terminate();
      await cluster.pool.join();
    }
    await stopAll();
  }, 30000);
  return cluster;
}

/** Waits for a process this module started to exit; its exit code. */
export function waitExit(proc: ChildProcess, ms: number): Promise<number | null> {
  return exited(proc, ms).finally(() => started.delete(proc));
}

/** Kills (SIGKILL, children first) everything started here, closes the
 * clients, removes the temp dirs. */
export async function stopAll(): Promise<void> {
  for (const c of clients.splice(0)) c.disconnect();
  for (const proc of [...started]) {
    killTree(proc.pid);
    try {
      await exited(proc, 5000);
    } catch {
      // reported by the next test run's leftovers, not hidden: it was SIGKILLed
    }
    started.delete(proc);
  }
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** Starts a Node script (a caller that will be killed) in its own process. */
export function startScript(file: string, args: string[], cwd: string): ChildProcess {
  const proc = spawn(process.execPath, [file, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(proc);
  return proc;
}

export { ROOT };
