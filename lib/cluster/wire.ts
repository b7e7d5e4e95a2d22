// What a cluster job carries and what it returns. Values cross with the
// spawn backend's rules: v8 structured clone (lib/serialize), base64 in
// BullMQ's JSON job data. forkful's shared objects (locks, Value, Queue...)
// live on one machine, so they are refused here rather than sent by handle.
import { PayloadTooLargeError, SerializationError } from '../core/errors';
import {
  decodeError as decodeWire,
  encodeError as encodeWire,
  isPrimitive,
  type WireError as TransferWireError,
} from '../transfer/error-wire';
import { deserialize, serialize } from '../transfer/serialize';
import { encodeShareables } from '../transfer/shareable';
import type { TargetSpec } from './target';

/** Bumped when the job format changes: a worker refuses jobs it cannot read. */
export const WIRE_VERSION = 1;

/** Default limit of a job's encoded arguments, and of its encoded result. */
export const DEFAULT_MAX_JOB_BYTES = 4 * 1024 * 1024;

export type Mode = 'apply' | 'map' | 'star';

/** BullMQ job data (JSON). */
export interface JobData {
  v: number;
  /** The caller (pool) id: the worker drops jobs of a caller that is gone. */
  c: string;
  t: TargetSpec;
  m: Mode;
  /** base64 of serialize(payload): apply: the args; map/star: the items. */
  p: string;
  /** The caller's maxJobBytes: a result over it fails with PayloadTooLargeError. */
  l: number;
}

/** An error as it crosses back to the caller: its own primitive fields
 * (JSON carries them), and host:pid of the worker it happened on. */
export type WireError = TransferWireError & { where: string };

// Lists of numbers travel as a Float64Array (one block instead of a tag and
// a number per element), as the local pool sends them.
const PACK_MIN = 64;
function pack(values: unknown): unknown {
  if (!Array.isArray(values) || values.length < PACK_MIN) return values;
  const packed = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number') return values;
    packed[i] = v;
  }
  return packed;
}

function unpack(value: unknown, packed: boolean): unknown {
  return packed ? Array.from(value as Float64Array) : value;
}

/** base64 of the encoded value, refusing shared objects and what is over
 * `limit` bytes (`what` says which, for the message). */
export function encodeValue(value: unknown, limit: number, what: string): string {
  if (encodeShareables(value) !== value) {
    throw new SerializationError(
      `cannot send ${what} to a cluster worker: it holds a forkful shared object (Lock, ` +
        `Value, Array, Queue, Connection...), which lives on one machine; send plain data`,
    );
  }
  const packed = pack(value);
  const bytes = serialize([packed !== value, packed]);
  const size = Math.ceil(bytes.length / 3) * 4;
  if (size > limit) throw tooLarge(what, size, limit);
  return bytes.toString('base64');
}

export function decodeValue(text: string): unknown {
  const [packed, value] = deserialize(Buffer.from(text, 'base64')) as [boolean, unknown];
  return unpack(value, packed);
}

export function tooLarge(what: string, size: number, limit: number): PayloadTooLargeError {
  const err = new PayloadTooLargeError(
    `${what} take ${size} bytes encoded, over the cluster's limit of ${limit} ` +
      `(maxJobBytes): a job's data and result live in Redis and in BullMQ's events ` +
      `stream; pass a smaller chunksize, or send a reference (a path, a URL) instead of the data`,
  );
  err.size = size;
  err.limit = limit;
  return err;
}

/** A task's outcome, as the job's return value. */
export type Outcome = [ok: true, value: string] | [ok: false, error: WireError];

export function encodeError(err: unknown, where: string): WireError {
  return { ...encodeWire(err, isPrimitive), where };
}

/** The worker's error rebuilt for the caller: same class where it is a
 * standard or forkful error, same name, message, fields and stack (the
 * worker's, where it was thrown). */
export function decodeError(wire: WireError): Error {
  return decodeWire(wire, `on cluster worker ${wire.where}`);
}
