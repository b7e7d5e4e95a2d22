// The bytes of one Connection message. v8's serializer costs about 0.8 us
// for a number and 2 us for a two-element array (Python's pickle: ~0.5 us),
// so plain data takes a compact path of its own: numbers, strings, booleans,
// null, undefined, and dense arrays and plain objects of them (no shared or
// cyclic references, no other prototypes), each as a tag byte and its value.
// Anything else (Maps, typed arrays, Dates, forkful's shareable objects, a
// repeated object...) goes through lib/serialize, whose output always starts
// with v8's version tag 0xff, which no tag below uses. A Buffer or a
// Uint8Array sent whole is its tag, its kind and its bytes (TAG_BYTES): the
// senders write those bytes from the caller's memory, and a receiver that
// owns the frame gets a view of it, so a large payload is neither copied
// into an encoder's output nor out of the frame.
import { deserialize } from './serialize';
import { kShare } from './shareable';

const TAG_INT32 = 1;
const TAG_FLOAT64 = 2;
const TAG_STRING = 3;
const TAG_NULL = 4;
const TAG_UNDEFINED = 5;
const TAG_TRUE = 6;
const TAG_FALSE = 7;
const TAG_ARRAY = 8;
const TAG_OBJECT = 9;
/** First byte of a whole Buffer or Uint8Array; the second is its kind. */
const TAG_BYTES = 10;
const KIND_BUFFER = 0;
const KIND_UINT8 = 1;
/** The bytes before the payload of a TAG_BYTES frame. */
export const BYTES_LEAD = 2;

const SCRATCH = 64 * 1024;
const MAX_OBJECTS = 64;
const MAX_DEPTH = 16;

/** Where encodeFast writes; valid until the next encodeFast (send() writes
 * it out at once). Each worker thread has its own module instance. */
export const scratch = Buffer.allocUnsafeSlow(SCRATCH);
const view = new DataView(scratch.buffer, scratch.byteOffset, SCRATCH);

let pos = 0;
const seen: object[] = [];

// Short ASCII strings (keys, tags) are copied byte by byte: cheaper than a
// call into Buffer's UTF-8 encoder.
function asciiWrite(s: string, at: number): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return scratch.write(s, at, 'utf8');
    scratch[at + i] = c;
  }
  return n;
}

function putString(s: string): boolean {
  if (pos + 5 + s.length * 3 > SCRATCH) return false;
  scratch[pos] = TAG_STRING;
  const n = s.length <= 32 ? asciiWrite(s, pos + 5) : scratch.write(s, pos + 5, 'utf8');
  view.setUint32(pos + 1, n, true);
  pos += 5 + n;
  return true;
}

function put(value: unknown, depth: number): boolean {
  if (pos + 9 > SCRATCH) return false;
  switch (typeof value) {
    case 'number':
      if ((value | 0) === value && !Object.is(value, -0)) {
        scratch[pos] = TAG_INT32;
        view.setInt32(pos + 1, value, true);
        pos += 5;
      } else {
        scratch[pos] = TAG_FLOAT64;
        view.setFloat64(pos + 1, value, true);
        pos += 9;
      }
      return true;
    case 'string':
      return putString(value);
    case 'boolean':
      scratch[pos++] = value ? TAG_TRUE : TAG_FALSE;
      return true;
    case 'undefined':
      scratch[pos++] = TAG_UNDEFINED;
      return true;
    case 'object':
      if (value === null) {
        scratch[pos++] = TAG_NULL;
        return true;
      }
      return putObject(value, depth);
    default:
      return false; // functions, symbols, bigints: the full encoder decides
  }
}

