// local: Python's threading.local. Every thread has its own isolate, so each
// thread naturally has its own copy of the object: the local travels to
// other threads by handle (an id), and each thread keeps one object per id,
// made on first arrival and initialised there once (subclass constructor or
// init function), exactly as Python runs a local subclass's __init__ once
// per thread.
import { kShare, type Revivers, type ShareState } from '../transfer/shareable';
import {
  TargetFunction,
  TargetSpec,
  callerFile,
  describeTarget,
  evaluateSource,
  explainReferenceError,
} from './target';

const KIND = 'forkful.threading.local';

// Web Crypto's randomUUID: node:crypto loads only when a local is made (it
// costs ~20 ms, and every entry point loads this module for its reviver).
function randomUUID(): string {
  return globalThis.crypto.randomUUID();
}

/** How a thread builds its own copy: nothing, an init function or a subclass,
 * with the arguments given at construction. */
type InitSpec =
  | { kind: 'none' }
  | { kind: 'function'; spec: TargetSpec & { kind: 'source' }; args: unknown[] }
  | { kind: 'class'; spec: TargetSpec & { kind: 'source' }; args: unknown[] };

interface LocalMeta {
  id: string;
  init: InitSpec;
}

const metas = new WeakMap<object, LocalMeta>();
// This thread's copy of every local it has seen, by id.
const byId = new Map<string, WeakRef<LocalBase>>();
const forget = new FinalizationRegistry<string>((id) => {
  if (!byId.get(id)?.deref()) byId.delete(id);
});
let adopting: LocalMeta | null = null;

function sourceSpec(fn: TargetFunction, what: string): TargetSpec & { kind: 'source' } {
  return describeTarget(fn, callerFile(), what) as TargetSpec & { kind: 'source' };
}

// The class itself keeps the name `local` (the sources of subclasses and
// error messages name it); the export below gives it generic typings.
const LocalBase = class local {
  constructor(...args: unknown[]) {
    let meta: LocalMeta;
    if (adopting) {
      meta = adopting;
      adopting = null;
    } else if (new.target !== local) {
      meta = {
        id: randomUUID(),
        init: {
          kind: 'class',
          spec: sourceSpec(new.target as unknown as TargetFunction, 'local subclass'),
          args,
        },
      };
    } else if (typeof args[0] === 'function') {
      const init = args[0] as TargetFunction;
      meta = {
        id: randomUUID(),
        init: {
          kind: 'function',
          spec: sourceSpec(init, 'local init function'),
          args: args.slice(1),
        },
      };
    } else if (args.length > 0) {
      throw new TypeError(
        'local() takes no initialization arguments except an init function: ' +
          'new local((self, ...args) => { ... }, ...args), or subclass local',
      );
    } else {
      meta = { id: randomUUID(), init: { kind: 'none' } };
    }
    metas.set(this, meta);
    byId.set(meta.id, new WeakRef(this));
    forget.register(this, meta.id);
    if (meta.init.kind === 'function' && typeof args[0] === 'function') {
      (args[0] as TargetFunction).call(this, this, ...args.slice(1));
    }
  }

  [kShare](): ShareState {
    const meta = metas.get(this)!;
    return { kind: KIND, state: { id: meta.id, init: meta.init } };
  }
};
type LocalBase = InstanceType<typeof LocalBase>;

/**
 * Per-thread attributes: `const data = new local(); data.x = 1` sets x for
 * the calling thread only. Pass the same local to several threads (in a
 * Thread's args) and each sees only its own attributes.
 *
 * `new local(init, ...args)` runs `init(self, ...args)` once in every thread
 * that uses the local; a subclass's constructor does the same (it runs once
 * per thread with the arguments it passed to super()). Both travel by source,
 * so they must be self-contained (a subclass may refer to `local`,
 * `threading` and `require`).
 */
export const local = LocalBase as LocalConstructor;

// An untyped local takes any attribute of any type, as Python's does.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyAttributes = Record<string, any>;

