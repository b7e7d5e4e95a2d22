// Process.sentinel: a number that connection.wait() finds ready once the
// process has ended, as Python's. With the addon it is a real fd, usable in
// any poll(2): a pidfd (Linux 5.3+), or on older kernels the read end of a
// pipe whose write end is closed when the child-exit watch reports the end
// (that one needs the event loop to run, so the blocking wait also checks
// the process itself). Without the addon there are no fds: the sentinel is a
// token only connection.wait() knows. A sentinel is closed with its Process
// (close(), or when it is collected).
import { afterFork, Order } from '../runtime/lifecycle';
import { native } from '../core/native';
import { VIRTUAL_FD_BASE } from '../transfer/fd-transfer';

/** Exitable[kEnded](): whether the process has ended. */
export const kEnded = Symbol('forkful.ended');

/** Emitted by an Exitable whose end can no longer be learnt (its watch
 * ended first): [kEnded]() then throws why. */
export const kLost = Symbol('forkful.lost');

/** What a sentinel watches: a Process (or parentProcess()), seen through
 * what it needs; it emits 'exit' once it has ended. */
export interface Exitable {
  readonly pid: number | undefined;
  [kEnded](): boolean;
  once(event: 'exit' | typeof kLost, listener: () => void): unknown;
  removeListener(event: 'exit' | typeof kLost, listener: () => void): unknown;
}

export type SentinelKind =
  /** A pidfd: poll(2) reports it readable once the process has ended. */
  | 'pidfd'
  /** A pipe's read end, at end of file once the exit watch has run. */
  | 'pipe'
  /** No fd (the portable backend): only connection.wait() knows it. */
  | 'token';

export interface SentinelEntry {
  readonly sentinel: number;
  readonly kind: SentinelKind;
  readonly owner: WeakRef<Exitable>;
  /** The pipe's write end ('pipe' sentinels, until the process ends). */
  writeEnd: number;
}

// Tokens sit below the portable pipes' virtual fds, far above real fds.
const TOKEN_BASE = VIRTUAL_FD_BASE - 2 ** 28;
let nextToken = TOKEN_BASE;

const bySentinel = new Map<number, SentinelEntry>();
const byOwner = new WeakMap<Exitable, SentinelEntry>();
const collected = new FinalizationRegistry<number>((sentinel) => release(sentinel));

/** The entry of a sentinel number this process handed out, if any. */
export function sentinelEntry(sentinel: number): SentinelEntry | undefined {
  return bySentinel.get(sentinel);
}

/** Whether the process behind a sentinel has ended (a collected one has). */
export function sentinelEnded(entry: SentinelEntry): boolean {
  const owner = entry.owner.deref();
  return owner === undefined || owner[kEnded]();
}

/** The sentinel of a started process (made at the first call). */
export function sentinelOf(owner: Exitable): number {
  const known = byOwner.get(owner);
  if (known) return known.sentinel;
  const entry = open(owner);
  bySentinel.set(entry.sentinel, entry);
  byOwner.set(owner, entry);
  collected.register(owner, entry.sentinel, entry);
  return entry.sentinel;
}

/** Closes a process's sentinel (Process.close()). */
export function closeSentinel(owner: Exitable): void {
  const entry = byOwner.get(owner);
  if (!entry) return;
  byOwner.delete(owner);
  collected.unregister(entry);
  release(entry.sentinel);
}

function open(owner: Exitable): SentinelEntry {
  const ref = new WeakRef(owner);
  if (!native) return { sentinel: nextToken++, kind: 'token', owner: ref, writeEnd: -1 };
  // An ended child may be reaped already, and its pid then reused: it gets
  // an fd that is ready from the start instead.
  if (!owner[kEnded]()) {
    try {
      return { sentinel: native.pidfdOpen(owner.pid!), kind: 'pidfd', owner: ref, writeEnd: -1 };
    } catch (err) {
      const code = (err as { code?: string }).code;
      // ESRCH: reaped just now (the spawn backend's libuv reaps on its own).
      if (code !== 'ENOSYS' && code !== 'ESRCH') throw err;
    }
  }
  const [r, w] = native.pipe();
  const entry: SentinelEntry = { sentinel: r, kind: 'pipe', owner: ref, writeEnd: w };
  if (owner[kEnded]()) closeWriteEnd(entry);
  else owner.once('exit', () => closeWriteEnd(entry));
  return entry;
}

function closeWriteEnd(entry: SentinelEntry): void {
  if (entry.writeEnd < 0) return;
  native!.close(entry.writeEnd);
  entry.writeEnd = -1;
}

function release(sentinel: number): void {
  const entry = bySentinel.get(sentinel);
  if (!entry) return;
  bySentinel.delete(sentinel);
  if (entry.kind === 'token') return;
  closeWriteEnd(entry);
  native!.close(entry.sentinel);
}

// A forked child keeps its parent's sentinels (a pidfd works in any
// process, as Python's inherited sentinels do), but not the write ends of
// the fallback pipes: its copy would keep them from ever reaching EOF.
// prettier-ignore
afterFork('multiprocessing: close the write ends of the parent\'s sentinel pipes', Order.multiprocessing, (function closeSentinelWriteEnds() {
  for (const entry of bySentinel.values()) closeWriteEnd(entry);
}));
