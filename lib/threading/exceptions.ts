// An exception on its way from a thread to the thread that started it: the
// worker packs it (structured clone cannot carry an Error's class or extra
// fields), the starter unpacks it into an object of the same class where
// that class is known (JS's own errors and forkful's), with the thread's
// message, stack and cloneable fields.
import { inspect } from 'node:util';
import {
  decodeError,
  encodeError,
  errorClass,
  isCloneable,
  isErrorLike,
  type WireError,
} from '../transfer/error-wire';

/** A class of error a thread's exception is rebuilt as. */
export type ErrorClass = new (...args: never[]) => unknown;

/** An exception as it travels from a thread to the thread that started it:
 * an error, or any other thrown value (cloned, or described). */
export type PackedException = (WireError & { error: true }) | { error: false; value: unknown };

/** Packs an exception so it survives the trip to another thread. */
export function packException(err: unknown): PackedException {
  if (isErrorLike(err)) return { error: true, ...encodeError(err, isCloneable) };
  return { error: false, value: isCloneable(err) ? err : inspect(err) };
}

export function unpackException(packed: PackedException): {
  value: unknown;
  type: ErrorClass | null;
} {
  if (!packed.error) return { value: packed.value, type: null };
  return { value: decodeError(packed), type: errorClass(packed.name) ?? Error };
}
