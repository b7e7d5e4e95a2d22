// Port of CPython's Lib/test/_test_multiprocessing.py _TestLogging on
// forkful/multiprocessing's logging (getLogger, logToStderr, util): Node has
// no logging module, so the root logger is the multiprocessing logger's
// `parent` and handlers are util.StreamHandler with a util.Formatter.
// Runs on the current start method (FORKFUL_START_METHOD=spawn for spawn).
import * as path from 'node:path';
import * as mp from '../../lib/multiprocessing';
import { ValueError } from '../../lib/core/errors';
import { runFixture } from '../helpers/fixture';
import { Modules, SHORT_TIMEOUT, expectNoStrays, joinProcess } from './helpers/common';

jest.setTimeout(60000);
afterEach(() => expectNoStrays());

const { util } = mp;
const LOG_LEVEL = util.SUBWARNING;

describe('_TestLogging', () => {
  test('_TestLogging.test_enable_logging', () => {
    const logger = mp.getLogger();
    logger.setLevel(util.SUBWARNING);
    expect(logger).not.toBeNull();
    logger.debug('this will not be printed');
    logger.info('nor will this');
    logger.setLevel(LOG_LEVEL);
  });

  test('_TestLogging.test_level', async () => {
    const LEVEL1 = 32;
    const LEVEL2 = 37;
    const logger = mp.getLogger();
    const rootLogger = logger.parent!;
    const rootLevel = rootLogger.level;
    const [reader, writer] = mp.Pipe(false);
    const testLevel = (conn: mp.Connection) => {
      const m = (globalThis.__forkful?.mp ?? require('forkful/multiprocessing')) as Modules['mp'];
      conn.send(m.getLogger().getEffectiveLevel());
    };
    try {
      logger.setLevel(LEVEL1);
      let p = new mp.Process({ target: testLevel, args: [writer] });
      p.start();
      expect(await reader.recv({ signal: AbortSignal.timeout(SHORT_TIMEOUT * 1000) })).toBe(LEVEL1);
      await joinProcess(p);
      p.close();

      logger.setLevel(util.NOTSET);
      rootLogger.setLevel(LEVEL2);
      p = new mp.Process({ target: testLevel, args: [writer] });
      p.start();
      expect(await reader.recv({ signal: AbortSignal.timeout(SHORT_TIMEOUT * 1000) })).toBe(LEVEL2);
      await joinProcess(p);
      p.close();
    } finally {
      rootLogger.setLevel(rootLevel);
      logger.setLevel(LOG_LEVEL);
      reader.close();
      writer.close();
    }
  });

  test('_TestLogging.test_filename', () => {
    const logger = mp.getLogger();
    const originalLevel = logger.level;
    let text = '';
    const handler = new util.StreamHandler({ write: (s: string) => (text += s) });
    try {
      logger.setLevel(util.DEBUG);
      handler.setFormatter(new util.Formatter('[%(levelname)s] [%(filename)s] %(message)s'));
      logger.addHandler(handler);
      logger.info('1');
      util.info('2');
      logger.debug('3');
      const filename = path.basename(__filename);
      expect(text).toContain(`[INFO] [${filename}] 1`);
      expect(text).toContain(`[INFO] [${filename}] 2`);
      expect(text).toContain(`[DEBUG] [${filename}] 3`);
    } finally {
      logger.setLevel(originalLevel);
      logger.removeHandler(handler);
      handler.close();
    }
  });
});

describe('forkful logging (not upstream)', () => {
  test('levels, names, default level from the root logger, typed errors', () => {
    expect([util.SUBDEBUG, util.DEBUG, util.INFO, util.SUBWARNING]).toEqual([5, 10, 20, 25]);
    expect([util.WARNING, util.ERROR, util.CRITICAL, util.NOTSET]).toEqual([30, 40, 50, 0]);
    expect(util.getLevelName(util.SUBWARNING)).toBe('SUBWARNING');
    expect(util.getLevelName(37)).toBe('Level 37');
    const logger = mp.getLogger();
    expect(mp.getLogger()).toBe(logger);
    expect(logger.name).toBe('multiprocessing');
    const level = logger.level;
    try {
      logger.setLevel(util.NOTSET);
      expect(logger.getEffectiveLevel()).toBe(util.WARNING);
      expect(() => logger.setLevel(-1)).toThrow(ValueError);
    } finally {
      logger.setLevel(level);
    }
  });

  // logToStderr(): Python's default format, forkful's lifecycle messages,
  // and the child inherits level and handler (forked or spawned).
  test('logToStderr() logs the lifecycle of a child in the default format', () => {
    // This process's start method: spawn without the addon.
    const r = runFixture('conformance/multiprocessing.js', ['log_to_stderr', mp.getStartMethod()!]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('[INFO/MainProcess] hello from the parent\n');
    expect(r.stderr).not.toContain('not shown');
    expect(r.stderr).toContain('[INFO/Process-1] child process calling self.run()\n');
    expect(r.stderr).toContain('[WARNING/Process-1] hello from the child\n');
    expect(r.stderr).toContain('[INFO/Process-1] process exiting with exitcode 0\n');
    expect(r.stderr).toContain('[INFO/MainProcess] process shutting down\n');
  });
});
