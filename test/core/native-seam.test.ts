// The typed native seam (lib/core/addon): every concern's table of exports
// is exactly what native/*.cc registers under that concern's name, and
// every export has the kind its interface says.
import { concernExports, checkExports, moduleExports } from '../../lib/core/addon';
import { native, nativeLoadError } from '../../lib/core/native';
import { needsAddon } from '../helpers/needs';

needsAddon.describe('native seam', () => {
  const addon = native as unknown as Record<string, unknown> & {
    concerns: Record<string, string[]>;
  };

  test('the concerns lib/core/addon types are the ones the binary registers', () => {
    expect(Object.keys(addon.concerns).sort()).toEqual(Object.keys(concernExports).sort());
  });

  test.each(Object.keys(concernExports))('%s: the table names exactly its exports', (concern) => {
    expect([...addon.concerns[concern]].sort()).toEqual(
      Object.keys(concernExports[concern]).sort(),
    );
  });

  test('every export has the kind its interface says', () => {
    expect(checkExports(addon)).toBe('');
  });

  test('the module-level exports are the addon.cc ones plus the concerns', () => {
    const fromConcerns = Object.values(addon.concerns).flat();
    const own = Object.keys(addon).filter((name) => !fromConcerns.includes(name));
    expect(own.sort()).toEqual(Object.keys(moduleExports).sort());
  });

  test('a binary missing an export is reported, naming it', () => {
    const partial: Record<string, unknown> = { ...addon };
    delete partial.sendFrame;
    partial.WNOHANG = 'one';
    expect(checkExports(partial)).toBe(
      'connection.sendFrame is undefined, not function; os.WNOHANG is string, not number',
    );
  });
});

test('the addon loaded where the suite expects it', () => {
  if (process.platform === 'linux' && process.env.FORKFUL_NO_NATIVE !== '1') {
    expect(nativeLoadError).toBeNull();
  }
});
