// Functions sent to a thread by source carry their transpiler's helper calls
// (esbuild's __name, tsc's __importStar and __awaiter, swc's
// _async_to_generator, the `using` helpers...). forkful provides the
// self-contained ones in the thread: each test compiles the same code with a
// real transpiler and runs it twice in threads, once as the compiled module
// (with the transpiler's own helpers) and once sent by source (with
// forkful's), and the two must give the same results. Helpers that cannot be
// provided must be named as the transpiler's, not blamed on the closure.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import * as swc from '@swc/core';
import * as ts from 'typescript';
import { ExceptHookArgs, Thread, idleThreads, setExcepthook } from '../../lib/threading';
import { SerializationError } from '../../lib/core/errors';
import { transpilerHelperHint } from '../../lib/transfer/transpiler-helpers';

type Compile = (source: string) => string;

const compilers: Record<string, Compile> = {};
for (const target of ['node20', 'es2020', 'es2016']) {
  compilers[`esbuild ${target} keepNames`] = (source) =>
    esbuild.transformSync(source, { loader: 'ts', format: 'cjs', target, keepNames: true }).code;
}
for (const target of ['es2022', 'es2020', 'es2016'] as const) {
  compilers[`swc ${target}`] = (source) =>
    swc.transformSync(source, {
      jsc: { target, parser: { syntax: 'typescript' } },
      module: { type: 'commonjs' },
      swcrc: false,
      configFile: false,
    }).code;
}
for (const [name, target, importHelpers] of [
  ['ES2022', ts.ScriptTarget.ES2022, false],
  ['ES2016', ts.ScriptTarget.ES2016, false],
  ['ES2016 importHelpers', ts.ScriptTarget.ES2016, true],
] as const) {
  compilers[`tsc ${name}`] = (source) =>
    ts.transpileModule(source, {
      compilerOptions: {
        target,
        module: ts.ModuleKind.CommonJS,
        esModuleInterop: true,
        importHelpers,
        lib: ['lib.esnext.d.ts'],
      },
    }).outputText;
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forkful-transpiled-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** Writes `code` as a CommonJS module (its bare requires resolved from
 * here) and returns its path and its exports as this process sees them. */
function load(code: string): { file: string; exports: Record<string, unknown> } {
  const resolved = code.replace(
    /require\("(tslib)"\)/g,
    (_m, name: string) => `require(${JSON.stringify(require.resolve(name))})`,
  );
  const file = path.join(dir, `module-${files++}.cjs`);
  fs.writeFileSync(file, resolved);
  const module = { exports: {} as Record<string, unknown> };
  new Function('exports', 'require', 'module', resolved)(module.exports, require, module);
  return { file, exports: module.exports };
}

/** Runs a thread and waits for it (bounded). */
async function runThread(thread: Thread): Promise<void> {
  thread.start();
  await thread.join(30);
  expect(thread.isAlive()).toBe(false);
}

function captureExceptions(): { seen: ExceptHookArgs[]; restore(): void } {
  const seen: ExceptHookArgs[] = [];
  const previous = setExcepthook((args) => seen.push(args));
  return { seen, restore: () => setExcepthook(previous) };
}

function readResults(out: Int32Array): Record<string, string> {
  const length = Atomics.load(out, 0);
  if (length === 0) return {};
  return JSON.parse(new TextDecoder().decode(new Uint8Array(out.buffer, 4, length)));
}

const cases = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'transpile-cases.ts'), 'utf8');

/** What the compiled module gives, in threads, per compiler (memoised). */
const moduleResults = new Map<string, Promise<Record<string, string>>>();
function resultsAsModule(name: string): Promise<Record<string, string>> {
  if (!moduleResults.has(name)) {
    const { file } = load(compilers[name](cases));
    const out = new Int32Array(new SharedArrayBuffer(1 << 16));
    const thread = new Thread({ target: { module: file, export: 'run' }, args: [out] });
    moduleResults.set(
      name,
      runThread(thread).then(() => readResults(out)),
    );
  }
  return moduleResults.get(name)!;
}

