// multiprocessing's Value, Array, RawValue and RawArray on the portable
// backend: the bytes live in the process's portable arena, shared by its
// Threads, until the object is first shared beyond them; then they are kept
// by the hub (hub.ts, local.ts), so every process and thread that holds the
// object reads and writes the same memory, one request per access; `view`
// is a typed accessor over them, not memory.
// Value and Array guard each access with a portable RLock (or the lock
// given), as Python's synchronized wrappers do.
import { ValueError } from '../../core/errors';
import { checkOptions } from '../../core/options';
import {
  charsToWrite,
  charsValue,
  checkChars,
  coerce,
  installIndexing,
  item,
  typeOf,
  type Scalar,
  type SyncOptions,
  type Typecode,
} from '../../synchronize/sharedctypes';
import { kShare, type Revivers, type ShareScope, type ShareState } from '../../transfer/shareable';
import { arenaBuffer, Kind } from '../../synchronize/arena';
import { LocalHome, type LocalState } from './local';
import { hubCallSync } from './io';
import { leasedAccess, leaseOf, NOT_LEASED, type LeaseWords } from './leases';
import { hubHandle, hubObject, PortableLock, PortableRLock } from './managed';

interface MemoryHandle {
  obj: number;
  ticket: number;
  typecode: Typecode;
  length: number;
}

/** How a local RawArray travels to a Thread of its process. */
interface LocalMemoryHandle {
  local: LocalState;
  typecode: Typecode;
  length: number;
}

type ElementClass = ReturnType<typeof typeOf>;
type TypedArrayOf<C> = C extends new (...a: never[]) => infer T ? T : never;

/** A moved-away marker: the local memory is not to be used any more. */
const AWAY = Symbol('moved');

/** Shared items of one typecode: local to the process (in its portable
 * arena, shared by its Threads) until shared beyond it, then kept by the
 * hub (local.ts). Each local access counts itself in a shared word, so the
 * thread that moves the bytes waits until no access is under way. */
export class PortableRawArray {
  readonly typecode: Typecode;
  readonly length: number;
  readonly #cls: ElementClass;
  readonly #home: LocalHome | null;
  readonly #hubOnly: number;
  /** The local items (over the arena), with a home. */
  readonly #items: InstanceType<ElementClass> | null;
  #view: TypedArrayOf<ElementClass> | undefined;

