// Python's multiprocessing.shared_memory.ShareableList: a fixed-length list
// of int/float/bool/str/bytes/None in a SharedMemory block, in Python's
// layout, byte for byte, so a Python process can attach to it by name too:
//   8 bytes         the number of items N (int64)
//   (N + 1) * 8     each item's offset into the data area (int64)
//   data            each item in its slot: 8 bytes for a number, a bool or
//                   None; a multiple of 8 for str/bytes, fixed at creation
//   N * 8           each item's struct format ('q', 'd', 'xxxxxxx?',
//                   'xxxxxx?x', '16s'...), NUL-padded
//   N               each item's back-transform code (0 value, 1 str,
//                   2 bytes, 3 None)
// Native byte order (little-endian on every platform forkful runs on).
//
// JavaScript has one number type: an integer-valued number is stored as
// Python's int ('q'), any other as float ('d'); a 'q' reads back as a number
// when it is a safe integer, else as a BigInt. bytes read back as a Buffer,
// None as null.
import { inspect } from 'node:util';
import { ValueError } from '../core/errors';
import { installIndexing } from '../synchronize/sharedctypes';
import { kShare, type Revivers, type ShareState } from '../transfer/shareable';
import { SharedMemory } from './shared-memory';

/** What a ShareableList holds. */
export type ShareableItem = number | bigint | boolean | string | Uint8Array | null;

const ALIGNMENT = 8;
const BOOL_FORMAT = 'xxxxxxx?';
const NONE_FORMAT = 'xxxxxx?x';
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const enum Code {
  Value = 0,
  Str = 1,
  Bytes = 2,
  None = 3,
}

function codeOf(value: ShareableItem): Code {
  if (typeof value === 'string') return Code.Str;
  if (value instanceof Uint8Array) return Code.Bytes;
  if (value === null || value === undefined) return Code.None;
  return Code.Value;
}

// A str's slot: Python sizes it by len(str), in code points.
function slotFor(length: number): number {
  return ALIGNMENT * (Math.floor(length / ALIGNMENT) + 1);
}

function formatOf(value: ShareableItem): string {
  if (typeof value === 'string') return `${slotFor([...value].length)}s`;
  if (value instanceof Uint8Array) return `${slotFor(value.length)}s`;
  if (value === null || value === undefined) return NONE_FORMAT;
  if (typeof value === 'boolean') return BOOL_FORMAT;
  if (typeof value === 'bigint') return 'q';
  if (typeof value === 'number') return Number.isInteger(value) ? 'q' : 'd';
  throw new TypeError(
    `a ShareableList holds numbers, bigints, booleans, strings, bytes (Uint8Array) and null, ` +
      `not ${typeof value}`,
  );
}

function encode(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

function sameItem(a: ShareableItem, b: ShareableItem): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b) === 0;
  // Python's 42 == 42.0 and 2**70 == int: a number and a BigInt of one value.
  if (typeof a === 'bigint' && typeof b === 'number') return Number.isInteger(b) && a === BigInt(b);
  if (typeof a === 'number' && typeof b === 'bigint') return Number.isInteger(a) && BigInt(a) === b;
  return a === b;
}

function toInt64(value: number | bigint): bigint {
  const n = BigInt(value);
  if (n < INT64_MIN || n > INT64_MAX) {
    throw new ValueError(`${value} does not fit in a ShareableList's 64-bit integer slot`);
  }
  return n;
}

/** Python's multiprocessing.shared_memory.ShareableList. */
export class ShareableList {
  /** The block the list lives in. */
  readonly shm: SharedMemory;
  #length: number;
  #offsets: number[];

  /** `new ShareableList(sequence)` creates a block holding the items (under
   * `name`, or a new name); `new ShareableList(null, { name })` attaches to
   * an existing list. */
  constructor(sequence?: Iterable<ShareableItem> | null, options: { name?: string | null } = {}) {
    const name = options.name ?? null;
    if (name === null || (sequence !== null && sequence !== undefined)) {
      const items = [...(sequence ?? [])];
      const formats = items.map(formatOf);
      this.#length = items.length;
      this.#offsets = [0];
      let offset = 0;
      for (const format of formats) {
        offset += format.endsWith('s') ? parseInt(format, 10) : ALIGNMENT;
        this.#offsets.push(offset);
      }
      const size = 8 + 8 * (items.length + 1) + offset + 8 * items.length + items.length;
      this.shm = new SharedMemory(name, true, size);
      const view = this.#view();
      view.setBigInt64(0, BigInt(items.length), true);
      this.#offsets.forEach((o, i) => view.setBigInt64(8 + 8 * i, BigInt(o), true));
      items.forEach((item, i) => this.#write(i, formats[i], item));
    } else {
      this.shm = new SharedMemory(name);
      const view = this.#view();
      this.#length = Number(view.getBigInt64(0, true));
      this.#offsets = [];
      for (let i = 0; i <= this.#length; i++) {
        this.#offsets.push(Number(view.getBigInt64(8 + 8 * i, true)));
      }
    }
  }

  #buf(): Buffer {
    const buf = this.shm.buf;
    if (buf === null) throw new ValueError('operation on a ShareableList whose block is closed');
    return buf;
  }

