// multiprocessing's Value, Array, RawValue and RawArray on the portable
// backend: the bytes are kept by the hub (hub.ts), so every process and
// thread that holds the object reads and writes the same memory, one
// request per access; `view` is a typed accessor over them, not memory.
// Value and Array guard each access with a portable RLock (or the lock
// given), as Python's synchronized wrappers do.
import { ValueError } from '../../core/errors';
import { checkOptions } from '../../core/options';
import {
  coerce,
  typeOf,
  type Scalar,
  type SyncOptions,
  type Typecode,
} from '../../synchronize/sharedctypes';
import { kShare, type Revivers, type ShareState } from '../../transfer/shareable';
import { hubCallSync } from './io';
import { hubHandle, hubObject, PortableLock, PortableRLock } from './managed';

interface MemoryHandle {
  obj: number;
  ticket: number;
  typecode: Typecode;
  length: number;
}

type ElementClass = ReturnType<typeof typeOf>;
type TypedArrayOf<C> = C extends new (...a: never[]) => infer T ? T : never;

/** Shared items of one typecode, kept by the hub. */
export class PortableRawArray {
  readonly typecode: Typecode;
  readonly length: number;
  /** @internal */ readonly _obj: number;
  readonly #cls: ElementClass;
  #view: TypedArrayOf<ElementClass> | undefined;

  constructor(typecode: Typecode, sizeOrInit: number | ArrayLike<Scalar>, revive?: MemoryHandle) {
    this.#cls = typeOf(typecode, 'Array');
    this.typecode = typecode;
    if (revive) {
      this.length = revive.length;
      this._obj = hubObject(this, 'Memory', {}, revive);
      return;
    }
    let init: ArrayLike<Scalar> | null = null;
    if (typeof sizeOrInit === 'number') {
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
    const bytes = new Uint8Array(this.length * this.#cls.BYTES_PER_ELEMENT);
    if (init) {
      const view = this.#over(bytes);
      for (let k = 0; k < this.length; k++) view[k] = coerce(typecode, init[k], 'Array') as never;
    }
    this._obj = hubObject(this, 'Memory', { bytes });
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

  get(index: number): Scalar {
    const size = this.#cls.BYTES_PER_ELEMENT;
    const r = hubCallSync({
      op: 'vread',
      obj: this._obj,
      offset: this.#index(index) * size,
      n: size,
    });
    return this.#over(r.bytes!)[0] as Scalar;
  }

  set(index: number, v: Scalar): void {
    const size = this.#cls.BYTES_PER_ELEMENT;
    const bytes = new Uint8Array(size);
    this.#over(bytes)[0] = coerce(this.typecode, v, 'Array') as never;
    hubCallSync({ op: 'vwrite', obj: this._obj, offset: this.#index(index) * size, bytes });
  }

  toArray(): Scalar[] {
    const n = this.length * this.#cls.BYTES_PER_ELEMENT;
    const r = hubCallSync({ op: 'vread', obj: this._obj, offset: 0, n });
    return Array.from(this.#over(r.bytes!) as ArrayLike<Scalar>);
  }

  [Symbol.iterator](): Iterator<Scalar> {
    return this.toArray()[Symbol.iterator]();
  }

  /** A typed accessor standing for the native `view`: indexing reads and
   * writes the hub's bytes (one request each, as get/set, with a typed
   * array's conversions), `length`, iteration and every TypedArray method
   * work (a method runs on a copy taken then, and what it changed is
   * written back). Not memory: `Atomics` and `buffer` need the addon. */
  get view(): TypedArrayOf<ElementClass> {
    this.#view ??= this.#accessor();
    return this.#view;
  }

  #accessor(): TypedArrayOf<ElementClass> {
    const size = this.#cls.BYTES_PER_ELEMENT;
    const read = (): InstanceType<ElementClass> => {
      const r = hubCallSync({ op: 'vread', obj: this._obj, offset: 0, n: this.length * size });
      return this.#over(r.bytes!);
    };
    const index = (prop: string | symbol): number =>
      typeof prop === 'string' && /^(0|[1-9]\d*)$/.test(prop) ? Number(prop) : -1;
    const target = new (this.#cls as unknown as new (n: number) => object)(this.length);
    const proxy: object = new Proxy(target, {
      get: (t, prop) => {
        const i = index(prop);
        if (i >= 0) {
          if (i >= this.length) return undefined;
          const r = hubCallSync({ op: 'vread', obj: this._obj, offset: i * size, n: size });
          return this.#over(r.bytes!)[0];
        }
        if (prop === 'length') return this.length;
        const member = Reflect.get(t, prop, t) as unknown;
        if (typeof member !== 'function') return prop === 'buffer' ? read().buffer : member;
        return (...args: unknown[]) => {
          const copy = read();
          const before = Buffer.from(new Uint8Array(copy.buffer).slice());
          const result = (member as (...a: unknown[]) => unknown).apply(copy, args);
          const after = new Uint8Array(copy.buffer);
          if (!before.equals(after)) {
            // A buffer of its own: the request moves it to the I/O thread.
            hubCallSync({ op: 'vwrite', obj: this._obj, offset: 0, bytes: new Uint8Array(after) });
          }
          return result === copy ? proxy : result;
        };
      },
      set: (_t, prop, value) => {
        const i = index(prop);
        if (i < 0 || i >= this.length) return i < 0 ? false : true;
        const bytes = new Uint8Array(size);
        (this.#over(bytes) as unknown as unknown[])[0] = value;
        hubCallSync({ op: 'vwrite', obj: this._obj, offset: i * size, bytes });
        return true;
      },
      has: (t, prop) => {
        const i = index(prop);
        return i >= 0 ? i < this.length : Reflect.has(t, prop);
      },
    });
    return proxy as TypedArrayOf<ElementClass>;
  }

  [kShare](): ShareState {
    return { kind: 'forkful.hub.RawArray', state: this._handle() };
  }

  /** @internal */ _handle(): MemoryHandle {
    return { ...hubHandle(this._obj), typecode: this.typecode, length: this.length };
  }
}

/** A shared scalar kept by the hub. */
export class PortableRawValue {
  readonly #a: PortableRawArray;

  constructor(typecode: Typecode, init: Scalar = 0, revive?: MemoryHandle) {
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

  [kShare](): ShareState {
    return { kind: 'forkful.hub.RawValue', state: this.#a._handle() };
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
  [Symbol.iterator](): Iterator<Scalar> {
    return this.toArray()[Symbol.iterator]();
  }
  [kShare](): ShareState {
    return { kind: 'forkful.hub.Array', state: { obj: this._obj, lock: this._lock } };
  }
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
    const h = s as MemoryHandle;
    return new PortableRawArray(h.typecode, 0, h);
  },
  'forkful.hub.RawValue': (s) => {
    const h = s as MemoryHandle;
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
