// What a child does with its target, whatever started it: run it, await a
// returned promise, then end, as Python's child ends with os._exit() right
// after run(): exit code 0 (or the process.exitCode the target set), or on an
// exception print it (as Python prints a traceback) and exit code 1. Ending
// at once also means work the child inherited from the parent (an fs request
// in flight, a pending callback) cannot keep it alive.
// (the beforeChildExit phase: lifecycle.ts; Queue's feeders flush there, as
// Python joins its feeder thread at exit)
import { inspect } from 'node:util';
import { currentIdentity } from './identity';
import { runBeforeChildExit } from './lifecycle';
import { info } from './logging';

// runTarget is parenthesised: V8 compiles it with the module, in the parent,
// not again in every forked child.

export function formatTargetError(err: unknown, hint?: (err: unknown) => string | null): string {
  const extra = hint?.(err);
  return `Process ${currentIdentity().name}:\n${inspect(err)}\n${extra ? `${extra}\n` : ''}`;
}

// prettier-ignore
export const runTarget = (async function runTarget(
  target: (...args: unknown[]) => unknown,
  args: unknown[],
  hint?: (err: unknown) => string | null,
  exit: (code: number) => void = (code) => process.exit(code),
): Promise<void> {
  process.exitCode = undefined; // a value the parent had set is not the child's
  info('child process calling self.run()');
  try {
    await target(...args);
  } catch (err) {
    process.stderr.write(formatTargetError(err, hint));
    await runBeforeChildExit();
    info('process exiting with exitcode 1');
    exit(1);
    return;
  }
  await runBeforeChildExit();
  const code = Number(process.exitCode ?? 0);
  info('process exiting with exitcode %d', Number.isInteger(code) ? code : 1);
  exit(Number.isInteger(code) ? code : 1);
});
