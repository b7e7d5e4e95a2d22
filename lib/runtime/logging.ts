// Python's multiprocessing logging (multiprocessing.get_logger(),
// log_to_stderr(), multiprocessing.util's info()/debug()): Node has no
// logging module, so this is the small part of Python's that multiprocessing
// uses: levels, a logger with handlers and a parent (the root logger, whose
// level a NOTSET logger takes), stream handlers and %-style formats. The
// package's lifecycle messages go through it once getLogger() was called, as
// Python's util.info() does; NODE_DEBUG=forkful traces (core/debug.ts) stay
// separate. A forked child inherits the logger with its memory; a spawned
// child gets its level and stderr handler in its payload (Python's
// preparation data).
import * as path from 'node:path';
import { format } from 'node:util';
import { ValueError } from '../core/errors';
import { currentIdentity } from './identity';

export const NOTSET = 0;
export const SUBDEBUG = 5;
export const DEBUG = 10;
export const INFO = 20;
export const SUBWARNING = 25;
export const WARNING = 30;
export const ERROR = 40;
export const CRITICAL = 50;

const levelNames = new Map<number, string>([
  [NOTSET, 'NOTSET'],
  [SUBDEBUG, 'SUBDEBUG'],
  [DEBUG, 'DEBUG'],
  [INFO, 'INFO'],
  [SUBWARNING, 'SUBWARNING'],
  [WARNING, 'WARNING'],
  [ERROR, 'ERROR'],
  [CRITICAL, 'CRITICAL'],
]);

/** Python's logging.getLevelName(): 'Level 37' for a level without a name. */
export function getLevelName(level: number): string {
  return levelNames.get(level) ?? `Level ${level}`;
}

/** Python's multiprocessing.util.DEFAULT_LOGGING_FORMAT. */
export const DEFAULT_LOGGING_FORMAT = '[%(levelname)s/%(processName)s] %(message)s';

/** One message on its way to the handlers (Python's LogRecord). */
export interface LogRecord {
  name: string;
  levelno: number;
  levelname: string;
  message: string;
  processName: string;
  process: number;
  /** The base name of the file that logged it (Python's %(filename)s). */
  filename: string;
  pathname: string;
  created: number;
}

/** Python's logging.Formatter for %-style formats: %(field)s / %(field)d. */
export class Formatter {
  readonly fmt: string;
  constructor(fmt: string = '%(message)s') {
    this.fmt = fmt;
  }

  format(record: LogRecord): string {
    return this.fmt.replace(/%\((\w+)\)[sd]/g, (whole, field: string) =>
      field in record ? String(record[field as keyof LogRecord]) : whole,
    );
  }
}

/** Anything a StreamHandler can write lines to (a Node Writable, or any
 * object with write(text)). */
export interface TextSink {
  write(text: string): unknown;
}

/** Python's logging.StreamHandler: writes each record, formatted, and a
 * newline to its stream (process.stderr by default). */
export class StreamHandler {
  level = NOTSET;
  formatter: Formatter | null = null;
  readonly stream: TextSink;
  #closed = false;
  constructor(stream?: TextSink) {
    this.stream = stream ?? process.stderr;
  }

  setLevel(level: number): void {
    this.level = checkLevel(level);
  }

  setFormatter(formatter: Formatter | null): void {
    this.formatter = formatter;
  }

  handle(record: LogRecord): void {
    if (this.#closed || record.levelno < this.level) return;
    this.stream.write(`${(this.formatter ?? plainFormatter).format(record)}\n`);
  }

  close(): void {
    this.#closed = true;
  }
}

const plainFormatter = new Formatter();

function checkLevel(level: number): number {
  if (!Number.isInteger(level) || level < 0) {
    throw new ValueError(`a logging level is a non-negative integer, not ${String(level)}`);
  }
  return level;
}

/** Python's logging.Logger, the part multiprocessing uses. */
export class Logger {
  readonly name: string;
  level = NOTSET;
  /** The logger whose level a NOTSET logger takes (the root logger's is
   * WARNING); null for the root logger. */
  readonly parent: Logger | null;
  readonly handlers: StreamHandler[] = [];

  constructor(name: string, parent: Logger | null, level = NOTSET) {
    this.name = name;
    this.parent = parent;
    this.level = level;
  }

  setLevel(level: number): void {
    this.level = checkLevel(level);
  }

  /** This logger's level, or the first one set among its ancestors. */
  getEffectiveLevel(): number {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- walks up from this logger
    for (let logger: Logger | null = this; logger; logger = logger.parent) {
      if (logger.level !== NOTSET) return logger.level;
    }
    return NOTSET;
  }

  isEnabledFor(level: number): boolean {
    return level >= this.getEffectiveLevel();
  }

