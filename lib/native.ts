// The one place that loads the addon. Everything native goes through here;
// where the addon cannot load (Windows, no compiler), `native` is null and
// callers use `requireNative()` to fail with a NotSupportedError.
import * as path from 'node:path';
import * as errors from './errors';
import { NotSupportedError } from './errors';

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

/** The addon's exports, as each native/*.cc registers them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NativeAddon = Record<string, any>;

let loaded: NativeAddon | null = null;
let loadError: unknown = null;

if (process.platform !== 'win32' && process.env.FORKFUL_NO_NATIVE !== '1') {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => NativeAddon;
    loaded = nodeGypBuild(path.join(__dirname, '..'));
    loaded.registerErrorClasses(nativeErrorClasses);
  } catch (err) {
    loaded = null;
    loadError = err;
  }
} else {
  loadError = new Error(
    process.platform === 'win32' ? 'Windows has no fork()' : 'FORKFUL_NO_NATIVE=1',
  );
}

/** The addon, or null where it could not load. */
export const native: NativeAddon | null = loaded;

/** Why the addon is absent (null when it loaded). */
export const nativeLoadError: unknown = loadError;

/** The addon, or a NotSupportedError naming `what` and the way out. */
export function requireNative(what: string): NativeAddon {
  if (loaded) return loaded;
  const why = loadError instanceof Error ? loadError.message : String(loadError);
  throw new NotSupportedError(
    `${what} needs forkful's native addon, which is not available here (${why}). ` +
      `Use the multiprocessing spawn backend instead: setStartMethod('spawn') ` +
      `or FORKFUL_START_METHOD=spawn.`,
  );
}