/** A thread-local object whose attributes are typed `T` (by default any
 * attribute). Each thread sees only the values it set, so an attribute a
 * thread has not set reads `undefined`: declare such attributes optional
 * (`local<{ student?: string }>`) unless an init function sets them. */
export type local<T extends object = AnyAttributes> = LocalBase & T;

/** `new local<T>()`, `new local<T, A>(init, ...args)`, and `extends local`. */
export interface LocalConstructor {
  new <T extends object = AnyAttributes>(): local<T>;
  new <T extends object = AnyAttributes, A extends unknown[] = unknown[]>(
    init: (self: local<T>, ...args: A) => void,
    ...args: A
  ): local<T>;
  /** A subclass passes its own constructor's arguments to super(). */
  new <T extends object = AnyAttributes>(...args: unknown[]): local<T>;
  readonly prototype: LocalBase;
}

// `class X extends a.b.local {`: how a subclass compiled to CommonJS names
// its base (tsx/esbuild: import_threading.local, swc: _index.local, tsc:
// threading_1.local), with the chain's root and middle.
const baseThroughModule =
  /^\(\s*class(?:\s+[\w$]+)?\s+extends\s+([A-Za-z_$][\w$]*)((?:\.[A-Za-z_$][\w$]*)*)\.local\s*\{/;

// The public namespaces a local's source may name (`threading.local`,
// `forkful.threading.local`): the entry points that define them provide them
// (threading/index.ts, lib/index.ts), lazily; this module never loads them.
const namespaces = new Map<'threading' | 'forkful', () => Record<string, unknown>>();

/** Called by an entry point: how to get its namespace when a local needs it. */
export function provideNamespace(
  name: 'threading' | 'forkful',
  get: () => Record<string, unknown>,
): void {
  namespaces.set(name, get);
}

function bindings(source?: string): Record<string, unknown> {
  const found: Record<string, unknown> = { local };
  for (const [name, get] of namespaces) found[name] = get();
  const threading = found.threading;
  const forkful = found.forkful;
  const match = source ? baseThroughModule.exec(source) : null;
  if (match && !(match[1] in found) && !(match[1] in globalThis)) {
    // The module variable the compiled class reads its base from: the forkful
    // module it names when the path leads to local from there, else the path.
    const chain = match[2].split('.').slice(1);
    const leadsToLocal = (root: unknown): boolean => {
      let at = root as Record<string, unknown> | undefined;
      for (const key of chain) at = at?.[key] as Record<string, unknown> | undefined;
      return at?.local === local;
    };
    found[match[1]] =
      [threading, forkful].filter(Boolean).find(leadsToLocal) ??
      chain.reduceRight<Record<string, unknown>>((inner, key) => ({ [key]: inner }), { local });
  }
  return found;
}

/** This thread's copy of the local `meta` describes (made on first use). */
function revive(meta: LocalMeta): LocalBase {
  const existing = byId.get(meta.id)?.deref();
  if (existing) return existing;
  const { init } = meta;
  try {
    if (init.kind === 'class') {
      const Class = evaluateSource(init.spec, bindings(init.spec.source)) as new (
        ...args: unknown[]
      ) => LocalBase;
      adopting = meta;
      return new Class(...init.args);
    }
    adopting = meta;
    const copy = new local();
    if (init.kind === 'function') {
      const fn = evaluateSource(init.spec, bindings()) as TargetFunction;
      fn.call(copy, copy, ...init.args);
    }
    return copy;
  } catch (err) {
    byId.delete(meta.id);
    throw init.kind === 'none' ? err : explainReferenceError(err, init.spec);
  } finally {
    adopting = null;
  }
}

/** In a Thread's isolate, between two threads: the next thread starts with
 * no copy of any local (each it uses is made and initialised afresh). */
export function forgetThreadLocals(): void {
  byId.clear();
}

/** How this module's kind is revived (installed by lib/shareables.ts). */
export const localRevivers: Revivers = {
  [KIND]: (state) => revive(state as LocalMeta),
};