  addHandler(handler: StreamHandler): void {
    if (!this.handlers.includes(handler)) this.handlers.push(handler);
  }

  removeHandler(handler: StreamHandler): void {
    const at = this.handlers.indexOf(handler);
    if (at >= 0) this.handlers.splice(at, 1);
  }

  /** Logs util.format(message, ...args) at `level` (Node's format, where
   * Python's logger takes %-args). */
  log(level: number, message: unknown, ...args: unknown[]): void {
    if (!this.isEnabledFor(level)) return;
    const record = makeRecord(this.name, level, format(message, ...args));
    // The multiprocessing logger does not propagate (Python sets
    // propagate = 0), so only its own handlers see the record.
    for (const handler of this.handlers) handler.handle(record);
  }

  subDebug(message: unknown, ...args: unknown[]): void {
    this.log(SUBDEBUG, message, ...args);
  }
  debug(message: unknown, ...args: unknown[]): void {
    this.log(DEBUG, message, ...args);
  }
  info(message: unknown, ...args: unknown[]): void {
    this.log(INFO, message, ...args);
  }
  subWarning(message: unknown, ...args: unknown[]): void {
    this.log(SUBWARNING, message, ...args);
  }
  warning(message: unknown, ...args: unknown[]): void {
    this.log(WARNING, message, ...args);
  }
  error(message: unknown, ...args: unknown[]): void {
    this.log(ERROR, message, ...args);
  }
  critical(message: unknown, ...args: unknown[]): void {
    this.log(CRITICAL, message, ...args);
  }
}

// The file that called the logger: the first stack frame outside this one.
function callerFile(): string {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, callerFile);
  for (const line of (holder.stack ?? '').split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?[^\s()]+?):\d+:\d+\)?$/.exec(line.trim());
    if (m && m[1] !== __filename && !m[1].startsWith('node:')) return m[1];
  }
  return '(unknown file)';
}

function makeRecord(name: string, levelno: number, message: string): LogRecord {
  const pathname = callerFile();
  return {
    name,
    levelno,
    levelname: getLevelName(levelno),
    message,
    processName: currentIdentity().name,
    process: process.pid,
    filename: path.basename(pathname),
    pathname,
    created: Date.now() / 1000,
  };
}

/** Python's root logger (level WARNING): the multiprocessing logger's
 * parent. */
export const rootLogger = new Logger('root', null, WARNING);

let multiprocessingLogger: Logger | null = null;
let stderrHandler: StreamHandler | null = null;

/** Python's multiprocessing.get_logger(): the 'multiprocessing' logger,
 * level NOTSET (so WARNING from the root) and no handler until
 * logToStderr() or addHandler(). */
export function getLogger(): Logger {
  multiprocessingLogger ??= new Logger('multiprocessing', rootLogger);
  return multiprocessingLogger;
}

/** Python's multiprocessing.log_to_stderr(level): adds (once) a handler
 * writing DEFAULT_LOGGING_FORMAT to stderr, sets the level if given, and
 * returns the logger. */
export function logToStderr(level?: number | null): Logger {
  const logger = getLogger();
  if (!stderrHandler) {
    stderrHandler = new StreamHandler();
    stderrHandler.setFormatter(new Formatter(DEFAULT_LOGGING_FORMAT));
    logger.addHandler(stderrHandler);
  }
  if (level !== undefined && level !== null) logger.setLevel(level);
  return logger;
}

/** What a spawned child is told (Python's preparation data): the level and
 * whether to log to stderr, only when the logger exists here. */
export interface LoggingSetup {
  level: number;
  toStderr: boolean;
}

export function loggingSetup(): LoggingSetup | undefined {
  if (!multiprocessingLogger) return undefined;
  return { level: multiprocessingLogger.getEffectiveLevel(), toStderr: stderrHandler !== null };
}

/** In a spawned child: the parent's logging setup. */
export function applyLoggingSetup(setup: LoggingSetup | undefined): void {
  if (!setup) return;
  if (setup.toStderr) logToStderr();
  getLogger().setLevel(setup.level);
}

// multiprocessing.util's functions: they log only once getLogger() made
// the logger, so they cost a null check otherwise.
export function subDebug(message: unknown, ...args: unknown[]): void {
  multiprocessingLogger?.log(SUBDEBUG, message, ...args);
}
export function debug(message: unknown, ...args: unknown[]): void {
  multiprocessingLogger?.log(DEBUG, message, ...args);
}
// (Parenthesised: every Process child calls it; compiled with this module.)
// prettier-ignore
export const info = (function info(message: unknown, ...args: unknown[]): void {
  multiprocessingLogger?.log(INFO, message, ...args);
});
export function subWarning(message: unknown, ...args: unknown[]): void {
  multiprocessingLogger?.log(SUBWARNING, message, ...args);
}
