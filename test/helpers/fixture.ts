// Runs a fixture script in its own Node process, bounded in time, and
// returns its output. Fork-heavy tests live in fixtures because the jest
// worker is itself a forked process with an IPC channel.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export interface FixtureResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runFixture(
  name: string,
  args: string[] = [],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {},
): FixtureResult {
  const timeoutMs = options.timeoutMs ?? 30000;
  const script = path.join(__dirname, '..', 'fixtures', name);
  const result = spawnSync(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    env: { ...process.env, ...options.env },
    maxBuffer: 64 * 1024 * 1024,
  });
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
