// What a cluster task runs. A closure cannot cross to another machine, so a
// target is either a module export named by `{ module, export }` (resolved on
// the worker, from its working directory: the same code deployed there) or a
// self-contained function sent as its source text, as the spawn backend sends
// one (lib/backend/spawn-target does the checking and the resolving).
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { resolveTarget, sourceRef, type TargetRef } from '../transfer/spawn-target';
import { NotSupportedError } from '../core/errors';

/** A module export, resolved on the worker: `module` is a package name or a
 * path relative to the worker's working directory (`--cwd`); `export`
 * defaults to the module itself, or its default export. */
export interface ModuleTarget {
  module: string;
  export?: string;
}

// Any function a task may run: its arguments are checked by the caller's own
// types, not the pool's.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TaskFunction<R = unknown> = (...args: any[]) => R;

export type Target<R = unknown> = TaskFunction<R> | ModuleTarget;

/** How a target travels in a job. */
export type TargetSpec =
  | { kind: 'module'; module: string; export: string | null }
  | { kind: 'source'; source: string; name: string };

function isModuleTarget(value: unknown): value is ModuleTarget {
  return typeof value === 'object' && value !== null && 'module' in value;
}

/** The spec of `target`; throws (at the call) for what cannot travel. */
export function targetSpec(target: unknown): TargetSpec {
  if (typeof target === 'function') {
    let ref: TargetRef & { kind: 'source' };
    try {
      ref = sourceRef(target as (...args: never[]) => unknown);
    } catch (err) {
      const name = (target as { name?: string }).name || 'anonymous';
      throw new NotSupportedError(
        `the task ${name} cannot travel to a cluster worker: only a self-contained function ` +
          `(sent as its source text) or a module export named as { module, export } can ` +
          `(native, bound functions and class methods cannot)`,
        { cause: err },
      );
    }
    return { kind: 'source', source: ref.source, name: ref.name };
  }
  if (isModuleTarget(target)) {
    const exp = target.export;
    if (typeof target.module !== 'string' || target.module.length === 0) {
      throw new TypeError('a module target needs `module`: a package name or a path on the worker');
    }
    if (exp !== undefined && (typeof exp !== 'string' || exp.length === 0)) {
      throw new TypeError("a module target's `export` must be a non-empty string");
    }
    return { kind: 'module', module: target.module, export: exp ?? null };
  }
  throw new TypeError(
    `a cluster task must be a self-contained function or { module, export }, not ` +
      `${target === null ? 'null' : typeof target}`,
  );
}

/** A short name for the job (what BullMQ dashboards show). */
export function specName(spec: TargetSpec): string {
  return spec.kind === 'source' ? spec.name : `${spec.module}#${spec.export ?? 'default'}`;
}

export interface Resolved {
  fn: TaskFunction;
  /** For a function sent as source: turns the ReferenceError of a variable
   * that exists only on the caller into a message that says so. */
  hint: (err: unknown) => string | null;
}

const RESOLVED_MAX = 256;

/** Resolves specs on a worker, keeping each function's identity (the local
 * fork pool remembers functions by identity: a new one forks new workers). */
export class TargetCache {
  private readonly cache = new Map<string, Resolved>();
  constructor(private readonly cwd: string) {}

  resolve(spec: TargetSpec): Resolved {
    const key =
      spec.kind === 'source' ? `s:${spec.source}` : `m:${spec.module}#${spec.export ?? ''}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const resolved = this.resolveNew(spec);
    if (this.cache.size >= RESOLVED_MAX) {
      this.cache.delete(this.cache.keys().next().value as string);
    }
    this.cache.set(key, resolved);
    return resolved;
  }

  private resolveNew(spec: TargetSpec): Resolved {
    const from = path.join(this.cwd, '[forkful cluster task]');
    if (spec.kind === 'source') {
      const ref: TargetRef = {
        kind: 'source',
        source: spec.source,
        requireFrom: from,
        name: spec.name,
      };
      return { fn: resolveTarget(ref), hint: closureHint(spec.name) };
    }
    let file: string;
    try {
      file = createRequire(from).resolve(spec.module);
    } catch (err) {
      throw new NotSupportedError(
        `the task module '${spec.module}' is not found on this worker (resolved from ` +
          `${this.cwd}): deploy it there, or start the worker with --cwd where it is`,
        { cause: err },
      );
    }
    if (spec.export !== null) {
      return {
        fn: resolveTarget({ kind: 'module', path: file, exportName: spec.export }),
        hint: none,
      };
    }
    try {
      return { fn: resolveTarget({ kind: 'module', path: file, exportName: null }), hint: none };
    } catch {
      return {
        fn: resolveTarget({ kind: 'module', path: file, exportName: 'default' }),
        hint: none,
      };
    }
  }
}

const none = (): null => null;

// The ReferenceError comes back from the worker's local pool as itself (fork)
// or already wrapped by the spawn pool's own hint (spawn): either way, say it
// in the cluster's terms.
function closureHint(name: string): (err: unknown) => string | null {
  return (err) => {
    if (!(err instanceof Error)) return null;
    const missing =
      err.name === 'ReferenceError'
        ? err.message
        : err.name === 'NotSupportedError'
          ? /\(([^()]+ is not defined)\)/.exec(err.message)?.[1]
          : undefined;
    if (!missing) return null;
    return (
      `the task ${name} was sent to the cluster worker as source text and uses a variable ` +
      `of the caller (${missing}): a cluster task must be self-contained; pass what it ` +
      `needs as arguments, require() it inside the function, or use a module target`
    );
  };
}
