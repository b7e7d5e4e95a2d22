// Functions that travel by source (Thread targets, Timer functions, local
// init functions and subclasses, spawn-backend targets) are compiled again
// where they run, away from the module they were written in. A transpiler
// (tsx/esbuild, swc, TypeScript) may have put calls to its own helpers into
// such a function: `__name(...)` for esbuild's keepNames, `__importStar` for
// import() in CommonJS output, `__using` for `using` declarations... Those
// helpers are module-level functions of the compiled file, so the function
// would fail there with "ReferenceError: __name is not defined".
//
// This module gives the compiled function the helpers it uses that are
// self-contained (they depend only on their arguments), written here with
// the transpilers' semantics, and explains the ones that cannot be provided
// (they work with state outside the function, or change how the code around
// the function runs).

/* eslint-disable @typescript-eslint/no-explicit-any */
type Fn = (...args: any[]) => any;
type Dict = Record<PropertyKey, any>;

// ---- names, class fields, object spread and rest ----------------------------

/** Defines an own data property, as a class field or object literal does. */
function defineField(obj: object, key: PropertyKey, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, configurable: true, writable: true });
}

/** The own enumerable keys (strings, then symbols) object spread copies. */
function spreadKeys(source: unknown): PropertyKey[] {
  if (source === null || source === undefined) return [];
  const obj = Object(source) as object;
  return Reflect.ownKeys(obj).filter((key) => Object.prototype.propertyIsEnumerable.call(obj, key));
}

function spreadInto(target: Dict, ...sources: unknown[]): Dict {
  for (const source of sources) {
    for (const key of spreadKeys(source)) defineField(target, key, (source as Dict)[key]);
  }
  return target;
}

function restOf(source: unknown, excluded: readonly PropertyKey[]): Dict {
  const rest: Dict = {};
  for (const key of spreadKeys(source)) {
    if (!excluded.includes(key)) rest[key] = (source as Dict)[key];
  }
  return rest;
}

// ---- async functions lowered to generators ----------------------------------

/** Runs a generator that yields awaited values, as an async function would. */
function runAsync(
  PromiseClass: PromiseConstructor,
  generator: Generator<unknown, unknown, unknown>,
): Promise<unknown> {
  return new PromiseClass((resolve, reject) => {
    const step = (advance: () => IteratorResult<unknown, unknown>): void => {
      let result: IteratorResult<unknown, unknown>;
      try {
        result = advance();
      } catch (err) {
        reject(err);
        return;
      }
      if (result.done) {
        resolve(result.value);
        return;
      }
      const value = result.value;
      const awaited =
        value instanceof PromiseClass ? value : new PromiseClass((done) => done(value));
      awaited.then(
        (v) => step(() => generator.next(v)),
        (e) => step(() => generator.throw(e)),
      );
    };
    step(() => generator.next(undefined));
  });
}

// ---- module interop for import() in CommonJS output --------------------------

/** TypeScript's import * (esModuleInterop): live getters, `default` = the module. */
function importStar(mod: any): any {
  if (mod && mod.__esModule) return mod;
  const result: Dict = {};
  if (mod !== null && mod !== undefined) {
    for (const key of Object.getOwnPropertyNames(mod)) {
      if (key === 'default') continue;
      const desc = Object.getOwnPropertyDescriptor(mod, key)!;
      // A frozen value is copied as it is; anything else reads through.
      const frozen = !('get' in desc) && !desc.writable && !desc.configurable;
      Object.defineProperty(result, key, frozen ? desc : { enumerable: true, get: () => mod[key] });
    }
  }
  Object.defineProperty(result, 'default', { enumerable: true, value: mod });
  return result;
}

const wildcards = [new WeakMap<object, Dict>(), new WeakMap<object, Dict>()];

/** swc's import *: a null-prototype copy, one per module (nodeInterop: as
 * Node imports CommonJS, even a module marked __esModule). */
