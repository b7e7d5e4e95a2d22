// One wait algorithm, two drivers (lib/synchronize/steps.ts).
import { runAsync, runSync, type Steps } from '../../lib/synchronize/steps';

function* algorithm(log: string[], results: boolean[]): Steps<string> {
  log.push('enter');
  try {
    for (let i = 0; i < results.length; i++) {
      const got: boolean = yield {
        sync: () => {
          log.push(`sync ${i}`);
          if (results[i] === undefined) throw new Error('wait failed');
          return results[i];
        },
        async: async () => {
          log.push(`async ${i}`);
          return results[i];
        },
      };
      if (got) return `woken at ${i}`;
    }
    return 'timed out';
  } finally {
    log.push('leave');
  }
}

test('both drivers run the same steps and return the same value', async () => {
  const a: string[] = [];
  const b: string[] = [];
  expect(runSync(algorithm(a, [false, true]))).toBe('woken at 1');
  expect(await runAsync(algorithm(b, [false, true]))).toBe('woken at 1');
  expect(a).toEqual(['enter', 'sync 0', 'sync 1', 'leave']);
  expect(b).toEqual(['enter', 'async 0', 'async 1', 'leave']);
});

test("a wait that throws is thrown back at its step: the algorithm's finally runs", () => {
  const log: string[] = [];
  expect(() => runSync(algorithm(log, [false, undefined as unknown as boolean]))).toThrow(
    'wait failed',
  );
  expect(log).toEqual(['enter', 'sync 0', 'sync 1', 'leave']);
});
