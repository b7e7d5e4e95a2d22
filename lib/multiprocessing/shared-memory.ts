// Python's multiprocessing.shared_memory.SharedMemory: a named block of
// POSIX shared memory (shm_open, under /dev/shm) that any process of the
// same user can attach to by name, forkful's or not (Python's too). `buf` is
// a Buffer over a SharedArrayBuffer mapped onto the block (native/shm.cc),
// so Atomics work on it. Names follow Python's: a generated one is
// 'psm_' and 8 hex digits, and a name given is opened with a '/' put before
// it (so 'x' and '/x' are both /dev/shm/x, and `name` reports what was given).
import { inspect } from 'node:util';
import { isSharedArrayBuffer } from 'node:util/types';
import { FileExistsError, FileNotFoundError, OSError, ValueError } from '../core/errors';
import { requireNative } from '../core/native';
import { kShare, type Revivers, type ShareScope, type ShareState } from '../transfer/shareable';
import { register, unregister } from './resource-tracker';

/** Python's `_SHM_NAME_PREFIX` on POSIX. */
const NAME_PREFIX = '/psm_';

export interface SharedMemoryOptions {
  /** The block's name; null or omitted: a new, unused one (create only). */
  name?: string | null;
  /** Create a new block (Python's create=True), or attach to one. */
  create?: boolean;
  /** The size in bytes of a new block (ignored when attaching). */
  size?: number;
  /** Unlink the block when this main process exits, if nobody unlinked it
   * (Python's resource tracker). Default true. */
  track?: boolean;
}

interface SharedMemoryState {
  name: string;
  size: number;
  /** The mapping itself, to a Thread of this process (the same memory at
   * the same address: Atomics.wait/notify meet). */
  buffer?: SharedArrayBuffer;
}

// Python's _make_filename: the prefix and 4 random bytes in hex.
function makeFilename(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(4));
  return NAME_PREFIX + Buffer.from(bytes).toString('hex');
}

// An OSError from shm_open/shm_unlink as Python raises it: FileExistsError
// for EEXIST, FileNotFoundError for ENOENT, naming the block.
function pythonError(err: unknown, name: string): unknown {
  if (!(err instanceof OSError)) return err;
  const cls =
    err.code === 'EEXIST' ? FileExistsError : err.code === 'ENOENT' ? FileNotFoundError : OSError;
  const typed = new cls(`${err.message} '${name}'`, { cause: err });
  typed.code = err.code;
  typed.errno = err.errno;
  typed.syscall = err.syscall;
  return typed;
}

function openBlock(name: string, create: boolean, size: number): SharedArrayBuffer {
  const addon = requireNative('multiprocessing.shared_memory');
  try {
    return addon.shmOpen(name, create, size);
  } catch (err) {
    throw pythonError(err, name);
  }
}

// Set while fromMapping() constructs: the mapping to adopt instead of opening.
let adopting: { name: string; buffer: SharedArrayBuffer } | null = null;

/** Python's multiprocessing.shared_memory.SharedMemory. */
export class SharedMemory {
  /** Python's `_name`: what shm_open is given (with a leading '/'). */
  #name: string;
  #size: number;
  #buf: Buffer | null;
  #track: boolean;

  /** `new SharedMemory(name?, create = false, size = 0, { track = true })`,
   * or one options object `{ name, create, size, track }`. */
  constructor(
    name?: string | null | SharedMemoryOptions,
    create = false,
    size = 0,
    options: { track?: boolean } = {},
  ) {
    if (adopting !== null) {
      this.#name = '/' + adopting.name;
      this.#size = adopting.buffer.byteLength;
      this.#buf = Buffer.from(adopting.buffer);
      this.#track = false;
      return;
    }
    let track = options.track ?? true;
    if (typeof name === 'object' && name !== null) {
      ({ create = false, size = 0, track = true } = name);
      name = name.name ?? null;
    }
    name ??= null;
    if (name !== null && typeof name !== 'string') {
      throw new TypeError(`the shared memory name must be a string, not ${typeof name}`);
    }
    if (typeof size !== 'number') throw new TypeError("'size' must be a number");
    if (!(size >= 0)) throw new ValueError("'size' must be a positive integer");
    if (!Number.isSafeInteger(size)) throw new TypeError("'size' must be an integer");
    if (create && size === 0) {
      throw new ValueError("'size' must be a positive number different from zero");
    }
    if (name === null && !create) throw new ValueError("'name' can only be None if create=True");
    let buffer: SharedArrayBuffer;
    if (name === null) {
      for (;;) {
        name = makeFilename();
        try {
          buffer = openBlock(name, true, size);
          break;
        } catch (err) {
          if (!(err instanceof FileExistsError)) throw err;
        }
      }
    } else {
      name = '/' + name;
      buffer = openBlock(name, create, size);
    }
    this.#name = name;
    this.#size = buffer.byteLength;
    this.#buf = Buffer.from(buffer);
    this.#track = track === true;
    if (this.#track) register(this.#name);
  }

  /** The block's name, to attach to it from another process. */
  get name(): string {
    return this.#name.startsWith('/') ? this.#name.slice(1) : this.#name;
  }

  /** The block's size in bytes (the object's size: when attaching, the
   * size given is ignored). */
  get size(): number {
    return this.#size;
  }

  /** The block's bytes: a Buffer over a SharedArrayBuffer
   * (`buf.buffer`); null after close(). */
  get buf(): Buffer | null {
    return this.#buf;
  }

  /** Lets go of this instance's view; the block stays for other processes.
   * The memory is unmapped once no view over it is left (views taken from
   * `buf` before stay usable until they are collected). */
  close(): void {
    this.#buf = null;
  }

  /** Removes the block's name (shm_unlink), once across all processes; the
   * memory goes when the last mapping of it does. */
  unlink(): void {
    const addon = requireNative('multiprocessing.shared_memory');
    try {
      addon.shmUnlink(this.#name);
    } catch (err) {
      throw pythonError(err, this.#name);
    }
    if (this.#track) unregister(this.#name);
  }

  toString(): string {
    return `SharedMemory('${this.name}', size=${this.#size})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Crosses by name (Python pickles (name, False, size)): the other side
   * attaches; a Thread of this process gets the same mapping. */
  [kShare](scope?: ShareScope): ShareState {
    const state: SharedMemoryState = { name: this.name, size: this.#size };
    if (scope === 'thread' && this.#buf !== null) {
      state.buffer = this.#buf.buffer as SharedArrayBuffer;
    }
    return { kind: 'SharedMemory', state };
  }

  /** A SharedMemory over a mapping this process already has (a Thread's). */
  static fromMapping(name: string, buffer: SharedArrayBuffer): SharedMemory {
    adopting = { name, buffer };
    try {
      return new SharedMemory();
    } finally {
      adopting = null;
    }
  }
}

export const sharedMemoryRevivers: Revivers = {
  SharedMemory: (raw) => {
    const state = raw as SharedMemoryState;
    if (isSharedArrayBuffer(state.buffer)) {
      return SharedMemory.fromMapping(state.name, state.buffer);
    }
    return new SharedMemory(state.name, false, state.size);
  },
};
