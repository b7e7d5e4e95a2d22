// The one encoding for values that cross to another process or thread:
// v8 structured clone, with forkful's shareable objects passed by handle.
import * as v8 from 'node:v8';
import { SerializationError } from '../core/errors';
import { decodeShareables, encodeShareables } from './shareable';

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
    const reason = err instanceof Error ? err.message : String(err);
    throw new SerializationError(
      `cannot send ${describe(value)}: ${reason} ` +
        `(values cross by structured clone; functions, symbols and native handles ` +
        `other than forkful's shareable objects cannot travel)`,
      { cause: err },
    );
  }
}

/** Decodes what serialize() produced. */
export function deserialize(data: Uint8Array): unknown {
  try {
    return decodeShareables(v8.deserialize(data));
  } catch (err) {
    if (err instanceof SerializationError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new SerializationError(`cannot decode a message: ${reason}`, { cause: err });
  }
}
