// The 'spawn' start method: the child is a fresh Node process started with
// child_process.fork of spawn-bootstrap.js. It gets its target as a module
// path + export name or as source text (spawn-target.ts), its args encoded by
// lib/serialize, the fds of Connections/Queues among them in stdio slots
// (fd-transfer.ts), and the shared-memory arena of lib/synchronize through
// its environment (arenaEnvironment()).
import * as childProcess from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NotSupportedError, OSError, RuntimeError } from '../../core/errors';
import { fileURLToPath } from 'node:url';
import { isBootstrapping } from '../../runtime/identity';
import { native, packageRoot, requireNative } from '../../core/native';
import { serialize } from '../../transfer/serialize';
import { arenaEnvironment } from '../../synchronize';
import { collectFds } from '../../transfer/fd-transfer';
import { targetRef, type TargetRef } from '../../transfer/spawn-target';
import { spawnThroughSpawner } from './spawner';
import { loggingSetup, type LoggingSetup } from '../../runtime/logging';
import type { Backend, ChildHandle, ChildSpec, ChildIdentity } from './types';

/** What the parent sends the bootstrap over the IPC channel. */
export interface SpawnPayload extends ChildIdentity {
  target: TargetRef;
  args: Buffer;
  parentPid: number;
  /** The parent's multiprocessing logger setup, if it made one. */
  logging?: LoggingSetup;
}

// Run from the TypeScript sources (ts-jest, tsx), this module is
// lib/multiprocessing/start/spawn.ts: a child runs the compiled bootstrap.
const BOOTSTRAP = __filename.endsWith('.ts')
  ? path.join(packageRoot, 'dist', 'multiprocessing', 'start', 'spawn-bootstrap.js')
  : path.join(__dirname, 'spawn-bootstrap.js');
const FIRST_SLOT = 4; // 0-2 stdio, 3 the IPC channel

// The Node executable spawned children run (Python's spawn._python_exe).
let executable = process.execPath;

/** Python's multiprocessing.set_executable(): the Node executable the spawn
 * start method runs (child_process.fork's execPath); a path as a string, a
 * Buffer or a file: URL. OSError (ENOENT, EACCES) now when it is not an
 * executable file, where Python fails at the next start(). */
export function setExecutable(file: string | Buffer | URL): void {
  let resolved: string;
  if (typeof file === 'string') resolved = file;
  else if (Buffer.isBuffer(file)) resolved = file.toString();
  else if (file instanceof URL) resolved = fileURLToPath(file);
  else {
    throw new TypeError(
      `setExecutable: expected a path (string, Buffer or file: URL), got ${typeof file}`,
    );
  }
  try {
    fs.accessSync(resolved, fs.constants.X_OK);
    if (!fs.statSync(resolved).isFile()) throw Object.assign(new Error(), { code: 'EISDIR' });
  } catch (cause) {
    const code = (cause as { code?: string }).code ?? 'UNKNOWN';
    const err = new OSError(`setExecutable: ${resolved} is not an executable file (${code})`, {
      cause,
    });
    err.code = code;
    throw err;
  }
  executable = path.resolve(resolved);
}

/** Python's multiprocessing.spawn.get_executable(). */
export function getExecutable(): string {
  return executable;
}

function signalNumberOf(signal: NodeJS.Signals): number {
  return (os.constants.signals as Record<string, number>)[signal] ?? 0;
}

class SpawnChild implements ChildHandle {
  readonly pid: number;
  #child: childProcess.ChildProcess;
  #exitcode: number | null = null;
  #callbacks: Array<(code: number) => void> = [];

  constructor(child: childProcess.ChildProcess) {
    this.#child = child;
    this.pid = child.pid as number;
    child.on('exit', (code, signal) => {
      this.#exitcode = code ?? (signal ? -signalNumberOf(signal) : 255);
      for (const cb of this.#callbacks.splice(0)) cb(this.#exitcode);
    });
    // The child hangs up the channel once it has its payload; an error on it
    // (the child died first) is reported through 'exit'.
    child.on('error', () => {});
  }

  onExit(callback: (exitcode: number) => void): void {
    this.#callbacks.push(callback);
  }

  waitSync(timeoutMs: number): number | null {
    if (this.#exitcode !== null) return this.#exitcode;
    try {
      return requireNative('joinSync').exitcodeNoReap(this.pid, timeoutMs);
    } catch (err) {
      // libuv reaped it already and calls the exit callbacks of a batch of
      // children one after the other: this one's 'exit' comes in a moment.
      if ((err as { code?: string }).code === 'ECHILD') return null;
      throw err;
    }
  }

  kill(signal: number): void {
    process.kill(this.pid, signal);
  }

  ref(): void {
    this.#child.ref();
  }

  unref(): void {
    this.#child.unref();
    (this.#child as unknown as { channel?: { unref(): void } }).channel?.unref();
  }

  detach(): void {
    this.unref();
    this.#callbacks = [];
  }
}

/** This process's Node flags for a child, without `-e`/`-p` and their
 * code (what child_process.fork leaves out itself when it reads
 * process.execArgv; the spawner passes a copy, so it must be done here). */
function withoutEval(execArgv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i];
    if (['-e', '--eval', '-p', '--print', '-pe'].includes(flag)) i++;
    else if (!/^--(eval|print)=/.test(flag)) out.push(flag);
  }
  return out;
}

/** Python's _check_not_importing_main(): a spawned process that starts a
 * spawn process (or makes a spawn Pool) while it loads a target's module
 * runs a main module without a main guard, which would start processes
 * without end. RuntimeError then. */
export function checkNotBootstrapping(): void {
  if (!isBootstrapping()) return;
  throw new RuntimeError(
    'An attempt has been made to start a new process before the current process has ' +
      'finished its bootstrapping phase. This probably means that you are not using fork ' +
      'to start your child processes and the main module starts them at its top level, ' +
      'which runs again in every spawned process that loads it. Start them only when the ' +
      'module is the main program: if (require.main === module) { ... }',
  );
}

export const spawnBackend: Backend = {
  method: 'spawn',
  start(spec: ChildSpec): ChildHandle {
    checkNotBootstrapping();
    const target = targetRef(spec.target);
    const { value: args, fds } = collectFds(FIRST_SLOT, () => serialize(spec.args));
    const env = { ...process.env, ...arenaEnvironment() };
    const payload: SpawnPayload = {
      name: spec.name,
      daemon: spec.daemon,
      identity: spec.identity,
      parentName: spec.parentName,
      startMethod: 'spawn',
      authkey: spec.authkey,
      target,
      args,
      parentPid: process.pid,
      logging: loggingSetup(),
    };
    // Without the addon nothing here can wait for a child while this
    // thread's event loop is blocked (joinSync): a thread of its own starts
    // and reaps it.
    if (!native) {
      return spawnThroughSpawner({
        modulePath: BOOTSTRAP,
        execArgv: withoutEval(process.execArgv),
        execPath: executable,
        env,
        fds,
        payload,
      });
    }
    const child = childProcess.fork(BOOTSTRAP, [], {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc', ...fds],
      env,
      execPath: executable,
      serialization: 'advanced',
    });
    if (child.pid === undefined) {
      throw new NotSupportedError(`could not start a spawned process (${executable})`);
    }
    child.send(payload);
    return new SpawnChild(child);
  },
};