function interopWildcard(mod: any, nodeInterop?: boolean): any {
  if (!nodeInterop && mod && mod.__esModule) return mod;
  if (mod === null || (typeof mod !== 'object' && typeof mod !== 'function')) {
    return { default: mod };
  }
  const cache = wildcards[nodeInterop ? 1 : 0];
  const cached = cache.get(mod);
  if (cached) return cached;
  const result: Dict = Object.create(null);
  for (const key of Object.keys(mod)) {
    if (key === 'default') continue;
    const desc = Object.getOwnPropertyDescriptor(mod, key);
    if (desc && (desc.get || desc.set)) Object.defineProperty(result, key, desc);
    else result[key] = mod[key];
  }
  result.default = mod;
  cache.set(mod, result);
  return result;
}

// ---- `using` and `await using` lowered ----------------------------------------

interface Resource {
  value: unknown;
  dispose: Fn | undefined;
  async: boolean;
}

const SuppressedErrorClass: new (error: unknown, suppressed: unknown, message: string) => Error =
  (globalThis as any).SuppressedError ??
  class SuppressedError extends Error {
    error: unknown;
    suppressed: unknown;
    constructor(error: unknown, suppressed: unknown, message: string) {
      super(message);
      this.name = 'SuppressedError';
      this.error = error;
      this.suppressed = suppressed;
    }
  };

const disposeSymbol: symbol = (Symbol as any).dispose ?? Symbol.for('Symbol.dispose');
const asyncDisposeSymbol: symbol =
  (Symbol as any).asyncDispose ?? Symbol.for('Symbol.asyncDispose');

/** The resource a `using` (or `await using`) declaration adds to its scope. */
function resourceOf(value: unknown, isAsync: boolean, withDot: boolean): Resource {
  if (value === null || value === undefined) return { value, dispose: undefined, async: isAsync };
  if (typeof value !== 'object' && typeof value !== 'function') {
    throw new TypeError(withDot ? 'Object expected.' : 'Object expected');
  }
  let dispose: Fn | undefined;
  if (isAsync) dispose = (value as Dict)[asyncDisposeSymbol];
  if (dispose === undefined) {
    const sync = (value as Dict)[disposeSymbol] as Fn | undefined;
    // await using on a value with only Symbol.dispose: its error is awaited.
    dispose =
      isAsync && typeof sync === 'function'
        ? function (this: unknown) {
            try {
              sync.call(this);
            } catch (err) {
              return Promise.reject(err);
            }
          }
        : sync;
  }
  if (typeof dispose !== 'function') {
    throw new TypeError(withDot ? 'Object not disposable.' : 'Object not disposable');
  }
  return { value, dispose, async: isAsync };
}

/** Disposes `stack` last first, as the end of a `using` scope does: the
 * error (if any) is thrown, later ones wrapped in SuppressedError; a Promise
 * when any resource was declared with `await using`. */
function disposeAll(stack: Resource[], error: unknown, hasError: boolean): Promise<void> | void {
  let failure = error;
  let failed = hasError;
  const fail = (err: unknown): void => {
    failure = failed
      ? new SuppressedErrorClass(err, failure, 'An error was suppressed during disposal.')
      : err;
    failed = true;
  };
  const next = (): Promise<void> | void => {
    for (let resource = stack.pop(); resource; resource = stack.pop()) {
      try {
        const result = resource.dispose?.call(resource.value);
        if (resource.async) {
          return Promise.resolve(result).then(next, (err) => {
            fail(err);
            return next();
          });
        }
      } catch (err) {
        fail(err);
      }
    }
    if (failed) throw failure;
  };
  return next();
}

interface DisposableEnv {
  stack: Resource[];
  error: unknown;
  hasError: boolean;
}

// ---- the table --------------------------------------------------------------

