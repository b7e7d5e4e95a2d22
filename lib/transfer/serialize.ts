// The one encoding for values that cross to another process or thread:
// v8 structured clone, with forkful's shareable objects passed by handle.
import * as v8 from 'node:v8';
import { SerializationError } from '../core/errors';
import { decodeShareables, encodeShareables } from './shareable';
import { collectPassedFds, withMessageFds } from './fd-transfer';

/** The top-level key of a message that holds fds of its own (sent with
 * serializePassingFds): `{ [FDS_KEY]: count, value }`. */
const FDS_KEY = '__forkful_fds__';

function describe(value: unknown): string {
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'object' && value !== null) {
    return `an object of class ${value.constructor?.name ?? 'Object'}`;
  }
  return typeof value;
}

/** Encodes a value; throws SerializationError saying what could not travel. */
export function serialize(value: unknown): Buffer {
  try {
    return v8.serialize(encodeShareables(value));
  } catch (err) {
    throw encodeFailed(value, err);
  }
}

/** serialize() for a channel that carries fds (a Unix socket): the fds of
 * the objects in `value` (Connection, Queue) travel with the message, as
 * `fds`, and the receiver gets its own copies of them. */
export function serializePassingFds(value: unknown): { body: Buffer; fds: number[] } {
  try {
    const { value: encoded, fds } = collectPassedFds(() => encodeShareables(value));
    const body = v8.serialize(fds.length > 0 ? { [FDS_KEY]: fds.length, value: encoded } : encoded);
    return { body, fds };
  } catch (err) {
    throw encodeFailed(value, err);
  }
}

function encodeFailed(value: unknown, err: unknown): SerializationError {
  const reason = err instanceof Error ? err.message : String(err);
  return new SerializationError(
    `cannot send ${describe(value)}: ${reason} ` +
      `(values cross by structured clone; functions, symbols and native handles ` +
      `other than forkful's shareable objects cannot travel)`,
    { cause: err },
  );
}

/** How many fds a decoded message says travelled with it (0: none). */
function fdCount(value: unknown): number {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 0;
  const count = (value as Record<string, unknown>)[FDS_KEY];
  return typeof count === 'number' ? count : 0;
}

/** How many fds travelled with the encoded message `data` (0: none, or not
 * a message serialize() made): for a receiver that takes it as bytes. */
export function fdsCarriedBy(data: Uint8Array): number {
  try {
    return fdCount(v8.deserialize(data));
  } catch {
    return 0; // raw bytes (sendBytes), which never carry fds
  }
}

function decodeFailed(err: unknown): SerializationError {
  if (err instanceof SerializationError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new SerializationError(`cannot decode a message: ${reason}`, { cause: err });
}

/** Decodes what serialize() produced. With `revive` false, forkful's shared
 * objects stay markers: a receiver that must tell which part of a message
 * failed (a Pool's results, a worker's tasks) revives each part itself with
 * reviveShareables(). */
export function deserialize(data: Uint8Array, revive = true): unknown {
  try {
    const value = v8.deserialize(data);
    if (!revive) return value;
    const count = fdCount(value);
    if (count === 0) return decodeShareables(value);
    return withMessageFds(count, () => decodeShareables((value as { value: unknown }).value));
  } catch (err) {
    throw decodeFailed(err);
  }
}

/** Revives the shared objects of a value deserialize(data, false) gave;
 * throws SerializationError saying why one cannot live here. */
export function reviveShareables(value: unknown): unknown {
  try {
    return decodeShareables(value);
  } catch (err) {
    throw decodeFailed(err);
  }
}
