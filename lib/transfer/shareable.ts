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

export interface Shareable {
  [kShare](): ShareState;
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

/** Replaces shareables (at any depth of arrays and plain objects) by markers.
 * Returns the input itself when it holds none, so the common case allocates
 * nothing. */
export function encodeShareables(value: unknown, seen = new Set<object>()): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (isShareable(value)) {
    const { kind, state } = value[kShare]();
    return { [MARK]: kind, state: encodeShareables(state, seen) };
  }
  if (isMap(value)) {
    let out: Map<unknown, unknown> | null = null;
    for (const [k, v] of value) {
      const e = encodeShareables(v, seen);
      if (e !== v && out === null) out = new Map(value);
      if (out) out.set(k, e);
    }
    return out ?? value;
  }
  if (!isPlainContainer(value) || seen.has(value)) return value;
  seen.add(value);
  let out: Record<string, unknown> | unknown[] | null = null;
  const source = value as Record<string, unknown>;
  for (const key of Object.keys(source)) {
    const v = source[key];
    if (typeof v !== 'object' || v === null) {
      if (out) (out as Record<string, unknown>)[key] = v;
      continue;
    }
    const e = encodeShareables(v, seen);
    if (e !== v && out === null) {
      out = Array.isArray(value) ? value.slice() : { ...source };
    }
    if (out) (out as Record<string, unknown>)[key] = e;
  }
  seen.delete(value);
  return out ?? value;
}

/** The inverse of encodeShareables. */
export function decodeShareables(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (isMap(value)) {
    for (const [k, v] of value) value.set(k, decodeShareables(v));
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
    return revive(decodeShareables(record.state));
  }
  for (const key of Object.keys(record)) {
    const v = record[key];
    if (typeof v === 'object' && v !== null) record[key] = decodeShareables(v);
  }
  return value;
}
