// Runs a fixture script in its own Node process, bounded in time, and
// returns its output. Fork-heavy tests live in fixtures because the jest
// worker is itself a forked process with an IPC channel.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const MARK = 'FORKFUL_TEST_FIXTURE_RUN';

/** The processes still alive that inherited `run`'s mark (a fixture's
 * children and theirs, wherever they were reparented), killed; each one's
 * command line. */
export function killStrays(run: string): string[] {
  // A daemon child ends by its parent-death signal a moment after the
  // fixture: give such exits a grace period before calling anything a stray.
  if (marked(run).length === 0) return [];
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
  const found: string[] = [];
  for (const pid of marked(run)) {
    let cmdline = '';
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      continue; // it ended meanwhile
    }
    found.push(`${pid} ${cmdline}`);
  }
  return found;
}

/** The pids whose environment carries `run`'s mark. */
function marked(run: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let environ: string;
    try {
      environ = fs.readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue; // gone, or not ours to read
    }
    if (environ.split('\0').includes(`${MARK}=${run}`)) found.push(pid);
  }
  return found;
}

export interface FixtureResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ScriptOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  nodeArgs?: string[];
  cwd?: string;
}

/** Runs test/fixtures/<name> (see runScript). */
export function runFixture(
  name: string,
  args: string[] = [],
  options: ScriptOptions = {},
): FixtureResult {
  return runScript(path.join(__dirname, '..', 'fixtures', name), args, options);
}

/** Runs a script file in its own Node, bounded in time (killed after
 * timeoutMs, default 30 s), and fails when it leaves processes behind. */
export function runScript(
  script: string,
  args: string[] = [],
  options: ScriptOptions = {},
): FixtureResult {
  const timeoutMs = options.timeoutMs ?? 30000;
  const name = path.basename(script);
  const run = randomUUID();
  const result = spawnSync(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    cwd: options.cwd,
    env: { ...process.env, ...options.env, [MARK]: run },
    maxBuffer: 64 * 1024 * 1024,
  });
  // A fixture that ended must not leave processes behind (a test that
  // passes while its children run on would hide a lost join or an orphan).
  const strays = process.platform === 'linux' ? killStrays(run) : [];
  if (strays.length > 0 && !result.error && result.status === 0) {
    throw new Error(
      `fixture ${name} exited but left ${strays.length} process(es) running (killed now):\n` +
        `${strays.join('\n')}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    throw new Error(
      `fixture ${name} did not finish within ${timeoutMs} ms (killed).\n` +
        `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
  if (result.error) throw result.error;
  return {
    status: result.status,
    signal: result.signal,
    stdout: result.stdout,
    stderr: result.stderr,
  };
}

/** Parses the `RESULT <json>` lines a fixture printed, by key. */
export function results(out: string): Record<string, unknown> {
  const found: Record<string, unknown> = {};
  for (const line of out.split('\n')) {
    if (!line.startsWith('RESULT ')) continue;
    const { key, value } = JSON.parse(line.slice(7));
    found[key] = value;
  }
  return found;
}

/** True when the suite runs on the spawn backend (fork-only tests skip): chosen
 * by FORKFUL_START_METHOD=spawn, or forced by FORKFUL_NO_NATIVE=1 (no os.fork). */
export const spawnBackend =
  process.env.FORKFUL_START_METHOD === 'spawn' || process.env.FORKFUL_NO_NATIVE === '1';

/** The backends a fixture runs on: the default (the addon where it loads)
 * and the portable one (no addon: FORKFUL_NO_NATIVE=1); only the portable
 * one when the whole suite runs without the addon. */
export const backends: [string, NodeJS.ProcessEnv][] =
  process.env.FORKFUL_NO_NATIVE === '1'
    ? [['portable', {}]]
    : [
        ['default', {}],
        ['portable', { FORKFUL_NO_NATIVE: '1' }],
      ];

/** False under FORKFUL_NO_NATIVE=1: tests of the addon itself (its binary,
 * the os functions it implements) skip there, as fork tests do. */
export const addonTested = process.env.FORKFUL_NO_NATIVE !== '1';
