// The fresh-process helper: a child's failed assertion fails the test with
// that assertion's own message and stack; a crash or hang is reported too.
import { inFreshProcess } from './fresh-process';

test('a passing body returns what the child printed', () => {
  const out = inFreshProcess(() => {
    process.stdout.write('hello from the child\n');
  });
  expect(out.stdout).toContain('hello from the child');
});

test("a failed assertion in the child is the test's failure, message and stack", () => {
  let caught: Error | null = null;
  try {
    inFreshProcess(function assertsInside() {
      require('node:assert').strictEqual(1 + 1, 3, 'arithmetic in the child');
    });
  } catch (err) {
    caught = err as Error;
  }
  expect(caught?.name).toBe('AssertionError');
  expect(caught?.message).toMatch(/^arithmetic in the child/);
  expect(caught?.stack).toMatch(/at assertsInside/);
});

test('a child that dies before its body returns is reported with its status', () => {
  expect(() => inFreshProcess(() => process.kill(process.pid, 'SIGKILL'))).toThrow(
    /signal SIGKILL/,
  );
});
