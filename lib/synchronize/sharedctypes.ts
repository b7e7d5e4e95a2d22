// Value and Array in the shared arena (Python's multiprocessing.sharedctypes):
// a typed-array view over a block, plus an optional lock. Python typecodes;
// 'l'/'L' are 8 bytes as C long on 64-bit Linux, and 8-byte integers are
// BigInts (a plain number is accepted when writing); 'c' is a byte, read as
// a 1-byte Buffer (Python's bytes), and a 'c' Array has Python's `.value`
// (the bytes up to the first NUL) and `.raw`.
//
// An Array indexes as Python's does: arr[i] (arr[-1] too), arr.length,
// iteration and arr.slice(start, end). A Proxy sits in the prototype chain,
// below the class's own prototype: methods and properties are found before
// it (at full speed), and only a key found nowhere, such as '3', reaches its
// traps, which turn an integer key into get/set (a Synchronized one takes its
// lock). `view`, the typed array itself, is the fast path.
import { checkOptions } from '../core/options';
import { ValueError } from '../core/errors';
import { kShare, type Revivers, type ShareState } from '../transfer/shareable';
import { arenaBuffer, arenaNative, Block, Kind, type BlockState } from './arena';
import { Lock, RLock } from './lock';

type TypedArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

type TypedArrayClass = {
  new (buffer: SharedArrayBuffer, byteOffset: number, length: number): TypedArray;
  BYTES_PER_ELEMENT: number;
};

const TYPECODES: Record<string, TypedArrayClass> = {
  b: Int8Array,
  B: Uint8Array,
  h: Int16Array,
  H: Uint16Array,
  i: Int32Array,
  I: Uint32Array,
  l: BigInt64Array,
  L: BigUint64Array,
  q: BigInt64Array,
  Q: BigUint64Array,
  f: Float32Array,
  d: Float64Array,
  c: Uint8Array,
};

export type Typecode = 'b' | 'B' | 'h' | 'H' | 'i' | 'I' | 'l' | 'L' | 'q' | 'Q' | 'f' | 'd' | 'c';
/** An item: a number, a bigint (8-byte typecodes) or a 1-byte Buffer ('c'). */
export type Scalar = number | bigint | Buffer;
/** The typecodes of 64-bit integers, read as bigint. */
export type BigTypecode = 'l' | 'L' | 'q' | 'Q';
/** What an item of typecode C reads as: bigint for 64-bit integers, a
 * 1-byte Buffer for 'c', else number. */
export type ScalarOf<C extends Typecode> = [C] extends [never]
  ? Scalar
  : C extends BigTypecode
    ? bigint
    : C extends 'c'
      ? Buffer
      : number;
/** What an item of typecode C may be set to (an integer number also fits a
 * 64-bit one, and a byte value a 'c' one). */
export type InitOf<C extends Typecode> = [C] extends [never]
  ? Scalar
  : C extends BigTypecode
    ? bigint | number
    : C extends 'c'
      ? Buffer | number
      : number;

/** @internal The typed array class of a typecode (ValueError for another). */
export function typeOf(typecode: unknown, what: string): TypedArrayClass {
  const cls = typeof typecode === 'string' ? TYPECODES[typecode] : undefined;
  if (!cls) {
    throw new ValueError(
      `${what}: typecode must be one of ${Object.keys(TYPECODES).join(' ')}, got ${String(typecode)}`,
    );
  }
  return cls;
}

function isBig(typecode: string): boolean {
  return 'lLqQ'.includes(typecode);
}

/** @internal What the view stores for `v`, checked for its typecode (a 'c'
 * item is its byte). */
export function coerce(typecode: string, v: unknown, what: string): number | bigint {
  if (typecode === 'c') {
    if (v instanceof Uint8Array && v.length === 1) return v[0];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255) return v;
    throw new ValueError(
      `${what}: typecode 'c' takes one byte (a 1-byte Buffer), got ${String(v)}`,
    );
  }
  if (isBig(typecode)) {
    if (typeof v === 'bigint') return v;
    if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  } else if (typeof v === 'number') {
    return v;
  }
  throw new ValueError(
    `${what}: typecode '${typecode}' takes ${isBig(typecode) ? 'a bigint or an integer' : 'a number'}, got ${String(v)}`,
  );
}

