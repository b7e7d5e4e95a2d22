// The one place that loads the addon. Everything native goes through here;
// where the addon cannot load (Windows, no build for this Node), `native` is
// null and callers use `requireNative()` to fail with a NotSupportedError.
//
// The addon uses Node's C++ embedder API, so a binary is valid only on the
// Node line it was built for; it says which (builtFor) and refuses another
// line before registering anything (abiMismatch). The binaries looked at, in
// order: the local build (build/Release), then the prebuild for this Node's
// ABI (prebuilds/<platform>-<arch>/forkful.abi<N>[.glibc|.musl].node, the
// names node-gyp-build and prebuildify use). FORKFUL_PREBUILD=<file> names
// the one binary to use instead; PREBUILDS_ONLY=1 skips the local build.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkExports, type NativeAddon } from './addon';
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

function load(): void {
  const rejected: string[] = [];
  for (const file of candidates()) {
    let addon: NativeAddon;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      addon = require(file) as NativeAddon;
    } catch (err) {
      rejected.push(`${path.relative(packageRoot, file)}: ${(err as Error).message}`);
      continue;
    }
    if (typeof addon.abiMismatch === 'string') {
      rejected.push(`${path.relative(packageRoot, file)}: ${addon.abiMismatch}`);
      continue;
    }
    // A binary built from other sources than these (lib/core/addon types them).
    const wrong = checkExports(addon as unknown as Record<string, unknown>);
    if (wrong) {
      rejected.push(`${path.relative(packageRoot, file)}: not built from these sources (${wrong})`);
      continue;
    }
    addon.registerErrorClasses(nativeErrorClasses);
    loaded = addon;
    return;
  }
  loadError = new Error(
    rejected.length === 0
      ? `no build of forkful's native addon for Node ${process.version} ` +
          `(ABI ${process.versions.modules}, ${process.platform}-${process.arch}) was found: ` +
          'run `npm rebuild forkful`'
      : `no usable build of forkful's native addon for Node ${process.version} ` +
          `(ABI ${process.versions.modules}): ${rejected.join('; ')}. Run \`npm rebuild forkful\``,
  );
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
  throw new NotSupportedError(
    `${what} needs forkful's native addon, which is not available here (${loadError?.message}). ` +
      `Use the multiprocessing spawn backend instead: setStartMethod('spawn') ` +
      `or FORKFUL_START_METHOD=spawn.`,
  );
}
