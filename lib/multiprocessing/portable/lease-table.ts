// Leases, the I/O thread's side (see leases.ts for the thread's): a hub
// Lock, RLock or Memory (Value/Array) that one thread uses while nobody
// else asks for it is leased to that thread. Its state then lives in a
// SharedArrayBuffer the thread shares with its I/O thread, so acquire,
// release, reads and writes are memory operations, with no round trip to
// the hub. When another client asks the hub for the object, the hub sends
// a revoke; this I/O thread hands the state back (op 'handback') once the
// lease has lasted LEASE_SLICE_MS, whatever the thread is doing: a lock's
// level is taken with one atomic exchange (a held lock goes back as held by
// this client), a Memory's bytes once no access of the thread's is under
// way (an access is a copy: bounded). So an idle holder never keeps an
// asker waiting beyond the slice and a round trip.
//
// Lease words (Int32): [STATE] NO_LEASE, else a lock's level held by the
// thread (0: leased and free) or, for a Memory, 0 idle / IN_ACCESS while
// the thread reads or writes the bytes, which follow at byte MEMORY_AT.
import { leasedIds, type HubRequest, type Lease } from './hub';

export const STATE = 0;
export const NO_LEASE = -1;
export const IN_ACCESS = 1;
export const MEMORY_AT = 8;
/** The least time a lease is kept once granted before a revoke is
 * honoured. Two processes that alternate on a lock every iteration would
 * otherwise pay a revoke, a hand-back and a grant (three messages, ~0.5 ms
 * here) per iteration; with a slice each runs ~2 ms of iterations locally
 * per turn, so the hand-over costs at most about a fifth of the time, and
 * an asker waits at most 2 ms (plus a round trip) longer than it would
 * for the hub itself. */
export const LEASE_SLICE_MS = 2;

/** The handback of a lease (sent without a reply). */
export type Handback = Extract<HubRequest, { op: 'handback' }>;

interface Entry {
  words: Int32Array;
  /** A Memory's bytes (null for a lock). */
  memory: Uint8Array | null;
  grantedAt: number;
  timer: NodeJS.Timeout | null;
}

/** One I/O thread's leases: `send` carries a hand-back to the hub. */
export class LeaseTable {
  readonly #leases = new Map<number, Entry>();

  constructor(readonly send: (h: Handback) => void) {}

  /** The thread's words for hub object `obj` (sent once, before its first
   * request on the object). */
  register(obj: number, words: SharedArrayBuffer, memory: boolean): void {
    this.#leases.set(obj, {
      words: new Int32Array(words, 0, 2),
      memory: memory ? new Uint8Array(words, MEMORY_AT) : null,
      grantedAt: 0,
      timer: null,
    });
  }

  /** A request of the thread's, before it goes to the hub: what it names
   * is handed back first (the hub then has the exact state, and the
   * request queues there as any other), and one that may be granted a
   * lease asks for it. */
  beforeRequest(req: HubRequest): void {
    for (const obj of leasedIds(req)) this.handBack(obj);
    if (
      (req.op === 'acquire' || req.op === 'vread' || req.op === 'vwrite') &&
      this.#leases.has(req.obj)
    ) {
      req.lease = true;
    }
  }

  /** A reply's grant, applied before the thread sees the reply. */
  granted(lease: Lease): void {
    const e = this.#leases.get(lease.obj);
    if (!e) return;
    if (e.memory && lease.memory) e.memory.set(lease.memory);
    e.grantedAt = performance.now();
    Atomics.store(e.words, STATE, e.memory ? 0 : (lease.count ?? 0));
  }

  /** The hub asks for `obj` back: handed back once the slice is over. */
  revoke(obj: number): void {
    const e = this.#leases.get(obj);
    if (!e || e.timer) return;
    // A revoke of a lease already handed back (the thread's own request
    // took it back while the revoke was on its way) is stale: it must not
    // take the next grant (which can arrive in the same read), and the hub
    // asks again for that one if it wants it.
    if (Atomics.load(e.words, STATE) === NO_LEASE) return;
    const grant = e.grantedAt;
    const back = () => {
      e.timer = null;
      if (e.grantedAt === grant) this.handBack(obj);
    };
    const wait = grant + LEASE_SLICE_MS - performance.now();
    if (wait <= 0) queueMicrotask(back);
    else e.timer = setTimeout(back, Math.ceil(wait));
  }

  /** Hands the lease on `obj` back, if this thread holds one. */
  handBack(obj: number): void {
    const e = this.#leases.get(obj);
    if (!e) return;
    if (e.timer) {
      clearTimeout(e.timer);
      e.timer = null;
    }
    const w = e.words;
    if (!e.memory) {
      const count = Atomics.exchange(w, STATE, NO_LEASE);
      if (count !== NO_LEASE) this.send({ id: 0, op: 'handback', obj, count });
      return;
    }
    for (;;) {
      const seen = Atomics.compareExchange(w, STATE, 0, NO_LEASE);
      if (seen === NO_LEASE) return;
      if (seen === 0) break;
      Atomics.wait(w, STATE, seen, 1); // the thread's access ends within a copy
    }
    this.send({ id: 0, op: 'handback', obj, memory: e.memory.slice() });
  }
}
