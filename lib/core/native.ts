// The one place that loads the addon. Everything native goes through here;
// where the addon cannot load (Windows, no build for this Node), `native` is
// null and callers use `requireNative()` to fail with a NotSupportedError.
//
// The addon uses Node's C++ embedder API, so a binary is valid only on the
// Node line it was built for; it says which (builtFor) and refuses another
// line before registering anything (abiMismatch); a local build records its
// ABI beside it (forkful.abi), so one for another line is not even loaded.
// The binaries looked at, in order: the local build (build/Release), then
// the prebuild for this Node's ABI
// (prebuilds/<platform>-<arch>/forkful.abi<N>[.glibc|.musl].node, the
// names node-gyp-build and prebuildify use). FORKFUL_PREBUILD=<file> names
// the one binary to use instead; PREBUILDS_ONLY=1 skips the local build.
// nativeStatus() says which binary loaded, or why none did; on Linux a
// missing addon is also said once per process tree, as a ForkfulWarning.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkExports, type NativeAddon } from './addon';
import { isMainThread } from 'node:worker_threads';
import * as errors from './errors';
import { NotSupportedError } from './errors';

export type { NativeAddon } from './addon';

/** The classes native code may construct, by name. */
const nativeErrorClasses = {
  OSError: errors.OSError,
  ValueError: errors.ValueError,
  RuntimeError: errors.RuntimeError,
  NotSupportedError: errors.NotSupportedError,
  TimeoutError: errors.TimeoutError,
  ProcessError: errors.ProcessError,
  ForkError: errors.ForkError,
  BrokenBarrierError: errors.BrokenBarrierError,
};

/** The folder holding package.json: lib/core and dist/core sit two levels below. */
export const packageRoot = path.resolve(__dirname, '..', '..');

// node-gyp-build's rule (LIBC overrides it): musl on Alpine, else glibc.
function libcTag(): 'glibc' | 'musl' {
  if (process.env.LIBC === 'musl' || process.env.LIBC === 'glibc') return process.env.LIBC;
  return fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
}

