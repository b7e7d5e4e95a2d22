// A forked child compiles none of forkful's functions itself: the code only
// a child runs (the after-fork hooks, the exit path, isolation) is
// parenthesised, so V8 compiles it with its module, in the parent. A child
// that compiles it again pays the parse and compile, and faults in V8's
// parser and compiler code pages, on every start (measured on Node 24: lazy
// compiles were 23% of a Process child's CPU, 13 functions per child).
// V8's function log (--log-function-events) tells what each process compiles.
import * as path from 'node:path';
import { runFixture } from '../helpers/fixture';
import { needsFork } from '../helpers/needs';

const DIST = path.resolve(__dirname, '..', '..', 'dist') + path.sep;

/** Per case, forkful's functions compiled between its MARK lines; and how
 * many of forkful's functions the log shows compiled outside them (at load:
 * proof that the log reports them at all). */
function compiledInChild(log: string): { inChild: Record<string, string[]>; outside: number } {
  const scripts = new Map<string, string>();
  const found: Record<string, string[]> = {};
  let outside = 0;
  let current: string | null = null;
  for (const line of log.split('\n')) {
    const mark = /^MARK (.+) (begin|end)$/.exec(line);
    if (mark) {
      current = mark[2] === 'begin' ? mark[1] : null;
      if (current) found[current] = [];
      continue;
    }
    const fields = line.split(',');
    if (fields[0] === 'script-details') scripts.set(fields[1], fields[2]);
    if (fields[0] === 'function' && fields[1] === 'interpreter') {
      const file = scripts.get(fields[2]) ?? '';
      if (!file.startsWith(DIST)) continue;
      if (current === null) outside++;
      else {
        found[current].push(
          `${fields[fields.length - 1] || '(anonymous)'} at ${path.relative(DIST, file)}:${fields[3]}`,
        );
      }
    }
  }
  return { inChild: found, outside };
}

needsFork.describe('what a forked child compiles', () => {
  test('an os.fork child and a Process child compile none of forkful', () => {
    const run = runFixture('child-compiles.js', [], {
      nodeArgs: ['--log-function-events', '--logfile=-', '--no-logfile-per-isolate'],
      timeoutMs: 60000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const { inChild, outside } = compiledInChild(run.stdout);
    expect(outside).toBeGreaterThan(100);
    const { Pool: inPoolWorker, ...others } = inChild;
    expect(others).toEqual({ 'os.fork': [], Process: [] });
    // A fork Pool's worker compiles none of the pool's code nor Connection's
    // (it did compile ~30 such functions: its loop, result sender, reader).
    expect(
      inPoolWorker.filter((f) => /multiprocessing[/\\](pool[/\\](?!engine)|connection)/.test(f)),
    ).toEqual([]);
  });
});
