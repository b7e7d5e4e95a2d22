// What a Thread runs, and how it gets to the thread. Threads have their own
// V8 isolate, so a target travels either as a module export (loaded again in
// the thread) or as the source text of a self-contained function, compiled in
// the thread with `require` and `import()` resolving from the caller's file.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { packageRoot } from '../core/native';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as vm from 'node:vm';
import { SerializationError, ValueError } from '../core/errors';
import { helperBindings, transpilerHelperHint } from '../transfer/transpiler-helpers';

// A real import(): TypeScript's CommonJS output would turn import() into require().
const dynamicImport = new Function('specifier', 'return import(specifier)') as (
  specifier: string,
) => Promise<Record<string, unknown>>;

/** A module export as a thread target: `{ module: './work.js', export: 'run' }`.
 * `module` is a path (relative to the calling file), a file URL or a package. */
export interface ModuleTarget {
  module: string;
  export?: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TargetFunction = (...args: any[]) => unknown;

export type Target = TargetFunction | ModuleTarget;

/** A target on its way to a thread: plain data, structured-cloneable. */
export type TargetSpec =
  | {
      kind: 'source';
      /** An expression that evaluates to the function. */
      source: string;
      name: string;
      caller: string;
      /** Where the function's text starts in the caller's file (0-based),
       * when found there: stack traces in the thread then point at it. */
      line?: number;
      column?: number;
    }
  | { kind: 'module'; specifier: string; export: string; caller: string };

const ownDirs = [
  path.join(packageRoot, 'lib') + path.sep,
  path.join(packageRoot, 'dist') + path.sep,
];

function frameFile(name: string | null | undefined): string | null {
  if (!name || name.startsWith('node:') || name.startsWith('internal/')) return null;
  const file = name.startsWith('file:') ? fileURLToPath(name) : name;
  if (!path.isAbsolute(file)) return null;
  return ownDirs.some((dir) => file.startsWith(dir)) ? null : name;
}

/** The file (path or file URL) of the nearest caller outside forkful, or a
 * file in the working directory when there is none (REPL, -e). */
export function callerFile(): string {
  const saved = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  let sites: NodeJS.CallSite[] = [];
  try {
    Error.stackTraceLimit = 30;
    Error.prepareStackTrace = (_err, stack) => stack;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, callerFile);
    sites = (holder.stack as NodeJS.CallSite[]) ?? [];
  } finally {
    Error.prepareStackTrace = saved;
    Error.stackTraceLimit = savedLimit;
  }
  for (const site of sites) {
    const file = frameFile(site.getFileName());
    if (file) return file;
  }
  return path.join(process.cwd(), '[thread target]');
}

function callerPath(caller: string): string {
  return caller.startsWith('file:') ? fileURLToPath(caller) : caller;
}

/** Checks a function's source can be compiled on its own; returns the
 * expression that evaluates to it. */
function functionExpression(fn: TargetFunction, what: string): string {
  const source = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new SerializationError(
      `cannot send ${what} ${fn.name || '(anonymous)'}: it is a native or bound function, ` +
        `which has no source to send to the thread. Pass a plain function or ` +
        `{ module, export } naming a module export instead.`,
    );
  }
  for (const candidate of [`(${source})`, `({${source}})[${JSON.stringify(fn.name)}]`]) {
    try {
      new vm.Script(candidate);
      return candidate;
    } catch {
      // try the next form (a method's source is not an expression on its own)
    }
  }
  throw new SerializationError(
    `cannot send ${what} ${fn.name || '(anonymous)'}: its source does not compile on its own. ` +
      `Export it from a module and pass { module, export } instead.`,
  );
}

const fileTexts = new Map<string, string | null>();

/** Where `source` appears in the caller's file, if it does. */
function locate(source: string, caller: string): { line: number; column: number } | null {
  const file = callerPath(caller);
  let text = fileTexts.get(file);
  if (text === undefined) {
    try {
      text = fs.statSync(file).size <= 4 * 1024 * 1024 ? fs.readFileSync(file, 'utf8') : null;
    } catch {
      text = null;
    }
    fileTexts.set(file, text);
  }
  const at = text ? text.indexOf(source) : -1;
  if (!text || at < 0) return null;
  const before = text.slice(0, at);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length - 1, column: at - lineStart };
}

