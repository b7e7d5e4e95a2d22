// An exception on its way from a thread to the thread that started it: the
// worker packs it (structured clone cannot carry an Error's class or extra
// fields), the starter unpacks it into an object of the same class where
// that class is known (JS's own errors and forkful's), with the thread's
// message, stack and cloneable fields.
import { inspect } from 'node:util';
import * as errors from '../core/errors';

/** A class of error a thread's exception is rebuilt as. */
export type ErrorClass = new (...args: never[]) => unknown;

/** An exception as it travels from a thread to the thread that started it. */
export type PackedException =
  | {
      error: true;
      name: string;
      message: string;
      stack: string | undefined;
      props: Record<string, unknown>;
    }
  | { error: false; value: unknown };

const errorClasses: Record<string, new (...args: never[]) => Error> = {
  Error,
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
  EvalError,
  URIError,
  AggregateError,
};
for (const [name, value] of Object.entries(errors)) {
  if (typeof value === 'function' && value.prototype instanceof Error) {
    errorClasses[name] = value as new (...args: never[]) => Error;
  }
}

function cloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

/** Packs an exception so it survives the trip to another thread. */
export function packException(err: unknown): PackedException {
  if (err instanceof Error || (typeof err === 'object' && err !== null && 'stack' in err)) {
    const e = err as Error;
    const props: Record<string, unknown> = {};
    for (const key of Object.keys(e)) {
      if (key === 'message' || key === 'stack' || key === 'name') continue;
      const v = (e as unknown as Record<string, unknown>)[key];
      if (cloneable(v)) props[key] = v;
    }
    return { error: true, name: String(e.name), message: String(e.message), stack: e.stack, props };
  }
  return { error: false, value: cloneable(err) ? err : inspect(err) };
}

export function unpackException(packed: PackedException): {
  value: unknown;
  type: ErrorClass | null;
} {
  if (!packed.error) return { value: packed.value, type: null };
  const type = errorClasses[packed.name] ?? null;
  const err = Object.create((type ?? Error).prototype) as Error;
  Object.defineProperty(err, 'message', {
    value: packed.message,
    writable: true,
    configurable: true,
  });
  Object.defineProperty(err, 'stack', { value: packed.stack, writable: true, configurable: true });
  // forkful's errors set their name in the constructor, which is not run here.
  if (err.name !== packed.name) {
    Object.defineProperty(err, 'name', { value: packed.name, writable: true, configurable: true });
  }
  Object.assign(err, packed.props);
  return { value: err, type: type ?? Error };
}