describe.each(Object.entries(compilers))('%s', (name, compile) => {
  test('the function sent by source gives what the compiled module gives', async () => {
    const { exports } = load(compile(cases));
    const run = exports.run as (out: Int32Array) => Promise<void>;
    const hook = captureExceptions();
    try {
      const bySource = new Int32Array(new SharedArrayBuffer(1 << 16));
      const expected = { ...(await resultsAsModule(name)) };
      await runThread(new Thread({ target: run, args: [bySource] }));
      expect(hook.seen.map((s) => String((s.excValue as Error)?.stack))).toEqual([]);
      expect(Object.keys(expected)).toHaveLength(6);
      // swc's own disposal helper (@swc/core 1.16) names _SuppressedError,
      // which swc does not emit, when a disposal fails: there the reference
      // is esbuild's module.
      if (expected.using.includes('_SuppressedError is not defined')) {
        expect(name).toMatch(/^swc/);
        expected.using = (await resultsAsModule('esbuild node20 keepNames')).using;
      }
      expect(readResults(bySource)).toEqual(expected);
    } finally {
      hook.restore();
    }
  });
});

test('the cases do use helpers: each compiler inserted the ones forkful provides', () => {
  const used = (code: string) =>
    [
      ...new Set(code.match(/(?<![\w$.])(__[a-zA-Z]+|_[a-z]+(?:_[a-z]+)+|tslib_\d+)(?=\(|\.)/g)),
    ].sort();
  const sourceOf = (key: string) => String(load(compilers[key](cases)).exports.run);
  expect(used(sourceOf('esbuild node20 keepNames'))).toEqual([
    '__callDispose',
    '__name',
    '__using',
  ]);
  expect(used(sourceOf('esbuild es2016 keepNames'))).toEqual(
    expect.arrayContaining([
      '__async',
      '__objRest',
      '__publicField',
      '__spreadValues',
      '__restKey',
    ]),
  );
  expect(used(sourceOf('swc es2022'))).toEqual([
    '_interop_require_wildcard',
    '_ts_add_disposable_resource',
    '_ts_dispose_resources',
  ]);
  expect(used(sourceOf('swc es2016'))).toEqual(
    expect.arrayContaining([
      '_async_to_generator',
      '_define_property',
      '_object_spread',
      '_object_spread_props',
      '_object_without_properties',
    ]),
  );
  expect(used(sourceOf('tsc ES2022'))).toEqual([
    '__addDisposableResource',
    '__disposeResources',
    '__importStar',
  ]);
  expect(used(sourceOf('tsc ES2016'))).toEqual(
    expect.arrayContaining(['__awaiter', '__rest', '__importStar']),
  );
  expect(used(sourceOf('tsc ES2016 importHelpers'))).toEqual(['tslib_1']);
});

describe('helpers forkful cannot provide are named as the transpiler’s', () => {
  // Each in a fresh isolate: a thread of the tests above loaded tslib, whose
  // helpers then sit on the globalThis of the isolate that ran it (reused
  // for later threads, as a Python process keeps what a module set).
  let previousIdle = 0;
  beforeAll(() => (previousIdle = idleThreads(0)));
  afterAll(() => idleThreads(previousIdle));
  const privateMembers = `export const run = () => {
    class Box { #count = 1; get count() { return this.#count; } }
    return new Box().count;
  };`;
  const asyncGenerator = `export const run = async () => {
    async function* numbers() { yield 1; }
    for await (const n of numbers()) return n;
  };`;
  test.each([
    [
      'esbuild es2020',
      compilers['esbuild es2020 keepNames'],
      privateMembers,
      /^__privateAdd is not defined\. __privateAdd is a helper that your TypeScript or JavaScript transpiler .* #private class members .* ES2022/,
    ],
    [
      'swc es2020',
      compilers['swc es2020'],
      privateMembers,
      /^_class_private_field_init is not defined\. _class_private_field_init is a helper .* #private/,
    ],
    [
      'tsc ES2016',
      compilers['tsc ES2016'],
      privateMembers,
      /^__classPrivateFieldGet is not defined\. .* #private class members/,
    ],
    [
      'swc es2016',
      compilers['swc es2016'],
      asyncGenerator,
      /^(_async_iterator|_wrap_async_generator) is not defined\. .* async generator or for await; .* ES2018/,
    ],
  ])('%s', async (_name, compile, source, message) => {
    const run = load(compile(source)).exports.run as () => unknown;
    const hook = captureExceptions();
    try {
      await runThread(new Thread({ target: run }));
      expect(hook.seen).toHaveLength(1);
      const err = hook.seen[0].excValue as Error;
      expect(err.name).toBe('ReferenceError');
      expect(err.message).toMatch(message);
      expect(err.message).not.toMatch(/closure/);
    } finally {
      hook.restore();
    }
  });
});

describe('a local subclass compiled to CommonJS', () => {
  // tsc writes `class Counter extends threading_1.local`: the thread must
  // find local through that module variable.
  const threading = path.join(__dirname, '..', '..', 'lib', 'threading');
  const compile = (target: ts.ScriptTarget, body: string) =>
    ts.transpileModule(
      `import { local } from ${JSON.stringify(threading)};\nexport class Counter extends local {\n${body}\n}`,
      { compilerOptions: { target, module: ts.ModuleKind.CommonJS } },
    ).outputText;
  const read = (counter: unknown, out: Int32Array) => {
    out[0] = (counter as { n: number }).n;
  };

  test('reaches local through the module variable its base is read from', async () => {
    const code = compile(ts.ScriptTarget.ES2022, 'n = 5;');
    expect(code).toMatch(/extends \w+_1\.local/);
    const Counter = load(code).exports.Counter as new () => { n: number };
    const counter = new Counter();
    counter.n = 6; // this thread's copy
    const out = new Int32Array(new SharedArrayBuffer(4));
    const hook = captureExceptions();
    try {
      await runThread(new Thread({ target: read, args: [counter, out] }));
      expect(hook.seen.map((s) => String((s.excValue as Error)?.stack))).toEqual([]);
      expect(out[0]).toBe(5);
    } finally {
      hook.restore();
    }
  });

  test('#private members lowered outside the class are named as the transpiler’s', async () => {
    const code = compile(ts.ScriptTarget.ES2020, '#n = 5; get n() { return this.#n; }');
    const Counter = load(code).exports.Counter as new () => { n: number };
    const hook = captureExceptions();
    try {
      const out = new Int32Array(new SharedArrayBuffer(4));
      await runThread(new Thread({ target: read, args: [new Counter(), out] }));
      expect(hook.seen).toHaveLength(1);
      const err = hook.seen[0].excValue as Error;
      expect(err).toBeInstanceOf(SerializationError);
      expect(err.name).toBe('SerializationError');
      expect(err.message).toMatch(
        /_Counter_n is not defined\. The function's code calls __classPrivateField(Get|Set), a helper .* #private class members .*: _Counter_n is most likely part of that/,
      );
      expect(err.message).not.toMatch(/closure/);
    } finally {
      hook.restore();
    }
  });
});

describe('transpilerHelperHint', () => {
  const hint = (name: string, source = `() => ${name}()`) =>
    transpilerHelperHint(new ReferenceError(`${name} is not defined`), source);

  test.each([
    ['__decorateClass', 'applied decorators'],
    ['_ts_decorate', 'applied decorators'],
    ['__generator', 'for an old JavaScript version'],
    ['_class_call_check', 'for an old JavaScript version'],
    ['__toESM', 'into a bundle'],
    ['__vite_ssr_import_0__', "vite/vitest's module runner"],
    ['__vite_ssr_dynamic_import__', "vite/vitest's module runner"],
    ['cov_2mofekog2r', 'code-coverage counters'],
  ])('%s is named as a helper that %s', (name, what) => {
    expect(hint(name)).toContain(`${name} is a helper that your TypeScript or JavaScript`);
    expect(hint(name)).toContain(what);
  });

  test('a variable of the closure is not blamed on the transpiler', () => {
    expect(hint('config')).toBeNull();
    expect(hint('_config')).toBeNull();
    // even in a function with a lowered #private member: no leading underscore
    expect(hint('config', 'function () { __classPrivateFieldGet(a, b, "f"); config; }')).toBeNull();
    expect(transpilerHelperHint(new TypeError('x is not a function'), 'x()')).toBeNull();
  });
});
