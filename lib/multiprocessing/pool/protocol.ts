// The messages between a Pool and its workers, and how errors cross. Every
// message is one length-prefixed frame (native sendFrame) holding a value
// encoded by lib/transfer/serialize.ts.
import { isFloat64Array } from 'node:util/types';
import { serialize } from '../../transfer/serialize';
import { copyBytes, encodeFast, scratch } from '../../transfer/wire';
import {
  decodeError as decodeWire,
  encodeError as encodeWire,
  isCloneable,
  type WireError,
} from '../../transfer/error-wire';

/** Parent -> worker. */
export const MSG_TASK = 1; // [MSG_TASK, chunkId, fnId, mode, payload]
export const MSG_EXIT = 2; // [MSG_EXIT]: finish what was sent, then exit
export const MSG_DEF = 3; // [MSG_DEF, fnId, FunctionSpec] (spawn backend)

/** Worker -> parent. */
export const MSG_RESULT = 1; // [MSG_RESULT, chunkId, ok, valueOrEncodedError]
export const MSG_INIT_ERROR = 2; // [MSG_INIT_ERROR, encodedError]
export const MSG_RESULTS = 3; // [MSG_RESULTS, [[chunkId, ok, value], ...]]

/** A message's frame for sendBytes: plain data (an apply's arguments,
 * mostly) takes the compact encoding Connection.send uses (v8.serialize and
 * its garbage were a fifth of the pool's time per apply round trip); the
 * rest, structured clone. The worker decodes either (decodeMessage). */
export function encodeFrame(msg: unknown[]): Buffer {
  const n = encodeFast(msg);
  return n >= 0 ? copyBytes(scratch.subarray(0, n)) : serialize(msg);
}

// Several task messages written at once travel as one frame: this byte (a
// serialized message starts with 0xff), then each message as a 4-byte
// big-endian length and its bytes. One write and one read for many tasks.
const BATCH_MARK = 0x01;

export function packFrames(frames: Buffer[]): Buffer {
  let size = 1;
  for (const f of frames) size += 4 + f.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = BATCH_MARK;
  let at = 1;
  for (const f of frames) {
    out.writeUInt32BE(f.length, at);
    f.copy(out, at + 4);
    at += 4 + f.length;
  }
  return out;
}

/** The messages in a frame: one, or several from packFrames. */
export function unpackFrames(frame: Buffer): Buffer[] {
  if (frame[0] !== BATCH_MARK) return [frame];
  const out: Buffer[] = [];
  let at = 1;
  while (at < frame.length) {
    const len = frame.readUInt32BE(at);
    out.push(frame.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

/** How a chunk's payload is applied. */
export const MODE_APPLY = 0; // payload: the args array; result: one value
export const MODE_MAP = 1; // payload: items; result: fn(item) for each
export const MODE_STAR = 2; // payload: arg arrays; result: fn(...args) for each

export type Mode = typeof MODE_APPLY | typeof MODE_MAP | typeof MODE_STAR;

/** Lists shorter than this travel as they are. */
export const PACK_MIN = 64;

/** A list of numbers travels as a Float64Array: structured clone copies it
 * in one block, where an array costs a tag and a varint per element. Other
 * lists travel as they are. */
export function packValues(values: unknown[] | Float64Array | ItemRange): unknown[] | Float64Array {
  if (values instanceof ItemRange) return packRange(values.items, values.start, values.end);
  if (isFloat64Array(values)) return values;
  return packedNumbers(values, 0, values.length) ?? values;
}

/** items[start, end) in a Float64Array when there are PACK_MIN or more and
 * every one is a number (a hole reads as undefined); else null. */
function packedNumbers(items: unknown[], start: number, end: number): Float64Array | null {
  const n = end - start;
  if (n < PACK_MIN) return null;
  const packed = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = items[start + i];
    if (typeof v !== 'number') return null;
    packed[i] = v;
  }
  return packed;
}

/** A map chunk's items: items[start, end) of the copy of its input that
 * the call took (one copy: a large array lies outside the young generation,
 * where slices of 100,000 numbers, 800 KB, cost a scavenge of several ms),
 * packed when the chunk is sent, so the first workers start before the
 * last chunk is packed. */
export class ItemRange {
  readonly length: number;
  constructor(
    readonly items: unknown[],
    readonly start: number,
    readonly end: number,
  ) {
    this.length = end - start;
  }
}

/** items[start, end) as it travels: packValues' form, made from the array
 * at once (no slice first). */
export function packRange(items: unknown[], start: number, end: number): unknown[] | Float64Array {
  return packedNumbers(items, start, end) ?? items.slice(start, end);
}

/** The inverse of packValues, for whoever needs a real array. (Not
 * instanceof: the deserialised array may come from another realm, as under
 * jest's vm context.) */
export function unpackValues(values: unknown[] | Float64Array): unknown[] {
  return isFloat64Array(values) ? Array.from(values) : values;
}

/** A task's error as it travels to the parent, with the worker's pid. */
export type EncodedError = WireError & { pid: number };

export function encodeError(err: unknown): EncodedError {
  return { ...encodeWire(err, isCloneable), pid: process.pid };
}

/** The worker's error rebuilt in the parent: same class where known, same
 * name, message, fields and stack (the worker's, where it was thrown). */
export function decodeError(encoded: EncodedError): Error {
  return decodeWire(encoded, `in pool worker ${encoded.pid}`);
}