/** What each supported helper is, under the name its transpiler gives it. */
const provided: Record<string, () => unknown> = {
  // esbuild (tsx, vite, tsup, ...)
  __name: () => (target: Fn, value: string) =>
    Object.defineProperty(target, 'name', { value, configurable: true }),
  __publicField: () => (obj: object, key: PropertyKey, value: unknown) => {
    defineField(obj, typeof key === 'symbol' ? key : String(key), value);
    return value;
  },
  __async: () => (self: unknown, args: unknown, generator: Fn) =>
    runAsync(Promise, generator.apply(self, args as unknown[])),
  __spreadValues: () => (target: Dict, source: unknown) => spreadInto(target, source),
  __spreadProps: () => (target: Dict, source: object) =>
    Object.defineProperties(target, Object.getOwnPropertyDescriptors(source)),
  __objRest: () => restOf,
  __restKey: () => (key: unknown) => (typeof key === 'symbol' ? key : String(key)),
  __using: () => (stack: unknown[], value: unknown, isAsync?: boolean) => {
    const resource = resourceOf(value, Boolean(isAsync), false);
    if (resource.dispose || resource.async) stack.push(resource);
    return value;
  },
  __callDispose: () => (stack: Resource[], error: unknown, hasError: boolean) =>
    disposeAll(stack, error, hasError),
  // TypeScript (tsc, ts-node, ts-jest)
  __awaiter: () => (self: unknown, args: unknown, P: PromiseConstructor | undefined, g: Fn) =>
    runAsync(P ?? Promise, g.apply(self, (args ?? []) as unknown[])),
  __rest: () => restOf,
  __importStar: () => importStar,
  __addDisposableResource: () => addDisposableResource,
  __disposeResources: () => disposeResources,
  // swc (ts-node --swc, @swc-node/register, @swc/jest)
  _async_to_generator: () => (fn: Fn) =>
    function (this: unknown, ...args: unknown[]) {
      return runAsync(Promise, fn.apply(this, args));
    },
  _define_property: () => (obj: object, key: PropertyKey, value: unknown) => {
    defineField(obj, key, value);
    return obj;
  },
  _object_spread: () => spreadInto,
  _object_spread_props: () => (target: Dict, source: object) =>
    Object.defineProperties(target, Object.getOwnPropertyDescriptors(Object(source))),
  _object_without_properties: () => restOf,
  // ToPropertyKey, as a computed key in an object literal applies it.
  _to_property_key: () => (key: unknown) => Reflect.ownKeys({ [key as PropertyKey]: 0 })[0],
  _interop_require_wildcard: () => interopWildcard,
  _ts_add_disposable_resource: () => addDisposableResource,
  _ts_dispose_resources: () => disposeResources,
};

function addDisposableResource(env: DisposableEnv, value: unknown, isAsync: boolean): unknown {
  const resource = resourceOf(value, isAsync, true);
  if (resource.dispose || resource.async) env.stack.push(resource);
  return value;
}

function disposeResources(env: DisposableEnv): Promise<void> | void {
  return disposeAll(env.stack, env.error, env.hasError);
}

