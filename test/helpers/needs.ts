// The only reasons a test may be skipped on some backend, each a named
// condition that says why. The suite runs on the fork backend, on the spawn
// backend (FORKFUL_START_METHOD=spawn) and without the addon
// (FORKFUL_NO_NATIVE=1, the portable backend): everything else runs on all
// three. The README's "Tests skipped without the addon" lists the users.
import { addonTested, spawnBackend } from './fixture';

/** Needs `os.fork()` itself (a forked child, the fork start method): there
 * is none on the spawn backend's runs nor without the addon. */
export const needsFork = {
  test: spawnBackend ? test.skip : test,
  describe: spawnBackend ? describe.skip : describe,
};

/** Tests the native addon's own internals (its binary, its loader's view
 * of it, the os functions only it implements): nothing to test without it. */
export const needsAddon = {
  test: addonTested ? test : test.skip,
  describe: addonTested ? describe : describe.skip,
};

/** describe() once per start method (`%s` in the title names it), the
 * 'fork' one under needsFork. */
export function describeEachStartMethod(
  title: string,
  fn: (method: 'fork' | 'spawn') => void,
): void {
  for (const method of ['fork', 'spawn'] as const) {
    (method === 'fork' ? needsFork.describe : describe)(title.replace('%s', method), () =>
      fn(method),
    );
  }
}
