'use strict';
// Compiles the C floor programs with `cc` into bench/build/ (git-ignored).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const SRC = path.join(__dirname, '..', 'c');
const OUT = path.join(__dirname, '..', 'build');

/** Returns the path of the compiled program, or throws with the reason. */
function compileC(name) {
  const src = path.join(SRC, `${name}.c`);
  const bin = path.join(OUT, name);
  fs.mkdirSync(OUT, { recursive: true });
  const fresh = fs.existsSync(bin) && fs.statSync(bin).mtimeMs >= fs.statSync(src).mtimeMs;
  if (!fresh) {
    try {
      execFileSync('cc', ['-O2', '-pthread', '-o', bin, src], { stdio: 'pipe', timeout: 60000 });
    } catch (e) {
      const why =
        e.code === 'ENOENT' ? 'no C compiler (cc) on PATH' : String(e.stderr || e.message);
      throw new Error(`cannot compile ${name}.c: ${why.trim().split('\n')[0]}`);
    }
  }
  return bin;
}

module.exports = { compileC };
