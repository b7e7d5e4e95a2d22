// An error on its way to another thread, process or machine. Structured
// clone and JSON drop an Error's class and its extra fields, so it travels
// as its name, message, stack and own fields, and is rebuilt as the same
// class where that class is known (JS's own errors and forkful's). One codec
// for Threads, the Pool and forkful/cluster; each says which field values its
// channel can carry and where the error happened.
import * as errors from '../core/errors';

export interface WireError {
  name: string;
  message: string;
  stack?: string;
  /** Own enumerable fields the channel can carry (code, errno, exitcode...). */
  props: Record<string, unknown>;
}

const classes: Record<string, new (...args: never[]) => Error> = {
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
    classes[name] = value as new (...args: never[]) => Error;
  }
}

/** The class an error of this name is rebuilt as, or null (a plain Error). */
export function errorClass(name: string): (new (...args: never[]) => Error) | null {
  return Object.hasOwn(classes, name) ? classes[name] : null;
}

/** A field value JSON carries unchanged. */
export function isPrimitive(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

/** A field value structured clone carries. */
export function isCloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

/** True for an Error, or an object that looks like one (from another realm). */
export function isErrorLike(value: unknown): value is Error {
  return (
    value instanceof Error || (typeof value === 'object' && value !== null && 'stack' in value)
  );
}

/** `err` for the trip; a thrown non-Error becomes an Error that says what it was. */
export function encodeError(err: unknown, keep: (value: unknown) => boolean): WireError {
  if (!isErrorLike(err)) {
    return { name: 'Error', message: `a non-Error value was thrown: ${String(err)}`, props: {} };
  }
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(err)) {
    if (key === 'name' || key === 'message' || key === 'stack') continue;
    const value = (err as unknown as Record<string, unknown>)[key];
    if (keep(value)) props[key] = value;
  }
  return { name: String(err.name), message: String(err.message), stack: err.stack, props };
}

/** The error rebuilt: its class where known (the constructor is not run, as
 * forkful's constructors take other arguments), name, message, fields and
 * stack; `where` ("in pool worker 123") is appended to the stack. */
export function decodeError(wire: WireError, where?: string): Error {
  const err = Object.create((errorClass(wire.name) ?? Error).prototype) as Error;
  const define = (key: string, value: unknown) =>
    Object.defineProperty(err, key, { value, writable: true, configurable: true });
  define('message', wire.message);
  const stack = wire.stack ?? `${wire.name}: ${wire.message}`;
  define('stack', where ? `${stack}\n    (${where})` : stack);
  if (err.name !== wire.name) define('name', wire.name);
  Object.assign(err, wire.props);
  return err;
}