function putObject(value: object, depth: number): boolean {
  if (depth > MAX_DEPTH || seen.length >= MAX_OBJECTS || seen.includes(value)) return false;
  if (kShare in value) return false;
  seen.push(value);
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    const n = value.length;
    // Holes and extra properties: structured clone keeps them, this cannot.
    if (Object.keys(value).length !== n) return false;
    scratch[pos] = TAG_ARRAY;
    view.setUint32(pos + 1, n, true);
    pos += 5;
    for (let i = 0; i < n; i++) if (!put(value[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  const keys = Object.keys(value);
  scratch[pos] = TAG_OBJECT;
  view.setUint32(pos + 1, keys.length, true);
  pos += 5;
  for (const key of keys) {
    if (!putString(key)) return false;
    if (!put((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

/** Encodes plain data, or a whole Buffer or Uint8Array that fits, into
 * `scratch`; its size, or -1 when the value needs lib/serialize. */
export function encodeFast(value: unknown): number {
  pos = 0;
  const lead = bytesLead(value);
  if (lead >= 0) {
    const bytes = value as Uint8Array;
    if (bytes.length > SCRATCH - BYTES_LEAD) return -1;
    writeBytesLead(scratch, 0, lead);
    scratch.set(bytes, BYTES_LEAD);
    return BYTES_LEAD + bytes.length;
  }
  try {
    return put(value, 0) ? pos : -1;
  } finally {
    seen.length = 0;
  }
}

/** A Buffer or a plain Uint8Array (not a subclass, not another typed
 * array: structured clone would keep those apart) is sent as its bytes
 * behind a two-byte lead; its lead as a number (tag << 8 | kind), or -1 for
 * anything else. */
export function bytesLead(value: unknown): number {
  if (!(value instanceof Uint8Array)) return -1;
  const proto = Object.getPrototypeOf(value);
  if (proto === Buffer.prototype) return (TAG_BYTES << 8) | KIND_BUFFER;
  if (proto === Uint8Array.prototype) return (TAG_BYTES << 8) | KIND_UINT8;
  return -1;
}

/** Writes a lead from bytesLead() at `buf[at]`. */
export function writeBytesLead(buf: Uint8Array, at: number, lead: number): void {
  buf[at] = lead >> 8;
  buf[at + 1] = lead & 0xff;
}

/** A copy of `bytes` in memory of its own. Buffer.from(aUint8Array) costs
 * a third of a receiver's time on 64 KiB messages (Node builds it through
 * the TypedArray constructor); this is one allocation and one memcpy. */
export function copyBytes(bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  out.set(bytes);
  return out;
}

function decodeBytes(frame: Buffer, owned: boolean): Uint8Array {
  const kind = frame[1];
  if (frame.length < BYTES_LEAD || (kind !== KIND_BUFFER && kind !== KIND_UINT8)) {
    throw new RangeError(`corrupt message: a byte payload of unknown kind ${kind}`);
  }
  const bytes = owned ? frame.subarray(BYTES_LEAD) : copyBytes(frame.subarray(BYTES_LEAD));
  return kind === KIND_BUFFER
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

// The compact decoder's cursor, and the start and end of the message it reads.
let rpos = 0;
let rstart = 0;
let rend = 0;

function corrupt(what: string): RangeError {
  return new RangeError(`corrupt message: ${what} at byte ${rpos - rstart}`);
}

// Little-endian reads inline: Buffer's readInt32LE is a call with argument
// checks, paid per field while the code is still cold.
function readU32(buf: Buffer, at: number): number {
  return (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0;
}

/** A count of `n` items, each at least one byte: more than the bytes left
 * is corrupt (rather than a huge array allocated for it). */
function count(buf: Buffer): number {
  const n = readU32(buf, rpos + 1);
  rpos += 5;
  if (n > rend - rpos) throw corrupt(`a count of ${n} items with ${rend - rpos} bytes left`);
  return n;
}

function asciiRead(frame: Buffer, start: number, end: number): string {
  let out = '';
  for (let i = start; i < end; i++) {
    const c = frame[i];
    if (c >= 0x80) return frame.toString('utf8', start, end);
    out += String.fromCharCode(c);
  }
  return out;
}

function get(frame: Buffer): unknown {
  const tag = frame[rpos];
  switch (tag) {
    case TAG_INT32:
      rpos += 5;
      return readU32(frame, rpos - 4) | 0;
    case TAG_FLOAT64:
      rpos += 9;
      return frame.readDoubleLE(rpos - 8);
    case TAG_STRING: {
      const n = readU32(frame, rpos + 1);
      const start = rpos + 5;
      if (n > rend - start) throw corrupt(`a string of ${n} bytes with ${rend - start} left`);
      rpos = start + n;
      return n <= 16 ? asciiRead(frame, start, rpos) : frame.toString('utf8', start, rpos);
    }
    case TAG_NULL:
      rpos++;
      return null;
    case TAG_UNDEFINED:
      rpos++;
      return undefined;
    case TAG_TRUE:
      rpos++;
      return true;
    case TAG_FALSE:
      rpos++;
      return false;
    case TAG_ARRAY: {
      const n = count(frame);
      const out = new Array(n);
      for (let i = 0; i < n; i++) out[i] = get(frame);
      return out;
    }
    case TAG_OBJECT: {
      const n = count(frame);
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const key = get(frame) as string;
        const value = get(frame);
        if (key === '__proto__') {
          Object.defineProperty(out, key, {
            value,
            writable: true,
            enumerable: true,
            configurable: true,
          });
        } else {
          out[key] = value;
        }
      }
      return out;
    }
    default:
      throw corrupt(`unknown tag ${tag}`);
  }
}

/** Whether the message at buf[start, end) is in the compact form, which
 * decodeCompact reads where it lies (nothing of it is kept: no view of the
 * frame is needed). */
export function isCompact(buf: Buffer, start: number, end: number): boolean {
  if (end <= start) return false;
  const tag = buf[start];
  return tag !== 0xff && tag !== TAG_BYTES;
}

/** Decodes the compact message at buf[start, end) (see isCompact); a
 * message that does not end where its frame does is corrupt. */
export function decodeCompact(buf: Buffer, start: number, end: number): unknown {
  rpos = rstart = start;
  rend = end;
  const value = get(buf);
  if (rpos !== end) throw corrupt(`${end - rpos} bytes left over`);
  return value;
}

/** Decodes one message: the compact form or lib/serialize's (shared objects
 * left as markers when `revive` is false: see deserialize). `owned`: the
 * frame is the message's own memory, which the result may keep views of
 * (v8's deserializer returns typed arrays as views of its input); false
 * for a frame in a buffer that later reads reuse, whose bytes are then
 * copied. */
export function decodeMessage(frame: Buffer, revive = true, owned = true): unknown {
  if (frame.length === 0) return deserialize(frame, revive);
  const tag = frame[0];
  if (tag === 0xff) return deserialize(owned ? frame : copyBytes(frame), revive);
  if (tag === TAG_BYTES) return decodeBytes(frame, owned);
  return decodeCompact(frame, 0, frame.length);
}