  #view(): DataView {
    const buf = this.#buf();
    return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get #dataStart(): number {
    return (this.#length + 2) * 8;
  }

  get #formatsStart(): number {
    return this.#dataStart + this.#offsets[this.#length];
  }

  get #codesStart(): number {
    return this.#formatsStart + this.#length * 8;
  }

  #position(index: number, what: string): number {
    if (!Number.isInteger(index)) throw new TypeError('ShareableList indices must be integers');
    const i = index < 0 ? index + this.#length : index;
    if (i < 0 || i >= this.#length) throw new RangeError(`${what} out of range`);
    return i;
  }

  #formatAt(i: number): string {
    const start = this.#formatsStart + i * 8;
    const raw = this.#buf().subarray(start, start + 8);
    const end = raw.indexOf(0);
    return raw.toString('utf8', 0, end === -1 ? 8 : end);
  }

  // Sets item i's format and code, then packs its value as struct.pack_into.
  #write(i: number, format: string, value: ShareableItem): void {
    const buf = this.#buf();
    const view = this.#view();
    const formatAt = this.#formatsStart + i * 8;
    buf.fill(0, formatAt, formatAt + 8);
    buf.write(format, formatAt, 8, 'utf8');
    view.setInt8(this.#codesStart + i, codeOf(value));
    const at = this.#dataStart + this.#offsets[i];
    if (format.endsWith('s')) {
      const width = parseInt(format, 10);
      const bytes = encode(value as string | Uint8Array);
      buf.fill(0, at, at + width);
      buf.set(bytes.subarray(0, width), at);
    } else if (format === 'q') {
      view.setBigInt64(at, toInt64(value as number | bigint), true);
    } else if (format === 'd') {
      view.setFloat64(at, value as number, true);
    } else if (format === BOOL_FORMAT) {
      buf.fill(0, at, at + 8);
      buf[at + 7] = value ? 1 : 0;
    } else {
      buf.fill(0, at, at + 8); // None: '?' packs False
    }
  }

  /** The number of items (Python's len()). */
  get length(): number {
    return Number(this.#view().getBigInt64(0, true));
  }

  /** Item `index` (negative counts from the end); RangeError past the end. */
  get(index: number): ShareableItem {
    const i = this.#position(index, 'index');
    const format = this.#formatAt(i);
    const code = this.#view().getInt8(this.#codesStart + i);
    const at = this.#dataStart + this.#offsets[i];
    if (code === Code.None) return null;
    if (format.endsWith('s')) {
      const raw = this.#buf().subarray(at, at + parseInt(format, 10));
      let end = raw.length;
      while (end > 0 && raw[end - 1] === 0) end--;
      return code === Code.Str ? raw.toString('utf8', 0, end) : Buffer.from(raw.subarray(0, end));
    }
    const view = this.#view();
    if (format === 'q') {
      const n = view.getBigInt64(at, true);
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(n)
        : n;
    }
    if (format === 'd') return view.getFloat64(at, true);
    if (format === BOOL_FORMAT) return view.getUint8(at + 7) !== 0;
    throw new ValueError(`ShareableList item ${i} has a format forkful does not read: '${format}'`);
  }

  /** Sets item `index`. Its type may change; a str/bytes must fit the slot
   * the item got at creation (ValueError "exceeds available storage"). */
  set(index: number, value: ShareableItem): void {
    const i = this.#position(index, 'assignment index');
    let format: string;
    if (typeof value === 'string' || value instanceof Uint8Array) {
      const allocated = this.#offsets[i + 1] - this.#offsets[i];
      if (encode(value).length > allocated) {
        throw new ValueError('bytes/str item exceeds available storage');
      }
      const current = this.#formatAt(i);
      format = current.endsWith('s') ? current : `${allocated}s`;
    } else {
      format = formatOf(value);
    }
    this.#write(i, format, value);
  }

  /** The struct format of every item, as Python's `format`. */
  get format(): string {
    let out = '';
    for (let i = 0; i < this.#length; i++) out += this.#formatAt(i);
    return out;
  }

  /** How many items equal `value` (Buffers by their bytes). */
  count(value: ShareableItem): number {
    let n = 0;
    for (const item of this) if (sameItem(value, item)) n++;
    return n;
  }

  /** The first index of `value`; ValueError when it is not there. */
  index(value: ShareableItem): number {
    let i = 0;
    for (const item of this) {
      if (sameItem(value, item)) return i;
      i++;
    }
    throw new ValueError(`${inspect(value)} not in this container`);
  }

  *[Symbol.iterator](): IterableIterator<ShareableItem> {
    for (let i = 0; i < this.#length; i++) yield this.get(i);
  }

  toString(): string {
    return `ShareableList(${inspect([...this])}, name='${this.shm.name}')`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  /** Crosses by name (Python pickles the name only): the other side
   * attaches to the same block. */
  [kShare](): ShareState {
    return { kind: 'ShareableList', state: { name: this.shm.name } };
  }

  [index: number]: ShareableItem;
}

// list[i] as Python's, the way sharedctypes' RawArray does it.
installIndexing(ShareableList);

export const shareableListRevivers: Revivers = {
  ShareableList: (raw) => new ShareableList(null, { name: (raw as { name: string }).name }),
};