// A function started again and again (a thread per task) is checked once.
const described = new WeakMap<TargetFunction, Map<string, TargetSpec>>();

/** Turns what the user gave into a spec a thread can load. */
export function describeTarget(target: Target, caller: string, what = 'thread target'): TargetSpec {
  if (typeof target === 'function') {
    const byCaller = described.get(target) ?? new Map<string, TargetSpec>();
    const known = byCaller.get(`${what}\0${caller}`);
    if (known) return known;
    const where = locate(Function.prototype.toString.call(target), caller);
    const spec: TargetSpec = {
      kind: 'source',
      source: functionExpression(target, what),
      name: target.name || '(anonymous)',
      caller,
      ...where,
    };
    byCaller.set(`${what}\0${caller}`, spec);
    described.set(target, byCaller);
    return spec;
  }
  if (typeof target === 'object' && target !== null && typeof target.module === 'string') {
    const exportName = target.export ?? 'default';
    if (typeof exportName !== 'string') throw new ValueError(`${what}: export must be a string`);
    let specifier = target.module;
    if (specifier.startsWith('.') || path.isAbsolute(specifier)) {
      specifier = path.resolve(path.dirname(callerPath(caller)), specifier);
    }
    if (!specifier.startsWith('file:') && !specifier.startsWith('node:')) {
      try {
        specifier = createRequire(callerPath(caller)).resolve(specifier);
      } catch (err) {
        // ESM-only packages do not resolve with require(): import() will try.
        if (path.isAbsolute(specifier)) {
          throw new ValueError(`${what}: cannot find module ${target.module} (${specifier})`, {
            cause: err,
          });
        }
      }
    }
    return { kind: 'module', specifier, export: exportName, caller };
  }
  throw new TypeError(
    `${what} must be a function or { module, export } naming a module export, not ${
      target === null ? 'null' : typeof target
    }`,
  );
}

/** A short name for messages and Thread names. */
export function targetName(spec: TargetSpec): string {
  return spec.kind === 'source' ? spec.name : spec.export;
}

const closureHint =
  'Code sent to a thread by source (a Thread target, a Timer function, a local subclass or ' +
  "init function) runs with the thread's own globals: it cannot see the caller's closure " +
  '(variables and functions defined outside it). Pass values through args ' +
  '(new Thread({ target, args: [value] })), require() or import() modules inside the ' +
  'function, or export it from a module and pass { module, export }.';

/** Explains a ReferenceError raised by code sent by source: a helper its
 * transpiler inserted, or else a variable of the caller's closure. */
export function explainReferenceError(err: unknown, spec: TargetSpec): unknown {
  if (spec.kind !== 'source' || !(err instanceof Error) || err.name !== 'ReferenceError') {
    return err;
  }
  const match = /^(\S+) is not defined$/.exec(err.message);
  if (!match) return err;
  const original = err.message;
  const stack = err.stack; // formatted lazily: read it before the message changes
  err.message = `${original}. ${transpilerHelperHint(err, spec.source) ?? closureHint}`;
  if (typeof stack === 'string') err.stack = stack.replace(original, err.message);
  return err;
}

