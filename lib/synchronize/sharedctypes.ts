// Value and Array in the shared arena (Python's multiprocessing.sharedctypes):
// a typed-array view over a block, plus an optional lock. Python typecodes;
// 'l'/'L' are 8 bytes as C long on 64-bit Linux, and 8-byte integers are
// BigInts (a plain number is accepted when writing).
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
};

export type Typecode = 'b' | 'B' | 'h' | 'H' | 'i' | 'I' | 'l' | 'L' | 'q' | 'Q' | 'f' | 'd';
export type Scalar = number | bigint;
/** The typecodes of 64-bit integers, read as bigint. */
export type BigTypecode = 'l' | 'L' | 'q' | 'Q';
/** What an item of typecode C reads as: bigint for 64-bit integers, else number. */
export type ScalarOf<C extends Typecode> = [C] extends [never]
  ? Scalar
  : C extends BigTypecode
    ? bigint
    : number;
/** What an item of typecode C may be set to (an integer number also fits a
 * 64-bit one). */
export type InitOf<C extends Typecode> = [C] extends [never]
  ? Scalar
  : C extends BigTypecode
    ? bigint | number
    : number;

function typeOf(typecode: unknown, what: string): TypedArrayClass {
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

function coerce(typecode: string, v: unknown, what: string): Scalar {
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

interface RawState {
  block: BlockState;
  typecode: string;
  length: number;
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
  constructor(typecode: C, init: InitOf<C> = 0, revive?: BlockState) {
    super(typecode, 1, 'RawValue', revive);
    if (!revive) this.view[0] = coerce(typecode, init, 'RawValue') as never;
  }

  get value(): ScalarOf<C> {
    return this.view[0] as ScalarOf<C>;
  }
  set value(v: InitOf<C>) {
    this.view[0] = coerce(this.typecode, v, 'RawValue') as never;
  }

  [kShare](): ShareState {
    return { kind: 'forkful.RawValue', state: this._raw() };
  }
}

/** Python's RawArray(typecode, sizeOrInit): shared items without a lock. */
export class RawArray<C extends Typecode = Typecode> extends RawBuffer {
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
    return this.view[this.check(index)] as ScalarOf<C>;
  }
  set(index: number, v: InitOf<C>): void {
    this.view[this.check(index)] = coerce(this.typecode, v, 'Array') as never;
  }
  toArray(): ScalarOf<C>[] {
    return Array.from(this.view as unknown as ArrayLike<ScalarOf<C>>);
  }
  [Symbol.iterator](): Iterator<ScalarOf<C>> {
    return (this.view as unknown as Iterable<ScalarOf<C>>)[Symbol.iterator]();
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

/** A RawArray with a lock: get/set take the lock. */
export class SynchronizedArray<C extends Typecode = Typecode> extends Synchronized<RawArray<C>> {
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
  [Symbol.iterator](): Iterator<ScalarOf<C>> {
    return this.toArray()[Symbol.iterator]();
  }
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
  init: InitOf<C> = 0,
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