/** The binaries to try, most specific first. */
function candidates(): string[] {
  if (process.env.FORKFUL_PREBUILD) return [path.resolve(process.env.FORKFUL_PREBUILD)];
  const found: string[] = [];
  // PREBUILDS_ONLY=1 skips the local build, as node-gyp-build does.
  const local = process.env.PREBUILDS_ONLY ? [] : ['build/Release', 'build/Debug'];
  for (const dir of local) {
    const file = path.join(packageRoot, dir, 'forkful.node');
    if (fs.existsSync(file)) found.push(file);
  }
  const prebuilds = path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`);
  let names: string[] = [];
  try {
    names = fs.readdirSync(prebuilds);
  } catch {
    // no prebuilds folder: a source checkout
  }
  const abi = `abi${process.versions.modules}`;
  const libc = process.platform === 'linux' ? libcTag() : null;
  const matching = names.filter((name) => {
    const tags = name.split('.');
    if (tags[0] !== 'forkful' || tags[tags.length - 1] !== 'node' || !tags.includes(abi)) {
      return false;
    }
    const fileLibc = tags.find((t) => t === 'glibc' || t === 'musl');
    return !fileLibc || !libc || fileLibc === libc;
  });
  // A libc-tagged file is more specific than an untagged one.
  matching.sort((a, b) => b.split('.').length - a.split('.').length);
  for (const name of matching) found.push(path.join(prebuilds, name));
  return found;
}

let loaded: NativeAddon | null = null;
let loadError: Error | null = null;
let loadedFrom: string | null = null;

/**
 * The ABI a build recorded beside its binary (forkful.abi, written by
 * binding.gyp), or null where none was recorded (an older build, a prebuild:
 * its name says it).
 */
function recordedAbi(file: string): string | null {
  try {
    return fs.readFileSync(path.join(path.dirname(file), 'forkful.abi'), 'utf8').trim();
  } catch {
    return null;
  }
}

function load(): void {
  const rejected: string[] = [];
  for (const file of candidates()) {
    // A build for another Node is refused before dlopen: loading it would run
    // its static initialisers (registrations with Node's API) in this Node.
    const abi = recordedAbi(file);
    if (abi !== null && abi !== process.versions.modules) {
      rejected.push(
        `${shown(file)}: built for Node ABI ${abi}, this is ${process.versions.modules} (\`npm rebuild forkful\` builds one for it)`,
      );
      continue;
    }
    let addon: NativeAddon;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      addon = require(file) as NativeAddon;
    } catch (err) {
      // The first line: dlopen's reason (GLIBC_2.34 not found...), not the require stack.
      rejected.push(`${shown(file)}: ${(err as Error).message.split('\n')[0]}`);
      continue;
    }
    if (typeof addon.abiMismatch === 'string') {
      rejected.push(
        `${shown(file)}: ${addon.abiMismatch} (\`npm rebuild forkful\` builds one for it)`,
      );
      continue;
    }
    // A binary built from other sources than these (lib/core/addon types them).
    const wrong = checkExports(addon as unknown as Record<string, unknown>);
    if (wrong) {
      rejected.push(`${shown(file)}: not built from these sources (${wrong})`);
      continue;
    }
    addon.registerErrorClasses(nativeErrorClasses);
    loaded = addon;
    loadedFrom = file;
    return;
  }
  const what = `Node ${process.version} (ABI ${process.versions.modules}, ${platformTag()})`;
  loadError = new Error(
    process.platform !== 'linux' && rejected.length === 0
      ? `forkful's native addon is built for Linux only (memfd, futex, pidfd); this is ${what}`
      : rejected.length === 0
        ? `no build of forkful's native addon for ${what} was found${installNote()}`
        : `no usable build of forkful's native addon for ${what}: ${rejected.join('; ')}` +
          installNote(),
  );
}

/** A binary's path, relative to the package when it is inside. */
function shown(file: string): string {
  const rel = path.relative(packageRoot, file);
  return rel.startsWith('..') ? file : rel;
}

/** 'linux-x64 (glibc)', 'darwin-arm64'. */
function platformTag(): string {
  const tag = `${process.platform}-${process.arch}`;
  return process.platform === 'linux' ? `${tag} (${libcTag()})` : tag;
}

/** What the install script left when it could not compile the addon. */
function installNote(): string {
  try {
    const file = path.join(packageRoot, 'build', 'forkful-install.json');
    const status = JSON.parse(fs.readFileSync(file, 'utf8')) as { error?: string };
    if (status.error) return `; compiling it at install failed: ${status.error}`;
  } catch {
    // no note: the install script did not run (--ignore-scripts) or did not fail
  }
  return '';
}

if (process.platform === 'win32') {
  loadError = new Error('Windows has no fork()');
} else if (process.env.FORKFUL_NO_NATIVE === '1') {
  loadError = new Error('FORKFUL_NO_NATIVE=1');
} else {
  load();
}

/** The addon, or null where it could not load. */
export const native: NativeAddon | null = loaded;

/** Why the addon is absent (null when it loaded). */
export const nativeLoadError: Error | null = loadError;

/** The addon, or a NotSupportedError naming `what` and the way out. */
export function requireNative(what: string): NativeAddon {
  if (loaded) return loaded;
  const fix = fixFor();
  throw new NotSupportedError(
    `${what} needs forkful's native addon, which is not available here (${loadError?.message})` +
      (fix ? `. Fix: ${fix}.` : '.'),
  );
}