// vm's flag to resolve import() exactly as a file at `filename` would is
// experimental in Node 20 and warns (in the thread, at the first import()):
// that one warning is noise to the user, so it is dropped.
let warningFiltered = false;
function filterLoaderWarning(): void {
  if (warningFiltered) return;
  warningFiltered = true;
  const emit = process.emitWarning;
  process.emitWarning = function (warning: string | Error, ...rest: unknown[]) {
    const text = typeof warning === 'string' ? warning : warning?.message;
    if (typeof text === 'string' && text.includes('USE_MAIN_CONTEXT_DEFAULT_LOADER')) return;
    return (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
}

function compileWithMainLoader(body: string, params: string[], options: vm.CompileFunctionOptions) {
  const loader = (vm.constants as Record<string, unknown> | undefined)
    ?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  if (loader === undefined) {
    const base = pathToFileURL(options.filename!).href;
    return vm.compileFunction(body, params, {
      ...options,
      importModuleDynamically: ((specifier: string) =>
        dynamicImport(
          specifier.startsWith('.') ? new URL(specifier, base).href : specifier,
        )) as never,
    });
  }
  filterLoaderWarning();
  return vm.compileFunction(body, params, { ...options, importModuleDynamically: loader as never });
}

/** Compiles a function sent by source (in the thread), with `require`
 * resolving from the caller's file and any extra bindings in scope. */
export function evaluateSource(
  spec: TargetSpec & { kind: 'source' },
  bindings: Record<string, unknown> = {},
): unknown {
  const file = callerPath(spec.caller);
  const require = createRequire(file);
  // The helpers its transpiler put in the source, under the caller's bindings.
  const all = { ...helperBindings(spec.source, require), ...bindings };
  const names = ['require', ...Object.keys(all)];
  const values = [require, ...Object.values(all)];
  const body = `return ${spec.source};`;
  const options: vm.CompileFunctionOptions = { filename: file };
  if (spec.line !== undefined && spec.column !== undefined) {
    // The function's text follows `return (` (or `return ({` for a method).
    options.lineOffset = spec.line;
    options.columnOffset =
      spec.column - ('return '.length + (spec.source.startsWith('({') ? 2 : 1));
  }
  const factory = compileWithMainLoader(body, names, options);
  return factory(...values);
}

function isNotFound(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED';
}

/** import() of a bare specifier, resolved from the caller's file. */
function importFrom(caller: string, specifier: string): Promise<Record<string, unknown>> {
  const load = compileWithMainLoader('return import(specifier);', ['specifier'], {
    filename: callerPath(caller),
  });
  return load(specifier) as Promise<Record<string, unknown>>;
}

function isEsmRequireError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ERR_REQUIRE_ESM' || code === 'ERR_REQUIRE_ASYNC_MODULE';
}

// In a thread's isolate, the targets it compiled, for the next threads that
// run the same function there (compiling one costs ~0.2 ms). The function
// object is shared by them, as the threads of a Python process share it.
const compiled = new Map<string, TargetFunction>();
const COMPILED_MAX = 64;

function compiledTarget(spec: TargetSpec & { kind: 'source' }): TargetFunction {
  const key = `${spec.caller}\0${spec.line}:${spec.column}\0${spec.source}`;
  let fn = compiled.get(key);
  if (!fn) {
    fn = evaluateSource(spec) as TargetFunction;
    if (compiled.size >= COMPILED_MAX) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, fn);
  }
  return fn;
}

/** Loads a target in the thread (or, for run(), in the calling thread). */
export async function loadTarget(spec: TargetSpec): Promise<TargetFunction> {
  if (spec.kind === 'source') {
    return compiledTarget(spec);
  }
  let mod: Record<string, unknown>;
  const { specifier } = spec;
  if (specifier.startsWith('file:') || /\.mjs$/.test(specifier)) {
    mod = await dynamicImport(
      specifier.startsWith('file:') ? specifier : pathToFileURL(specifier).href,
    );
  } else {
    try {
      mod = createRequire(callerPath(spec.caller))(specifier);
    } catch (err) {
      const bare = !path.isAbsolute(specifier);
      // A bare name require() cannot resolve may be an ESM-only package.
      if (!isEsmRequireError(err) && !(bare && isNotFound(err))) throw err;
      mod = bare
        ? await importFrom(spec.caller, specifier)
        : await dynamicImport(pathToFileURL(specifier).href);
    }
  }
  let fn = mod?.[spec.export];
  if (fn === undefined && spec.export !== 'default' && mod?.default) {
    fn = (mod.default as Record<string, unknown>)[spec.export];
  }
  if (typeof fn !== 'function') {
    const names = Object.keys(mod ?? {}).join(', ') || 'nothing';
    throw new ValueError(
      `thread target: module ${specifier} has no function export '${spec.export}' ` +
        `(it exports: ${names})`,
    );
  }
  return fn as TargetFunction;
}
