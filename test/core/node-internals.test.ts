// The Node internals forkful relies on, each checked on the Node running the
// suite (CI runs it on every supported major), and the refusal of a native
// binary built for another Node line.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native } from '../../lib/core/native';
import { nodeInternalChecks } from '../../lib/core/node-internals';
import { needsAddon } from '../helpers/needs';

const root = path.join(__dirname, '..', '..');

describe('Node internals', () => {
  const checks = nodeInternalChecks(native?.nodeInternals());

  test('the list covers the TypeScript and the native side', () => {
    expect(checks.map((c) => c.name)).toEqual([
      'process._getActiveHandles',
      'process._exiting',
      'process.reallyExit',
      'Timeout._onTimeout',
      'Immediate._onImmediate',
      'node:timers is writable',
      ...(native ? ['native: Node timer handle'] : []),
    ]);
  });

  test.each(checks.map((c) => [c.name, c] as const))('%s holds on this Node', (_name, c) => {
    expect({ name: c.name, problem: c.problem }).toEqual({ name: c.name, problem: '' });
    expect(c.ok).toBe(true);
  });
});

describe('a native binary built for another Node line', () => {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  const others = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.node') && !f.includes(`.abi${process.versions.modules}.`))
    : [];
  // CI builds every line's binary first (npm run prebuild:all); a fresh
  // clone has only its own build, and then there is nothing to refuse.
  const withOther = others.length > 0 ? test : test.skip;

  needsAddon.test('this one says which line it was built for', () => {
    expect(native?.builtFor.abi).toBe(Number(process.versions.modules));
    expect(native?.abiMismatch).toBeUndefined();
  });

  withOther('registers nothing and says why, naming both versions', () => {
    const other = require(path.join(dir, others[0])) as Record<string, unknown>;
    expect(Object.keys(other).sort()).toEqual(['abiMismatch', 'builtFor']);
    expect(other.abiMismatch).toContain(`but this is Node ${process.versions.node}`);
  });

  withOther('forkful refuses it at load: no fork, a NotSupportedError naming the fix', () => {
    const script = `
      const { native, nativeLoadError } = require('./dist/core/native');
      let err;
      try { require('./dist/os').fork(); } catch (e) { err = e; }
      console.log(JSON.stringify({ native, message: nativeLoadError && nativeLoadError.message,
        forkError: err && err.name, forkMessage: err && err.message }));`;
    const r = spawnSync(process.execPath, ['-e', script], {
      cwd: root,
      encoding: 'utf8',
      timeout: 20000,
      // The loader's own refusal, whichever backend the suite runs on.
      env: {
        ...process.env,
        FORKFUL_NO_NATIVE: undefined,
        FORKFUL_PREBUILD: path.join(dir, others[0]),
      },
    });
    const out = JSON.parse(r.stdout);
    expect(out.native).toBeNull();
    expect(out.message).toMatch(/built for Node \d+\.\d+\.\d+ \(ABI \d+\) but this is Node/);
    expect(out.message).toContain('npm rebuild forkful');
    expect(out.forkError).toBe('NotSupportedError');
    expect(out.forkMessage).toContain('npm rebuild forkful');
  });
});