/** @internal What a reader gets for a stored item. */
export function item(typecode: string, stored: number | bigint): Scalar {
  return typecode === 'c' ? Buffer.from([stored as number]) : stored;
}

interface RawState {
  block: BlockState;
  typecode: string;
  length: number;
}

/** @internal A TypeError unless `typecode` is 'c' (the arrays with
 * .value and .raw). */
export function checkChars(typecode: string, what: string): void {
  if (typecode !== 'c') {
    throw new TypeError(`only a typecode 'c' Array has .${what} (this one is '${typecode}')`);
  }
}

/** @internal A 'c' array's .value: its bytes up to the first NUL. */
export function charsValue(bytes: Uint8Array): Buffer {
  const nul = bytes.indexOf(0);
  return Buffer.from(nul < 0 ? bytes : bytes.subarray(0, nul));
}

/** @internal The bytes that writing `v` to a 'c' array of `length` bytes
 * stores from its start: `v`, and for .value a NUL after it when there is
 * room. */
export function charsToWrite(v: unknown, length: number, what: 'value' | 'raw'): Uint8Array {
  if (!(v instanceof Uint8Array))
    throw new TypeError(`Array.${what} takes a Buffer, got ${String(v)}`);
  if (v.length > length) {
    throw new ValueError(`byte string too long (${v.length} bytes for ${length})`);
  }
  if (what === 'raw' || v.length === length) return v;
  const out = new Uint8Array(v.length + 1);
  out.set(v);
  return out;
}

/** Shared memory for `length` items of `typecode`, without a lock. */
class RawBuffer {
  /** @internal */ readonly _block: Block;
  readonly typecode: Typecode;
  /** A typed array over the shared memory (no locking). */
  readonly view: TypedArray;

  constructor(typecode: string, length: number, kind: string, revive?: BlockState) {
    const cls = typeOf(typecode, kind);
    arenaNative(kind);
    this.typecode = typecode as Typecode;
    this._block = revive
      ? Block.revive(kind, Kind.Value, revive, this)
      : Block.alloc(kind, Kind.Value, length * cls.BYTES_PER_ELEMENT, this);
    this.view = new cls(arenaBuffer(), this._block.offset + 16, length);
  }

  /** @internal */ _raw(): RawState {
    return { block: this._block.state(), typecode: this.typecode, length: this.view.length };
  }
}

/** Python's RawValue(typecode, init): a shared scalar without a lock. */
export class RawValue<C extends Typecode = Typecode> extends RawBuffer {
  declare readonly typecode: C;
  constructor(typecode: C, init: InitOf<C> = 0 as InitOf<C>, revive?: BlockState) {
    super(typecode, 1, 'RawValue', revive);
    if (!revive) this.view[0] = coerce(typecode, init, 'RawValue') as never;
  }

  get value(): ScalarOf<C> {
    return item(this.typecode, this.view[0]) as ScalarOf<C>;
  }
  set value(v: InitOf<C>) {
    this.view[0] = coerce(this.typecode, v, 'RawValue') as never;
  }

  [kShare](): ShareState {
    return { kind: 'forkful.RawValue', state: this._raw() };
  }
}

/** Python's RawArray(typecode, sizeOrInit): shared items without a lock;
 * arr[i] reads and writes them. */
