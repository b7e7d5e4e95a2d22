// NODE_DEBUG=forkful (util.debuglog) traces the backend choice, forks and
// the pool's workers; without it, forkful writes nothing to stderr.
import { results, runFixture } from '../helpers/fixture';
import { describeEachStartMethod } from '../helpers/needs';

describeEachStartMethod('NODE_DEBUG=forkful on the %s backend', (method) => {
  test('traces the start method, the process and the pool worker', () => {
    const run = runFixture('nodeapi-debug.js', [], {
      env: { FORKFUL_START_METHOD: method, NODE_DEBUG: 'forkful' },
    });
    expect(results(run.stdout).done).toBe(true);
    const lines = run.stderr.split('\n').filter((l) => l.startsWith('FORKFUL '));
    const text = lines.join('\n');
    expect(text).toContain(`start method: ${method} (FORKFUL_START_METHOD)`);
    expect(text).toMatch(new RegExp(`traced: started, pid \\d+ \\(${method}\\)`));
    expect(text).toMatch(/traced: pid \d+ exited with code 0/);
    expect(text).toMatch(new RegExp(`pool: worker \\d+ started \\(${method}\\)`));
    expect(text).toMatch(/pool: worker \d+ exited \(code 0, 0 task\(s\) lost\)/);
    if (method === 'fork') expect(text).toMatch(/os\.fork: child \d+ forked/);
  });

  test('is silent without NODE_DEBUG', () => {
    const run = runFixture('nodeapi-debug.js', [], {
      env: { FORKFUL_START_METHOD: method, NODE_DEBUG: '' },
    });
    expect(results(run.stdout).done).toBe(true);
    expect(run.stderr).not.toContain('FORKFUL');
  });
});