  constructor(
    typecode: Typecode,
    sizeOrInit: number | ArrayLike<Scalar>,
    revive?: MemoryHandle | LocalMemoryHandle,
  ) {
    this.#cls = typeOf(typecode, 'Array');
    this.typecode = typecode;
    if (revive && 'obj' in revive) {
      this.length = revive.length;
      this.#home = null;
      this.#items = null;
      this.#hubOnly = hubObject(this, 'Memory', {}, revive);
      return;
    }
    let init: ArrayLike<Scalar> | null = null;
    if (revive) {
      this.length = revive.length;
    } else if (typeof sizeOrInit === 'number') {
      if (!Number.isInteger(sizeOrInit) || sizeOrInit < 0) {
        throw new ValueError(`Array: size must be an integer >= 0, got ${sizeOrInit}`);
      }
      this.length = sizeOrInit;
    } else if (sizeOrInit && typeof sizeOrInit.length === 'number') {
      this.length = sizeOrInit.length;
      init = sizeOrInit;
    } else {
      throw new ValueError('Array: pass a size or an array-like of initial values');
    }
    const bytes = this.length * this.#cls.BYTES_PER_ELEMENT;
    // The access count, a word of padding, then the items (8-byte aligned).
    this.#home = new LocalHome('Array', Kind.Value, 8 + bytes, this, revive?.local);
    this.#hubOnly = 0;
    this.#items = new (
      this.#cls as unknown as new (
        b: ArrayBufferLike,
        o: number,
        n: number,
      ) => InstanceType<ElementClass>
    )(arenaBuffer(), (this.#home.i + 2) * 4, this.length);
    if (init) {
      for (let k = 0; k < this.length; k++) {
        this.#items[k] = coerce(typecode, init[k], 'Array') as never;
      }
    }
  }

  /** @internal The hub object's id, moving the bytes there first. */
  get _obj(): number {
    return this.#home ? this.#home.promote(() => this.#move(this.#home!)) : this.#hubOnly;
  }

  #move(home: LocalHome): number {
    const { w, i } = home;
    for (let n = Atomics.load(w, i); n !== 0; n = Atomics.load(w, i)) Atomics.wait(w, i, n, 5);
    const items = this.#items!;
    const bytes = new Uint8Array(items.byteLength);
    bytes.set(new Uint8Array(items.buffer, items.byteOffset, items.byteLength));
    return hubCallSync({ op: 'new', kind: 'Memory', bytes, key: home.key }).obj!;
  }

  #hub(): number {
    return this.#home ? this.#home.hub() : this.#hubOnly;
  }

  /** `fn` on the local items, or AWAY once they moved to the hub. */
  #local<T>(fn: (items: InstanceType<ElementClass>) => T): T | typeof AWAY {
    const home = this.#home;
    if (home === null) return AWAY;
    const { w, i } = home;
    Atomics.add(w, i, 1);
    try {
      return home.isLocal() ? fn(this.#items!) : AWAY;
    } finally {
      if (Atomics.sub(w, i, 1) === 1 && !home.isLocal()) Atomics.notify(w, i);
    }
  }

  #over(bytes: Uint8Array): InstanceType<ElementClass> {
    return new (
      this.#cls as unknown as new (
        b: ArrayBufferLike,
        o: number,
        n: number,
      ) => InstanceType<ElementClass>
    )(bytes.buffer, bytes.byteOffset, bytes.byteLength / this.#cls.BYTES_PER_ELEMENT);
  }

  #index(index: number): number {
    const k = index < 0 ? index + this.length : index;
    if (!Number.isInteger(k) || k < 0 || k >= this.length) {
      throw new RangeError(`Array index ${index} out of range (length ${this.length})`);
    }
    return k;
  }

  /** `n` bytes from `offset`, in a buffer of their own. */
  #read(offset: number, n: number): Uint8Array {
    const got = this.#local((items) =>
      new Uint8Array(items.buffer, items.byteOffset + offset, n).slice(),
    );
    if (got !== AWAY) return got;
    const obj = this.#hub();
    const leased = leasedAccess(this.#lease(obj), (m) => m.slice(offset, offset + n));
    if (leased !== NOT_LEASED) return leased;
    return hubCallSync({ op: 'vread', obj, offset, n }).bytes!;
  }

  /** This thread's lease words on the hub's bytes (leases.ts). */
  #lease(obj: number): LeaseWords {
    return leaseOf(obj, this.length * this.#cls.BYTES_PER_ELEMENT);
  }

  /** Writes `bytes` (a buffer of their own) at `offset`. */
  #write(offset: number, bytes: Uint8Array): void {
    const done = this.#local((items) =>
      new Uint8Array(items.buffer, items.byteOffset + offset, bytes.length).set(bytes),
    );
    if (done !== AWAY) return;
    const obj = this.#hub();
    if (leasedAccess(this.#lease(obj), (m) => m.set(bytes, offset)) !== NOT_LEASED) return;
    hubCallSync({ op: 'vwrite', obj, offset, bytes });
  }

  get(index: number): Scalar {
    const k = this.#index(index);
    const got = this.#local((items) => items[k] as number | bigint);
    if (got !== AWAY) return item(this.typecode, got);
    const size = this.#cls.BYTES_PER_ELEMENT;
    return item(this.typecode, this.#over(this.#read(k * size, size))[0]);
  }

  set(index: number, v: Scalar): void {
    const k = this.#index(index);
    const value = coerce(this.typecode, v, 'Array');
    const done = this.#local((items) => {
      items[k] = value as never;
    });
    if (done !== AWAY) return;
    const size = this.#cls.BYTES_PER_ELEMENT;
    const bytes = new Uint8Array(size);
    this.#over(bytes)[0] = value as never;
    this.#write(k * size, bytes);
  }

  toArray(): Scalar[] {
    const n = this.length * this.#cls.BYTES_PER_ELEMENT;
    const items = Array.from(this.#over(this.#read(0, n)) as ArrayLike<number | bigint>);
    return this.typecode === 'c' ? items.map((b) => item('c', b)) : items;
  }

  /** Python's arr[start:end]: a plain array of the items (negative bounds
   * count from the end, as Array.prototype.slice). */
  slice(start?: number, end?: number): Scalar[] {
    return this.toArray().slice(start, end);
  }

  /** A 'c' array's bytes up to the first NUL (Python's .value). */
  get value(): Buffer {
    checkChars(this.typecode, 'value');
    return charsValue(this.#read(0, this.length));
  }
  /** Writes `v` and a NUL after it when there is room. */
  set value(v: Buffer) {
    checkChars(this.typecode, 'value');
    this.#write(0, Uint8Array.from(charsToWrite(v, this.length, 'value')));
  }
  /** A 'c' array's bytes, all of them (Python's .raw). */
  get raw(): Buffer {
    checkChars(this.typecode, 'raw');
    return Buffer.from(this.#read(0, this.length));
  }
  set raw(v: Buffer) {
    checkChars(this.typecode, 'raw');
    this.#write(0, Uint8Array.from(charsToWrite(v, this.length, 'raw')));
  }

  [Symbol.iterator](): Iterator<Scalar> {
    return this.toArray()[Symbol.iterator]();
  }

  /** A typed accessor standing for the native `view`: indexing reads and
   * writes the shared items (one request each once they live in the hub,
   * as get/set, with a typed array's conversions), `length`, iteration and
   * every TypedArray method work (a method runs on a copy taken then, and
   * what it changed is written back). Not memory: `Atomics` and `buffer`
   * need the addon. */
  get view(): TypedArrayOf<ElementClass> {
    this.#view ??= this.#accessor();
    return this.#view;
  }

  #accessor(): TypedArrayOf<ElementClass> {
    const size = this.#cls.BYTES_PER_ELEMENT;
    const read = (): InstanceType<ElementClass> => this.#over(this.#read(0, this.length * size));
    const index = (prop: string | symbol): number =>
      typeof prop === 'string' && /^(0|[1-9]\d*)$/.test(prop) ? Number(prop) : -1;
    const target = new (this.#cls as unknown as new (n: number) => object)(this.length);
    const proxy: object = new Proxy(target, {
      get: (t, prop) => {
        const i = index(prop);
        if (i >= 0) {
          if (i >= this.length) return undefined;
          return this.#over(this.#read(i * size, size))[0];
        }
        if (prop === 'length') return this.length;
        const member = Reflect.get(t, prop, t) as unknown;
        if (typeof member !== 'function') return prop === 'buffer' ? read().buffer : member;
        return (...args: unknown[]) => {
          const copy = read();
          const before = Buffer.from(new Uint8Array(copy.buffer).slice());
          const result = (member as (...a: unknown[]) => unknown).apply(copy, args);
          const after = new Uint8Array(copy.buffer);
          // A buffer of its own: a request moves it to the I/O thread.
          if (!before.equals(after)) this.#write(0, new Uint8Array(after));
          return result === copy ? proxy : result;
        };
      },
      set: (_t, prop, value) => {
        const i = index(prop);
        if (i < 0 || i >= this.length) return i < 0 ? false : true;
        const bytes = new Uint8Array(size);
        (this.#over(bytes) as unknown as unknown[])[0] = value;
        this.#write(i * size, bytes);
        return true;
      },
      has: (t, prop) => {
        const i = index(prop);
        return i >= 0 ? i < this.length : Reflect.has(t, prop);
      },
    });
    return proxy as TypedArrayOf<ElementClass>;
  }

  [kShare](scope?: ShareScope): ShareState {
    return { kind: 'forkful.hub.RawArray', state: this._handle(scope) };
  }

  /** @internal */ _handle(scope?: ShareScope): MemoryHandle | LocalMemoryHandle {
    const { typecode, length } = this;
    if (scope === 'thread' && this.#home !== null) {
      return { local: this.#home.state(), typecode, length };
    }
    return { ...hubHandle(this._obj), typecode, length };
  }
}

/** A shared scalar kept by the hub. */
export class PortableRawValue {
  readonly #a: PortableRawArray;

  constructor(typecode: Typecode, init: Scalar = 0, revive?: MemoryHandle | LocalMemoryHandle) {
    this.#a = revive
      ? new PortableRawArray(typecode, 1, revive)
      : new PortableRawArray(typecode, [init]);
  }

  get typecode(): Typecode {
    return this.#a.typecode;
  }
  get value(): Scalar {
    return this.#a.get(0);
  }
  set value(v: Scalar) {
    this.#a.set(0, v);
  }
  get view(): TypedArrayOf<ElementClass> {
    return this.#a.view;
  }

  [kShare](scope?: ShareScope): ShareState {
    return { kind: 'forkful.hub.RawValue', state: this.#a._handle(scope) };
  }
}

type AnyLock = PortableLock | PortableRLock;

function lockOf(opt: SyncOptions | undefined): AnyLock | null {
  const lock = (checkOptions(opt, ['lock'], 'Value/Array').lock ?? true) as unknown;
  if (lock === true) return new PortableRLock();
  if (lock === false) return null;
  if (lock instanceof PortableLock || lock instanceof PortableRLock) return lock;
  throw new TypeError("the 'lock' option must be true, false, a Lock or an RLock");
}

/** Value with a lock (Python's Synchronized). */
export class PortableSynchronizedValue {
  constructor(
    readonly _obj: PortableRawValue,
    readonly _lock: AnyLock,
  ) {}
  getLock(): AnyLock {
    return this._lock;
  }
  getObj(): PortableRawValue {
    return this._obj;
  }
  acquire(...args: Parameters<PortableLock['acquire']>): boolean {
    return this._lock.acquire(...args);
  }
  release(): void {
    this._lock.release();
  }
  get typecode(): Typecode {
    return this._obj.typecode;
  }
  get value(): Scalar {
    return this._lock.withLock(() => this._obj.value);
  }
  set value(v: Scalar) {
    this._lock.withLock(() => {
      this._obj.value = v;
    });
  }
  [kShare](): ShareState {
    return { kind: 'forkful.hub.Value', state: { obj: this._obj, lock: this._lock } };
  }
}

/** Array with a lock (Python's SynchronizedArray). */
export class PortableSynchronizedArray {
  constructor(
    readonly _obj: PortableRawArray,
    readonly _lock: AnyLock,
  ) {}
  getLock(): AnyLock {
    return this._lock;
  }
  getObj(): PortableRawArray {
    return this._obj;
  }
  acquire(...args: Parameters<PortableLock['acquire']>): boolean {
    return this._lock.acquire(...args);
  }
  release(): void {
    this._lock.release();
  }
  get length(): number {
    return this._obj.length;
  }
  get typecode(): Typecode {
    return this._obj.typecode;
  }
  get view(): TypedArrayOf<ElementClass> {
    return this._obj.view;
  }
  get(index: number): Scalar {
    return this._lock.withLock(() => this._obj.get(index));
  }
  set(index: number, v: Scalar): void {
    this._lock.withLock(() => this._obj.set(index, v));
  }
  toArray(): Scalar[] {
    return this._lock.withLock(() => this._obj.toArray());
  }
  slice(start?: number, end?: number): Scalar[] {
    return this._lock.withLock(() => this._obj.slice(start, end));
  }
  [Symbol.iterator](): Iterator<Scalar> {
    return this.toArray()[Symbol.iterator]();
  }
  /** A 'c' array's bytes up to the first NUL, under the lock. */
  get value(): Buffer {
    return this._lock.withLock(() => this._obj.value);
  }
  set value(v: Buffer) {
    this._lock.withLock(() => (this._obj.value = v));
  }
  get raw(): Buffer {
    return this._lock.withLock(() => this._obj.raw);
  }
  set raw(v: Buffer) {
    this._lock.withLock(() => (this._obj.raw = v));
  }
  [kShare](): ShareState {
    return { kind: 'forkful.hub.Array', state: { obj: this._obj, lock: this._lock } };
  }
}

// arr[i], as on the addon's arrays (synchronize/sharedctypes.ts).
installIndexing(PortableRawArray);
installIndexing(PortableSynchronizedArray);

/** Python's sharedctypes.copy(obj): new shared memory (no lock) holding
 * what `obj` holds now. */
export function portableCopy(
  obj: PortableRawValue | PortableRawArray | PortableSynchronizedValue | PortableSynchronizedArray,
): PortableRawValue | PortableRawArray {
  const raw =
    obj instanceof PortableSynchronizedValue || obj instanceof PortableSynchronizedArray
      ? obj.getObj()
      : obj;
  if (raw instanceof PortableRawValue) return new PortableRawValue(raw.typecode, raw.value);
  if (raw instanceof PortableRawArray) return new PortableRawArray(raw.typecode, raw.toArray());
  throw new TypeError('sharedctypes.copy takes a RawValue, RawArray, Value or Array');
}

/** Python's sharedctypes.synchronized(obj, lock): `obj` behind a lock (a
 * new RLock when none is given). */
export function portableSynchronized(
  obj: PortableRawValue | PortableRawArray,
  lock?: AnyLock | null,
): PortableSynchronizedValue | PortableSynchronizedArray {
  const l = lock ?? new PortableRLock();
  if (obj instanceof PortableRawValue) return new PortableSynchronizedValue(obj, l);
  if (obj instanceof PortableRawArray) return new PortableSynchronizedArray(obj, l);
  throw new TypeError('sharedctypes.synchronized takes a RawValue or a RawArray');
}

/** Python's Value(typecode, init=0, { lock }), kept by the hub. */
export function PortableValue(
  typecode: Typecode,
  init: Scalar = 0,
  options?: SyncOptions,
): PortableSynchronizedValue | PortableRawValue {
  const obj = new PortableRawValue(typecode, init);
  const lock = lockOf(options);
  return lock ? new PortableSynchronizedValue(obj, lock) : obj;
}

/** Python's Array(typecode, sizeOrInit, { lock }), kept by the hub. */
export function PortableArray(
  typecode: Typecode,
  sizeOrInit: number | ArrayLike<Scalar>,
  options?: SyncOptions,
): PortableSynchronizedArray | PortableRawArray {
  const obj = new PortableRawArray(typecode, sizeOrInit);
  const lock = lockOf(options);
  return lock ? new PortableSynchronizedArray(obj, lock) : obj;
}

/** How this module's kinds are revived (installed by lib/shareables.ts). */
export const portableSharedctypesRevivers: Revivers = {
  'forkful.hub.RawArray': (s) => {
    const h = s as MemoryHandle | LocalMemoryHandle;
    return new PortableRawArray(h.typecode, 0, h);
  },
  'forkful.hub.RawValue': (s) => {
    const h = s as MemoryHandle | LocalMemoryHandle;
    return new PortableRawValue(h.typecode, 0, h);
  },
  'forkful.hub.Value': (s) => {
    const { obj, lock } = s as { obj: PortableRawValue; lock: AnyLock };
    return new PortableSynchronizedValue(obj, lock);
  },
  'forkful.hub.Array': (s) => {
    const { obj, lock } = s as { obj: PortableRawArray; lock: AnyLock };
    return new PortableSynchronizedArray(obj, lock);
  },
};