export class RawArray<C extends Typecode = Typecode> extends RawBuffer {
  [index: number]: ScalarOf<C>;
  declare readonly typecode: C;
  constructor(typecode: C, sizeOrInit: number | ArrayLike<InitOf<C>>, revive?: RawState) {
    let length: number;
    if (revive) {
      length = revive.length;
    } else if (typeof sizeOrInit === 'number') {
      if (!Number.isInteger(sizeOrInit) || sizeOrInit < 0) {
        throw new ValueError(`Array: size must be an integer >= 0, got ${sizeOrInit}`);
      }
      length = sizeOrInit;
    } else if (sizeOrInit && typeof sizeOrInit.length === 'number') {
      length = sizeOrInit.length;
    } else {
      throw new ValueError('Array: pass a size or an array-like of initial values');
    }
    super(typecode, length, 'RawArray', revive?.block);
    if (!revive && typeof sizeOrInit !== 'number') {
      for (let k = 0; k < length; k++) {
        this.view[k] = coerce(typecode, sizeOrInit[k], 'Array') as never;
      }
    }
  }

  get length(): number {
    return this.view.length;
  }
  get(index: number): ScalarOf<C> {
    return item(this.typecode, this.view[this.check(index)]) as ScalarOf<C>;
  }
  set(index: number, v: InitOf<C>): void {
    this.view[this.check(index)] = coerce(this.typecode, v, 'Array') as never;
  }
  toArray(): ScalarOf<C>[] {
    return this.slice();
  }
  /** Python's arr[start:end]: a plain array of the items (negative bounds
   * count from the end, as Array.prototype.slice). */
  slice(start?: number, end?: number): ScalarOf<C>[] {
    const items = Array.from(this.view.subarray(start, end) as ArrayLike<number | bigint>);
    return (this.typecode === 'c' ? items.map((b) => item('c', b)) : items) as ScalarOf<C>[];
  }
  [Symbol.iterator](): Iterator<ScalarOf<C>> {
    return this.toArray()[Symbol.iterator]();
  }
  /** A 'c' array's bytes up to the first NUL (Python's .value). */
  get value(): Buffer {
    return charsValue(this.bytes('value'));
  }
  /** Writes `v` and a NUL after it when there is room. */
  set value(v: Buffer) {
    const bytes = this.bytes('value');
    bytes.set(charsToWrite(v, bytes.length, 'value'));
  }
  /** A 'c' array's bytes, all of them (Python's .raw). */
  get raw(): Buffer {
    return Buffer.from(this.bytes('raw'));
  }
  set raw(v: Buffer) {
    const bytes = this.bytes('raw');
    bytes.set(charsToWrite(v, bytes.length, 'raw'));
  }
  private bytes(what: string): Uint8Array {
    checkChars(this.typecode, what);
    return this.view as Uint8Array;
  }
  private check(index: number): number {
    const n = this.view.length;
    const k = index < 0 ? index + n : index;
    if (!Number.isInteger(k) || k < 0 || k >= n) {
      throw new RangeError(`Array index ${index} out of range (length ${n})`);
    }
    return k;
  }

  [kShare](): ShareState {
    return { kind: 'forkful.RawArray', state: this._raw() };
  }
}

export interface SyncOptions {
  /** true (default): a new RLock; false: no lock (a Raw object is returned);
   * or a Lock/RLock to use. */
  lock?: boolean | Lock | RLock;
}

function lockOf(opt: SyncOptions | undefined): Lock | RLock | null {
  const lock = checkOptions(opt, ['lock'], 'Value/Array').lock ?? true;
  if (lock === true) return new RLock();
  if (lock === false) return null;
  if (lock instanceof Lock || lock instanceof RLock) return lock;
  throw new TypeError("the 'lock' option must be true, false, a Lock or an RLock");
}

/** What Value and Array with a lock share: the lock and the raw object,
 * Python's get_lock()/get_obj()/acquire()/release(), and travel by handle. */
abstract class Synchronized<Raw extends RawValue | RawArray> {
  constructor(
    protected readonly obj: Raw,
    protected readonly lock: Lock | RLock,
    private readonly kind: string,
  ) {}
  getLock(): Lock | RLock {
    return this.lock;
  }
  getObj(): Raw {
    return this.obj;
  }
  acquire(...args: Parameters<Lock['acquire']>): boolean {
    return this.lock.acquire(...args);
  }
  release(): void {
    this.lock.release();
  }
  [kShare](): ShareState {
    return { kind: this.kind, state: { obj: this.obj, lock: this.lock } };
  }
}

