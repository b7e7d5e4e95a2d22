// How a target function travels to a spawned child: by module path + export
// name when some loaded module exports it, else as its source text (which
// works for a self-contained function: inside it `require` and `import()`
// load what it needs). A closure's captured variables cannot travel: the
// child then fails with a message that says so.
import * as path from 'node:path';
import * as vm from 'node:vm';
import { createRequire } from 'node:module';
import { NotSupportedError } from '../core/errors';
import { packageRoot } from '../core/native';
import { helperBindings, transpilerHelperHint } from './transpiler-helpers';

export type TargetRef =
  | { kind: 'module'; path: string; exportName: string | null }
  | {
      kind: 'source';
      source: string;
      requireFrom: string;
      name: string;
      /** Where the parent sent it from (the first caller outside forkful,
       * file:line), named in the child's stack traces. */
      sentFrom?: string;
    };

/** The module export that is `fn`: among the loaded modules (reading
 * getters: compiled re-exports are getters), or with `loading` among the
 * modules still loading (own values only: a getter there may not be ready). */
function findExport(fn: unknown, loading: boolean): TargetRef | null {
  for (const [loaded, mod] of Object.entries(require.cache)) {
    const file = compiled(loaded);
    if (!mod || mod.loaded === loading) continue;
    const exp = mod.exports as unknown;
    if (!exp) continue;
    if (exp === fn) return { kind: 'module', path: file, exportName: null };
    if (typeof exp !== 'object' && typeof exp !== 'function') continue;
    for (const key of Object.keys(exp as object)) {
      let value: unknown;
      try {
        value = loading
          ? (Object.getOwnPropertyDescriptor(exp, key) as { value?: unknown }).value
          : (exp as Record<string, unknown>)[key];
      } catch {
        continue;
      }
      if (value === fn) return { kind: 'module', path: file, exportName: key };
    }
  }
  return null;
}

const libDir = path.join(packageRoot, 'lib') + path.sep;

/** forkful's own module as a child loads it: run from the TypeScript sources
 * (ts-jest, tsx), lib/x.ts is dist/x.js (Node cannot strip all of ours). */
function compiled(file: string): string {
  if (!file.startsWith(libDir) || !file.endsWith('.ts')) return file;
  return path.join(packageRoot, 'dist', file.slice(libDir.length).replace(/\.ts$/, '.js'));
}

/** `extra`: names bound around the function too (its transpiler's helpers). */
function wrapSource(source: string, extra: string[] = []): string {
  const params = ['require', 'module', 'exports', '__filename', '__dirname', ...extra];
  return `(function (${params.join(', ')}) { return (${source}\n); })`;
}

/** The reference that lets a spawned child find `fn`. `includeLoading`:
 * the exports of modules still loading count first (a pool is usually
 * driven from the main module's top level, while it loads). */
export function targetRef(
  fn: (...args: never[]) => unknown,
  options: { includeLoading?: boolean } = {},
): TargetRef {
  if (typeof fn !== 'function') throw new TypeError('the target must be a function');
  const found = (options.includeLoading && findExport(fn, true)) || findExport(fn, false);
  if (found) return found;
  return sourceRef(fn);
}

/** `fn` as source text, even when a module exports it (forkful/cluster: a
 * path on this machine means nothing on another). */
export function sourceRef(fn: (...args: never[]) => unknown): TargetRef & { kind: 'source' } {
  if (typeof fn !== 'function') throw new TypeError('the target must be a function');
  const source = Function.prototype.toString.call(fn);
  const name = fn.name || 'anonymous';
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new NotSupportedError(
      `the target ${name} is a native or bound function, which cannot travel to a spawned ` +
        `process: use the 'fork' start method, or a function exported by a module`,
    );
  }
  try {
    new vm.Script(wrapSource(source));
  } catch {
    throw new NotSupportedError(
      `the target ${name} cannot be sent to a spawned process as source text (it is a class ` +
        `method or similar): export it from a module, or use the 'fork' start method`,
    );
  }
  const main = require.main?.filename;
  const requireFrom = main ?? path.join(process.cwd(), '[spawn-target]');
  const sentFrom = callerOutsideForkful();
  return { kind: 'source', source, requireFrom, name, ...(sentFrom && { sentFrom }) };
}

const ownDirs = [libDir, path.join(packageRoot, 'dist') + path.sep];

/** The file:line of the first caller outside forkful (Node's own modules
 * have no absolute path), or null: a function's own location has no JS API, the place
 * that started it is the next best name for a stack trace. */
function callerOutsideForkful(): string | null {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  Error.captureStackTrace(holder, callerOutsideForkful);
  Error.stackTraceLimit = limit;
  for (const line of (holder.stack ?? '').split('\n').slice(1)) {
    const at = /\(?((?:file:\/\/)?\/[^():]+|[A-Za-z]:\\[^():]+):(\d+):\d+\)?\s*$/.exec(line);
    if (!at) continue;
    const file = at[1].startsWith('file://') ? at[1].slice(7) : at[1];
    if (ownDirs.some((d) => file.startsWith(d))) continue;
    return `${file}:${at[2]}`;
  }
  return null;
}

/** In the child: the function a TargetRef names. */
export function resolveTarget(ref: TargetRef): (...args: unknown[]) => unknown {
  if (ref.kind === 'module') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(ref.path) as Record<string, unknown>;
    const fn = ref.exportName === null ? mod : mod[ref.exportName];
    if (typeof fn !== 'function') {
      throw new NotSupportedError(
        `${ref.path} no longer exports a function named ${ref.exportName ?? '(module.exports)'} ` +
          `in the spawned process`,
      );
    }
    return fn as (...args: unknown[]) => unknown;
  }
  const req = createRequire(ref.requireFrom);
  const filename = ref.requireFrom;
  const helpers = helperBindings(ref.source, req);
  const wrapper = vm.runInThisContext(wrapSource(ref.source, Object.keys(helpers)), {
    filename: `${ref.name} (sent to a spawned process as source${ref.sentFrom ? ` by ${ref.sentFrom}` : ''})`,
    importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  } as vm.RunningScriptOptions) as (...a: unknown[]) => (...args: unknown[]) => unknown;
  const module = { exports: {} };
  const dir = path.dirname(filename);
  return wrapper(req, module, module.exports, filename, dir, ...Object.values(helpers));
}

/** A hint for errors of a source-text target: a ReferenceError means the
 * function used something that exists only in the parent. */
export function closureHint(ref: TargetRef): (err: unknown) => string | null {
  return (err) => {
    if (ref.kind !== 'source' || !(err instanceof ReferenceError)) return null;
    const helper = transpilerHelperHint(err, ref.source);
    if (helper) {
      return `NotSupportedError: the target ${ref.name} was sent as source text. ${helper}`;
    }
    return (
      `NotSupportedError: the target ${ref.name} was sent to this spawned process as source ` +
      `text and uses a variable of its parent (${err.message}). Closures need the 'fork' ` +
      `start method; with 'spawn', export the function from a module or pass what it needs ` +
      `as args.`
    );
  };
}
