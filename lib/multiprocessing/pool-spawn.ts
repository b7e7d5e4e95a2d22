// Pool workers on the spawn backend: fresh Node processes (no fork), so a
// function travels as a module export (found among the loaded modules) or
// as the source text of a self-contained function, compiled in the worker.
// The worker's task and result pipes are its fds 3 and 4.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { NotSupportedError, SerializationError } from '../errors';
import { native, requireNative } from '../native';
import { signalNumber } from '../os';
import { Connection } from './connection';
import type { PoolWorkerProcess } from './pool-fork';
import type { AnyFunction } from './pool-worker';

export type FunctionSpec =
  | { kind: 'module'; file: string; key: string | null; name: string }
  | { kind: 'source'; source: string; name: string; base: string };

export interface SpawnSetup {
  initializer: FunctionSpec | null;
  initargs: unknown[];
  maxtasks: number | null;
}

/** The module export `fn` is, if any loaded module exports it. */
function findExport(fn: AnyFunction): { file: string; key: string | null } | null {
  for (const [file, mod] of Object.entries(require.cache)) {
    const exp = mod?.exports as unknown;
    if (exp === fn) return { file, key: null };
    if (exp && (typeof exp === 'object' || typeof exp === 'function')) {
      for (const key of Object.keys(exp)) {
        let value: unknown;
        try {
          value = (exp as Record<string, unknown>)[key];
        } catch {
          continue;
        }
        if (value === fn) return { file, key };
      }
    }
  }
  return null;
}

/** The expression that evaluates to fn's source, or null if none compiles. */
function sourceExpression(source: string, name: string): string | null {
  for (const candidate of [`(${source})`, `({${source}})[${JSON.stringify(name)}]`]) {
    try {
      new vm.Script(candidate);
      return candidate;
    } catch {
      // try the next shape (a method's shorthand source)
    }
  }
  return null;
}

/** How `fn` reaches a spawned worker; throws SerializationError if it cannot. */
export function describeFunction(fn: AnyFunction, what: string): FunctionSpec {
  const name = fn.name || '(anonymous)';
  const exported = findExport(fn);
  if (exported) return { kind: 'module', ...exported, name };
  const source = Function.prototype.toString.call(fn);
  const expr = /\{\s*\[native code\]\s*\}\s*$/.test(source) ? null : sourceExpression(source, name);
  if (!expr) {
    throw new SerializationError(
      `cannot send ${what} ${name} to a spawned pool worker: it is a native or bound function ` +
        `and no loaded module exports it. Export it from a module, or pass a plain ` +
        `self-contained function.`,
    );
  }
  const base = require.main?.filename ?? path.join(process.cwd(), '[pool]');
  return { kind: 'source', source: expr, name, base };
}

/** Builds the function a spec names (in the worker). */
export function defineFunction(spec: FunctionSpec): AnyFunction {
  if (spec.kind === 'module') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(spec.file);
    const fn = spec.key === null ? mod : mod[spec.key];
    if (typeof fn !== 'function') {
      throw new SerializationError(`${spec.file} no longer exports a function ${spec.name}`);
    }
    return fn;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const req = require('node:module').createRequire(spec.base);
  const compiled = vm.runInThisContext(`(function (require) { return ${spec.source}; })`, {
    filename: `${spec.name} [sent to pool worker]`,
  })(req) as AnyFunction;
  return function (this: unknown, ...args: unknown[]) {
    try {
      return compiled.apply(this, args);
    } catch (err) {
      if (err instanceof ReferenceError) {
        throw new SerializationError(
          `${err.message}: the function ${spec.name} reached this spawned worker as source text, ` +
            `without the variables it closes over. On the spawn backend a pool function must be ` +
            `self-contained (pass data as arguments) or exported by a module.`,
          { cause: err },
        );
      }
      throw err;
    }
  };
}

const WORKER_MAIN = path.join(__dirname, 'pool-spawn-main.js');

/** Starts one spawned worker. Needs the addon for its pipes (POSIX). */
export function spawnWorker(setup: SpawnSetup): PoolWorkerProcess {
  if (!native) {
    throw new NotSupportedError(
      "the Pool's spawn backend needs forkful's native addon for its pipes; " +
        'it is not available on this platform yet',
    );
  }
  const addon = requireNative('Pool (spawn backend)');
  const [taskR, taskW] = addon.nbPipe() as [number, number];
  const [resR, resW] = addon.nbPipe() as [number, number];
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...process.execArgv, WORKER_MAIN], {
      stdio: ['inherit', 'inherit', 'inherit', taskR, resW],
      env: { ...process.env, FORKFUL_POOL_WORKER: '1' },
    });
  } finally {
    addon.close(taskR);
    addon.close(resW);
  }
  const worker = new SpawnedWorker(
    child,
    new Connection(taskW, { readable: false }),
    new Connection(resR, { writable: false }),
  );
  worker.tasks.send(['setup', setup]);
  return worker;
}

interface FdWatch {
  start(): void;
  stop(): void;
  close(): void;
  ref(): void;
  unref(): void;
}

class SpawnedWorker implements PoolWorkerProcess {
  private readWatch: FdWatch | null = null;
  private exitCallback: ((code: number) => void) | null = null;
  private exited: number | null = null;

  constructor(
    private readonly child: ChildProcess,
    readonly tasks: Connection,
    readonly results: Connection,
  ) {
    child.on('exit', (code, signal) => {
      this.exited = code ?? -signalNumber(signal ?? 'SIGKILL');
      this.exitCallback?.(this.exited);
    });
    child.on('error', () => {
      // spawn failed: 'exit' may not come; report it as a failed worker
      if (this.exited === null) {
        this.exited = 127;
        this.exitCallback?.(127);
      }
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  onExit(callback: (exitcode: number) => void): void {
    this.exitCallback = callback;
    if (this.exited !== null) callback(this.exited);
  }

  onReadable(callback: () => void): void {
    const addon = requireNative('Pool');
    this.readWatch = new addon.FdWatch(this.results.fileno(), callback) as FdWatch;
    this.readWatch.start();
  }

  stopReading(): void {
    this.readWatch?.close();
    this.readWatch = null;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.exited === null) this.child.kill(signal);
  }

  ref(): void {
    this.child.ref();
    this.readWatch?.ref();
  }

  unref(): void {
    this.child.unref();
    this.readWatch?.unref();
  }

  forget(): void {
    this.exitCallback = null;
    this.stopReading();
    this.tasks.close();
    this.results.close();
  }
}