/** A RawValue with a lock: reads and writes of `.value` take the lock (but
 * `v.value += 1` is two steps: hold getLock() around it, as in Python). */
export class SynchronizedValue<C extends Typecode = Typecode> extends Synchronized<RawValue<C>> {
  constructor(obj: RawValue<C>, lock: Lock | RLock) {
    super(obj, lock, 'forkful.Value');
  }
  get value(): ScalarOf<C> {
    this.lock.acquire();
    try {
      return this.obj.value;
    } finally {
      this.lock.release();
    }
  }
  set value(v: InitOf<C>) {
    this.lock.acquire();
    try {
      this.obj.value = v;
    } finally {
      this.lock.release();
    }
  }
  get typecode(): C {
    return this.obj.typecode;
  }
}

/** A RawArray with a lock: arr[i], get/set, slice and iteration take the
 * lock. */
export class SynchronizedArray<C extends Typecode = Typecode> extends Synchronized<RawArray<C>> {
  [index: number]: ScalarOf<C>;

  constructor(obj: RawArray<C>, lock: Lock | RLock) {
    super(obj, lock, 'forkful.Array');
  }
  get length(): number {
    return this.obj.length;
  }
  get typecode(): C {
    return this.obj.typecode;
  }
  /** The unlocked typed-array view (hold getLock() while using it). */
  get view(): TypedArray {
    return this.obj.view;
  }
  get(index: number): ScalarOf<C> {
    return this.lock.withLock(() => this.obj.get(index));
  }
  set(index: number, v: InitOf<C>): void {
    this.lock.withLock(() => this.obj.set(index, v));
  }
  toArray(): ScalarOf<C>[] {
    return this.lock.withLock(() => this.obj.toArray());
  }
  slice(start?: number, end?: number): ScalarOf<C>[] {
    return this.lock.withLock(() => this.obj.slice(start, end));
  }
  [Symbol.iterator](): Iterator<ScalarOf<C>> {
    return this.toArray()[Symbol.iterator]();
  }
  /** A 'c' array's bytes up to the first NUL, under the lock. */
  get value(): Buffer {
    return this.lock.withLock(() => this.obj.value);
  }
  set value(v: Buffer) {
    this.lock.withLock(() => (this.obj.value = v));
  }
  get raw(): Buffer {
    return this.lock.withLock(() => this.obj.raw);
  }
  set raw(v: Buffer) {
    this.lock.withLock(() => (this.obj.raw = v));
  }
}

/** An integer property key ('3', '-1'), or null for any other key. */
function indexKey(key: string | symbol): number | null {
  if (typeof key !== 'string' || key.length === 0) return null;
  const c = key.charCodeAt(0);
  if ((c < 48 || c > 57) && c !== 45) return null;
  const n = Number(key);
  return Number.isInteger(n) && String(n) === key ? n : null;
}

/** What obj[i] turns into: the object's own get(i) and set(i, value). */
export interface Indexable {
  get(index: number): unknown;
  set(index: number, value: never): void;
}

/** The traps that make obj[i] an item: the receiver is the object whose
 * chain reached them. (No `has` trap: it is not told the receiver. `i in
 * arr` stays false, as Python's `in` asks about values.) */
const indexed: ProxyHandler<object> = {
  get(target, key, receiver) {
    const i = indexKey(key);
    return i === null ? Reflect.get(target, key, receiver) : (receiver as Indexable).get(i);
  },
  set(target, key, value, receiver) {
    const i = indexKey(key);
    if (i === null) return Reflect.set(target, key, value, receiver);
    (receiver as Indexable).set(i, value as never);
    return true;
  },
};

/** Makes obj[i] call obj.get(i) / obj.set(i, v) for every instance of `cls`
 * (a Proxy sits below the class's own prototype: see the top of the file). */
export function installIndexing(cls: { prototype: Indexable }): void {
  Object.setPrototypeOf(cls.prototype, new Proxy(Object.getPrototypeOf(cls.prototype), indexed));
}
for (const cls of [RawArray, SynchronizedArray]) installIndexing(cls);

