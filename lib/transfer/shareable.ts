// forkful's own objects (locks, Value/Array, Queue, Connection, local) cross
// to other processes and threads by handle, not by copy. A class opts in by
// implementing `[kShare]()` and registering a reviver for its kind; the
// encoder swaps such objects for small markers before structured cloning and
// the decoder turns markers back into live objects on the other side.

import { isMap } from 'node:util/types';

export const kShare = Symbol.for('forkful.share');

/** What a shareable object turns into while it travels. */
export interface ShareState {
  kind: string;
  state: unknown;
}

/** Where a value goes: to a Thread of this process (which sees its
 * SharedArrayBuffers), or anywhere else (another process, or a channel
 * that may lead to one). An object local to the process (the portable
 * backend's) moves to the hub the first time it goes beyond. */
export type ShareScope = 'thread' | 'process';

export interface Shareable {
  [kShare](scope?: ShareScope): ShareState;
}

type Reviver = (state: unknown) => object;

/** Kinds and how to revive them: each shareable class's module exports its
 * own, and the entry points install them all (lib/shareables.ts). */
export type Revivers = Readonly<Record<string, Reviver>>;

const MARK = '__forkful_shared__';
const revivers = new Map<string, Reviver>();

/** Registers how to rebuild objects of `kind` from their travelling state. */
export function registerShareable(kind: string, revive: Reviver): void {
  revivers.set(kind, revive);
}

/** Registers every kind of a table (the entry points install forkful's). */
export function installRevivers(table: Revivers): void {
  for (const [kind, revive] of Object.entries(table)) revivers.set(kind, revive);
}

export function isShareable(value: unknown): value is Shareable {
  return typeof value === 'object' && value !== null && kShare in value;
}

// Arrays and plain objects, from any realm (v8.deserialize inside a vm
// context, as under jest, builds objects whose Object.prototype is not ours).
function isPlainContainer(value: object): boolean {
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  if (proto === null || proto === Object.prototype) return true;
  return Object.getPrototypeOf(proto) === null && proto.constructor?.name === 'Object';
}

// Both directions walk a graph, not a tree: a value may hold the same
// object twice or refer to itself (structured clone keeps both), so each
// walk remembers what it has visited and gives a repeated object the result
// it gave the first time.

/** True when a shareable is reachable from `value` through arrays, plain
 * objects and Maps. */
function holdsShareable(value: object, seen: Set<object>): boolean {
  if (seen.has(value)) return false;
  seen.add(value);
  if (isShareable(value)) return true;
  if (isMap(value)) {
    for (const v of value.values()) {
      if (typeof v === 'object' && v !== null && holdsShareable(v, seen)) return true;
    }
    return false;
  }
  if (!isPlainContainer(value)) return false;
  const source = value as Record<string, unknown>;
  for (const key of Object.keys(source)) {
    const v = source[key];
    if (typeof v === 'object' && v !== null && holdsShareable(v, seen)) return true;
  }
  return false;
}

/** A copy of `value` with shareables replaced by markers; `copies` maps each
 * container already copied (or shareable already encoded) to its result. */
function encodeCopy(value: unknown, copies: Map<object, unknown>, scope: ShareScope): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (copies.has(value)) return copies.get(value);
  if (isShareable(value)) {
    const marker: Record<string, unknown> = {};
    copies.set(value, marker);
    const { kind, state } = value[kShare](scope);
    marker[MARK] = kind;
    marker.state = encodeCopy(state, copies, scope);
    return marker;
  }
  if (isMap(value)) {
    const out = new Map<unknown, unknown>();
    copies.set(value, out);
    for (const [k, v] of value) out.set(k, encodeCopy(v, copies, scope));
    return out;
  }
  if (!isPlainContainer(value)) return value;
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = Array.isArray(value)
    ? (new Array(value.length) as unknown as Record<string, unknown>)
    : Object.create(Object.getPrototypeOf(value) === null ? null : Object.prototype);
  copies.set(value, out);
  for (const key of Object.keys(source)) {
    const v = encodeCopy(source[key], copies, scope);
    if (key === '__proto__') {
      Object.defineProperty(out, key, {
        value: v,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    } else {
      out[key] = v;
    }
  }
  return out;
}

/** Replaces shareables (at any depth of arrays, plain objects and Maps, in
 * cyclic values too) by markers. Returns the input itself when it holds
 * none, so the common case allocates nothing. */
export function encodeShareables(value: unknown, scope: ShareScope = 'process'): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (!holdsShareable(value, new Set())) return value;
  return encodeCopy(value, new Map(), scope);
}

/** The inverse of encodeShareables: revives markers in place. */
export function decodeShareables(value: unknown): unknown {
  // A primitive (most task results) has nothing to revive: no Map for it.
  if (typeof value !== 'object' || value === null) return value;
  return decodeIn(value, new Map());
}

function decodeIn(value: unknown, done: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (done.has(value)) return done.get(value);
  if (isMap(value)) {
    done.set(value, value);
    for (const [k, v] of value) {
      if (typeof v === 'object' && v !== null) value.set(k, decodeIn(v, done));
    }
    return value;
  }
  if (!isPlainContainer(value)) return value;
  const record = value as Record<string, unknown>;
  const kind = record[MARK];
  if (typeof kind === 'string') {
    const revive = revivers.get(kind);
    if (!revive) {
      throw new TypeError(
        `cannot revive a shared '${kind}': its module was not loaded on this side ` +
          `(load forkful, forkful/multiprocessing or forkful/threading there)`,
      );
    }
    const revived = revive(decodeIn(record.state, done));
    done.set(value, revived);
    return revived;
  }
  done.set(value, value);
  for (const key of Object.keys(record)) {
    const v = record[key];
    if (typeof v === 'object' && v !== null) record[key] = decodeIn(v, done);
  }
  return value;
}