/** How forkful's native addon stands in this process (`nativeStatus()`). */
export interface NativeStatus {
  /** Whether the addon loaded: os.fork() and the fork start method need it;
   * without it the rest runs on the portable backend (README: Backends). */
  loaded: boolean;
  /** The binary that loaded (absolute path), or null. */
  binary: string | null;
  /** Where that binary came from: shipped in the package (`prebuild`),
   * compiled on this machine (`build`), or named by FORKFUL_PREBUILD (`env`). */
  source: 'prebuild' | 'build' | 'env' | null;
  /** The Node release the binary was compiled against. */
  builtFor: { version: string; abi: number } | null;
  /** Why no binary loaded (null when one did). */
  reason: string | null;
  /** What to do about it (null when loaded, or when no fix exists here). */
  fix: string | null;
  /** The backend multiprocessing starts children with by default: `fork`
   * with the addon, else `spawn` (child_process); FORKFUL_START_METHOD=spawn
   * picks spawn too. setStartMethod() changes it later. */
  backend: 'fork' | 'spawn';
}

/** The fix to print for the load error, or null where none exists. */
function fixFor(): string | null {
  if (loaded) return null;
  if (process.env.FORKFUL_NO_NATIVE === '1') return 'unset FORKFUL_NO_NATIVE';
  if (process.env.FORKFUL_PREBUILD) {
    return 'point FORKFUL_PREBUILD at a build of forkful for this Node, or unset it';
  }
  if (process.platform !== 'linux') return null; // the addon is Linux-only (memfd, futex, pidfd)
  return (
    'run `npm rebuild forkful` in your project (install scripts allowed): it uses a prebuilt ' +
    'binary when one loads here and compiles the addon otherwise (that needs python3, make ' +
    'and a C++20 compiler: g++ 10+ or clang 10+)'
  );
}

/** Whether forkful's native addon loaded here, which binary, and if not, why
 * and what to do about it. */
export function nativeStatus(): NativeStatus {
  let source: NativeStatus['source'] = null;
  if (loadedFrom) {
    const rel = path.relative(packageRoot, loadedFrom).split(path.sep)[0];
    source = process.env.FORKFUL_PREBUILD ? 'env' : rel === 'prebuilds' ? 'prebuild' : 'build';
  }
  const builtFor = loaded?.builtFor as { version: string; abi: number } | undefined;
  return {
    loaded: loaded !== null,
    binary: loadedFrom,
    source,
    builtFor: builtFor ? { version: builtFor.version, abi: builtFor.abi } : null,
    reason: loadError ? loadError.message : null,
    fix: fixFor(),
    backend: loaded && process.env.FORKFUL_START_METHOD !== 'spawn' ? 'fork' : 'spawn',
  };
}

// Without the addon on Linux forkful still loads (Process and Thread work,
// Process on the spawn backend), but a user who expected the fork backend
// must hear why, and how to fix it: once per process tree (spawned children
// inherit FORKFUL_NATIVE_WARNED; Worker threads stay quiet), not on a
// deliberate FORKFUL_NO_NATIVE=1.
if (
  !loaded &&
  process.platform === 'linux' &&
  process.env.FORKFUL_NO_NATIVE !== '1' &&
  process.env.FORKFUL_NATIVE_WARNED !== '1' &&
  isMainThread
) {
  process.env.FORKFUL_NATIVE_WARNED = '1';
  process.emitWarning(
    "forkful's native addon did not load, so forkful runs without its fork backend: " +
      'os.fork() throws NotSupportedError, and the rest runs on the portable backend, ' +
      'slower: Process and Pool start children with child_process.fork (the spawn ' +
      'backend), pipes, queues and cross-process locks go through a hub process, and ' +
      'Condition, Barrier and Value/Array are shared by the Threads of one process only.' +
      `\n  Why: ${loadError?.message}\n  Fix: ${fixFor()}\n` +
      '  nativeStatus() reports this; FORKFUL_NO_NATIVE=1 chooses it deliberately and ' +
      'silences this warning.',
    { type: 'ForkfulWarning', code: 'FORKFUL_NO_NATIVE_ADDON' },
  );
}