/** Python's sharedctypes.copy(obj): new shared memory (no lock) holding
 * what `obj` holds now. */
export function copy(
  obj: RawValue | RawArray | SynchronizedValue | SynchronizedArray,
): RawValue | RawArray {
  const raw =
    obj instanceof SynchronizedValue || obj instanceof SynchronizedArray ? obj.getObj() : obj;
  if (raw instanceof RawValue) return new RawValue(raw.typecode, raw.value);
  if (raw instanceof RawArray) {
    const out = new RawArray(raw.typecode, raw.length);
    out.view.set(raw.view as never);
    return out;
  }
  throw new TypeError('sharedctypes.copy takes a RawValue, RawArray, Value or Array');
}

/** Python's sharedctypes.synchronized(obj, lock): `obj` behind a lock (a
 * new RLock when none is given). */
export function synchronized(obj: RawValue, lock?: Lock | RLock | null): SynchronizedValue;
export function synchronized(obj: RawArray, lock?: Lock | RLock | null): SynchronizedArray;
export function synchronized(
  obj: RawValue | RawArray,
  lock?: Lock | RLock | null,
): SynchronizedValue | SynchronizedArray {
  const l = lock ?? new RLock();
  if (obj instanceof RawValue) return new SynchronizedValue(obj, l);
  if (obj instanceof RawArray) return new SynchronizedArray(obj, l);
  throw new TypeError('sharedctypes.synchronized takes a RawValue or a RawArray');
}

/** Python's Value(typecode, init=0, { lock }); typed by typecode:
 * `Value('d').value` is a number, `Value('q').value` a bigint. */
export function Value<C extends Typecode>(
  typecode: C,
  init: InitOf<C> | undefined,
  options: { lock: false },
): RawValue<C>;
export function Value<C extends Typecode>(
  typecode: C,
  init?: InitOf<C>,
  options?: SyncOptions,
): SynchronizedValue<C>;
export function Value<C extends Typecode>(
  typecode: C,
  init: InitOf<C> = 0 as InitOf<C>,
  options?: SyncOptions,
): SynchronizedValue<C> | RawValue<C> {
  const obj = new RawValue<C>(typecode, init);
  const lock = lockOf(options);
  return lock ? new SynchronizedValue(obj, lock) : obj;
}

/** Python's Array(typecode, sizeOrInit, { lock }), typed by typecode. Also
 * exported as SharedArray, so importing it need not shadow the global Array. */
function SharedArray<C extends Typecode>(
  typecode: C,
  sizeOrInit: number | ArrayLike<InitOf<C>>,
  options: { lock: false },
): RawArray<C>;
function SharedArray<C extends Typecode>(
  typecode: C,
  sizeOrInit: number | ArrayLike<InitOf<C>>,
  options?: SyncOptions,
): SynchronizedArray<C>;
function SharedArray<C extends Typecode>(
  typecode: C,
  sizeOrInit: number | ArrayLike<InitOf<C>>,
  options?: SyncOptions,
): SynchronizedArray<C> | RawArray<C> {
  const obj = new RawArray<C>(typecode, sizeOrInit);
  const lock = lockOf(options);
  return lock ? new SynchronizedArray(obj, lock) : obj;
}
export { SharedArray as Array, SharedArray };

/** How this module's kinds are revived (installed by lib/shareables.ts). */
export const sharedctypesRevivers: Revivers = {
  'forkful.RawValue': (state) => {
    const s = state as RawState;
    return new RawValue(s.typecode as Typecode, 0, s.block);
  },
  'forkful.RawArray': (state) => {
    const s = state as RawState;
    return new RawArray(s.typecode as Typecode, 0, s);
  },
  'forkful.Value': (state) => {
    const s = state as { obj: RawValue; lock: Lock | RLock };
    return new SynchronizedValue(s.obj, s.lock);
  },
  'forkful.Array': (state) => {
    const s = state as { obj: RawArray; lock: Lock | RLock };
    return new SynchronizedArray(s.obj, s.lock);
  },
};
