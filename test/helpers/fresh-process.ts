// Runs a function in a fresh Node process and asserts inside it, as libuv's
// tests each run in their own process (test/test-fork.c): the behaviour is
// checked where it happens. The function travels as source, so it must be
// self-contained; it gets the path of dist/ (the built sources, brought up
// to date by the jest globalSetup) and uses node:assert. A failed assertion
// fails the test with the assertion's own message and stack; a child that
// crashes or hangs fails it with its exit status and output.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const dist = path.join(__dirname, '..', '..', 'dist');
const MARK = '\u0001forkful-fresh-process\u0001';

export interface FreshProcessOptions {
  /** Default 30 s: the child is killed after it. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface FreshProcessResult {
  stdout: string;
  stderr: string;
}

/** The error a child reported, rebuilt with its own message and stack. */
class ChildAssertion extends Error {}

export function inFreshProcess(
  body: (dist: string) => unknown,
  options: FreshProcessOptions = {},
): FreshProcessResult {
  const timeoutMs = options.timeoutMs ?? 30000;
  const program = `
    const report = (outcome) => require('node:fs').writeSync(1, ${JSON.stringify(MARK)} + JSON.stringify(outcome) + '\\n');
    Promise.resolve()
      .then(() => (${body.toString()})(${JSON.stringify(dist)}))
      .then(
        () => report({ ok: true }),
        (err) => report({ ok: false, name: err?.name, message: String(err?.message ?? err), stack: err?.stack }),
      )
      .finally(() => process.exit());
  `;
  const run = spawnSync(process.execPath, ['-e', program], {
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    env: { ...process.env, ...options.env },
    maxBuffer: 64 * 1024 * 1024,
  });
  const lines = run.stdout.split('\n');
  const marked = lines.find((line) => line.startsWith(MARK));
  const stdout = lines.filter((line) => !line.startsWith(MARK)).join('\n');
  if (!marked) {
    const how =
      (run.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT'
        ? `did not finish within ${timeoutMs} ms (killed)`
        : `ended (status ${run.status}, signal ${run.signal}) before its function returned`;
    throw new Error(`the fresh process ${how}.\nstdout:\n${stdout}\nstderr:\n${run.stderr}`);
  }
  const outcome = JSON.parse(marked.slice(MARK.length)) as {
    ok: boolean;
    name?: string;
    message?: string;
    stack?: string;
  };
  if (!outcome.ok) {
    const err = new ChildAssertion(outcome.message);
    err.name = outcome.name ?? 'Error';
    err.stack = `${outcome.stack ?? outcome.message}\n    (in the fresh process; its stderr:\n${run.stderr})`;
    throw err;
  }
  return { stdout, stderr: run.stderr };
}
