// What a child does with its target, whatever started it: run it, await a
// returned promise, and on an exception print it (as Python prints a
// traceback) and end with exit code 1. On success the child ends when its
// event loop is empty, with exit code 0 unless the target set another.
import { inspect } from 'node:util';
import { currentIdentity } from './current';

export function formatTargetError(err: unknown, hint?: (err: unknown) => string | null): string {
  const extra = hint?.(err);
  return `Process ${currentIdentity().name}:\n${inspect(err)}\n${extra ? `${extra}\n` : ''}`;
}

export async function runTarget(
  target: (...args: unknown[]) => unknown,
  args: unknown[],
  hint?: (err: unknown) => string | null,
): Promise<void> {
  try {
    await target(...args);
  } catch (err) {
    process.stderr.write(formatTargetError(err, hint));
    process.exitCode = 1;
    // Python ends the child right after run() raised.
    process.exit(1);
  }
}