/** Helpers that cannot be given to a function compiled on its own, and why. */
const notProvided: Array<{ names: RegExp; what: string; fix: string }> = [
  {
    names:
      /^(__private(Get|Set|Add|Method|Wrapper|In)|__accessCheck|__classPrivateField(Get|Set|In)|_class_(static_)?private_(field|method)_\w+|_check_private_redeclaration)$/,
    what: 'lowered #private class members into WeakMaps kept outside the function',
    fix: 'compile for ES2022 or later (tsconfig "target"), which keeps #private members native',
  },
  {
    names:
      /^(__await|__asyncGenerator|__yieldStar|__forAwait|__asyncValues|__asyncDelegator|_wrap_async_generator|_await_async_generator|_async_iterator|_async_generator_delegate)$/,
    what: 'lowered an async generator or for await',
    fix: 'compile for ES2018 or later (tsconfig "target"; ES2022 recommended)',
  },
  {
    names:
      /^(__generator|__extends|__spreadArray|__read|__values|__spread|__makeTemplateObject|__template|__pow|_class_call_check|_create_class|_inherits|_create_super|_call_super|_possible_constructor_return|_get_prototype_of|_sliced_to_array|_to_consumable_array|_type_of|_instanceof|_tagged_template_literal)$/,
    what: 'lowered the code for an old JavaScript version',
    fix: 'compile for ES2022 or later (tsconfig "target")',
  },
  {
    names:
      /^(__decorate|__decorateClass|__decorateElement|__decoratorStart|__decoratorMetadata|__runInitializers|__esDecorate|__setFunctionName|__propKey|__metadata|__param|_ts_decorate|_ts_metadata|_ts_param|_apply_decs_\w+)$/,
    what: 'applied decorators',
    fix: 'decorators run with code outside the function: export the function or class from a module and pass { module, export }',
  },
  {
    names: /^(__toESM|__toCommonJS|__commonJS|__esm|__export|__reExport|__copyProps)$/,
    what: "rewrote the module's imports into a bundle",
    fix: 'require() or import() what the function needs inside it, or export it from a module and pass { module, export }',
  },
  {
    names: /^__vi(te)?_(ssr_)?(dynamic_)?import(_\d+)?__$|^__vi_import_\d+__$/,
    what: "rewrote the module's imports (vite/vitest's module runner)",
    fix: 'require() what the function needs inside it, or export it from a module and pass { module, export }',
  },
  {
    names: /^cov_[a-z0-9]+$/,
    what: 'inserted code-coverage counters (istanbul)',
    fix: 'leave the file out of coverage instrumentation, use the v8 coverage provider, or export the function from a module and pass { module, export }',
  },
];

const identifiers = /[A-Za-z_$][\w$]*/g;

/** The helpers `source` uses that forkful provides and the thread's globals
 * lack, by name (to bind around the compiled function). `tslib_N` (from
 * TypeScript's importHelpers) is tslib itself, loaded with `require`. */
export function helperBindings(source: string, require: NodeJS.Require): Record<string, unknown> {
  const bindings: Record<string, unknown> = {};
  for (const name of new Set(source.match(identifiers))) {
    if (name in globalThis) continue;
    if (Object.prototype.hasOwnProperty.call(provided, name)) {
      bindings[name] = provided[name]();
    } else if (/^tslib(_\d+)?$/.test(name)) {
      try {
        bindings[name] = require('tslib');
      } catch {
        // not installed: the function then names tslib in its ReferenceError
      }
    }
  }
  return bindings;
}

/** When `err` is a ReferenceError for a transpiler's helper that forkful
 * cannot provide, or for something such a helper keeps outside the function
 * (`source` uses the helper), a sentence saying so and what to do; else null. */
export function transpilerHelperHint(err: unknown, source: string): string | null {
  if (!(err instanceof Error) || err.name !== 'ReferenceError') return null;
  const match = /^(\S+) is not defined/.exec(err.message);
  if (!match) return null;
  const name = match[1];
  const tools = 'your TypeScript or JavaScript transpiler (tsx/esbuild, swc, tsc, a bundler)';
  const direct = notProvided.find((entry) => entry.names.test(name));
  if (direct) {
    return (
      `${name} is a helper that ${tools} inserted into the function's code when it ` +
      `${direct.what}; it exists only in the compiled module, not where the function is ` +
      `sent, and forkful cannot provide it. To fix: ${direct.fix}.`
    );
  }
  // Transpilers name what they hoist with a leading underscore (_Box_count).
  if (!name.startsWith('_')) return null;
  for (const helper of new Set(source.match(identifiers))) {
    const entry = notProvided.find((e) => e.names.test(helper));
    if (!entry) continue;
    return (
      `The function's code calls ${helper}, a helper that ${tools} inserted when it ` +
      `${entry.what}: ${name} is most likely part of that, kept outside the function by the ` +
      `transpiler. To fix: ${entry.fix}.`
    );
  }
  return null;
}
