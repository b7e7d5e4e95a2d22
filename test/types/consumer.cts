// The same package from a CommonJS TypeScript file (module nodenext picks
// the "require" condition of the exports map).
import fk = require('forkful');
import mp = require('forkful/multiprocessing');

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<A, B>(_proof: Equal<A, B>): void {}

async function main(): Promise<void> {
  const pool = new mp.Pool(2);
  const out = await pool.map((x: number) => x + 1, [1]);
  expectType<typeof out, number[]>(true);
  const err = new fk.BrokenPoolError('x');
  expectType<typeof err.code, string>(true);
  await pool[Symbol.asyncDispose]();
}
void main;
