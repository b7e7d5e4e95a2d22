// The one reading of an options object: every call that takes one names the
// options it knows, and an unknown name is a TypeError (a misspelt
// `sigal:` or `timout:` must not be silently ignored).

/** A TypeError with a stable code, for the argument mistakes forkful names
 * itself (an unknown option, a signal that is not an AbortSignal). Its
 * name stays 'TypeError', as Node's own ERR_INVALID_ARG_TYPE errors. */
export class ArgumentTypeError extends TypeError {
  readonly code: string;
  constructor(message: string, code = 'ERR_INVALID_ARG_TYPE') {
    super(message);
    this.code = code;
  }
}

/** Checks that `opts` is undefined/null or a plain object whose keys are
 * all in `known`; returns it as an object ({} when absent). `what` names
 * the call in the message ('Pool.map'). */
export function checkOptions<T extends object>(
  opts: T | null | undefined,
  known: readonly string[],
  what: string,
): T {
  if (opts === undefined || opts === null) return {} as T;
  if (typeof opts !== 'object' || Array.isArray(opts)) {
    throw new ArgumentTypeError(
      `${what}: options must be an object { ${known.join(', ')} }, not ${
        Array.isArray(opts) ? 'an array' : typeof opts
      }`,
    );
  }
  for (const key of Object.keys(opts)) {
    if (!known.includes(key)) {
      throw new ArgumentTypeError(
        `${what}: unknown option '${key}' (it takes ${known.map((k) => `'${k}'`).join(', ')})`,
        'ERR_FORKFUL_UNKNOWN_OPTION',
      );
    }
  }
  return opts;
}

/** An argument that is either a number (Python's positional form, such as
 * a map's chunksize) or an options object: the options, checked, with the
 * number under `key` in the first case. */
export function numberOrOptions<T extends object>(
  arg: number | null | undefined | T,
  key: string,
  known: readonly string[],
  what: string,
): T {
  if (typeof arg === 'object' && arg !== null) return checkOptions(arg, known, what);
  return { [key]: arg } as T;
}

/** An optional callback option: a function, or null. */
export function checkCallback<F extends (...args: never[]) => unknown>(
  value: unknown,
  name: string,
  what: string,
): F | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'function')
    throw new ArgumentTypeError(`${what}: ${name} must be a function`);
  return value as F;
}
