// The hub of the portable backend: where, without forkful's native addon,
// the byte streams of Pipe()'s Connections live. One process of a tree (the
// first that needed one) runs it on its I/O thread (io-worker.ts); every
// other thread and process reaches it over a Unix domain socket (POSIX) or
// a named pipe (Windows). An end of a pipe is a number (the Connection's
// virtual fd); the hub counts who holds each end, so a reader sees end of
// file once every holder of the writing end closed it, and a holder that
// dies (its socket closes) lets go of what it held, as a process's fds
// close at its death.

/** One request to the hub; `id` matches the reply to it. */
export type HubRequest =
  | { id: number; op: 'pipe'; duplex: boolean }
  | { id: number; op: 'write'; end: number; bytes: Uint8Array }
  | { id: number; op: 'read'; end: number; max: number }
  | { id: number; op: 'poll'; end: number; ms: number }
  | { id: number; op: 'close'; end: number }
  | { id: number; op: 'ticket'; end: number }
  | { id: number; op: 'claim'; ticket: number }
  | {
      id: number;
      op: 'new';
      kind: ObjectKind;
      maxsize?: number;
      value?: number;
      bound?: number;
      bytes?: Uint8Array;
      /** Moved from a process's local copy (local.ts): `key` lets that
       * process's other threads attach; the object stays (pinned) until
       * its last local copy unpins it; `heldBy` names the thread (local
       * tag) that held the lock then, `count` its level. */
      key?: number;
      heldBy?: string;
      count?: number;
      /** An Event's flag. */
      flag?: boolean;
      /** A lock whose local holder had ended: the next acquirer is told. */
      recovered?: boolean;
      /** The requester's local tag: it owns the lock at once when it held it. */
      tag?: string;
    }
  | { id: number; op: 'attach'; obj: number; key: number; tag: string; count?: number }
  | { id: number; op: 'unpin'; obj: number; key: number }
  | { id: number; op: 'vread'; obj: number; offset: number; n: number; lease?: boolean }
  | { id: number; op: 'bwait'; obj: number; ms: number }
  | { id: number; op: 'bdone'; obj: number; ok: boolean }
  | { id: number; op: 'bbreak'; obj: number; reset: boolean }
  | {
      id: number;
      op: 'vwrite';
      obj: number;
      offset: number;
      bytes: Uint8Array;
      lease?: boolean;
    }
  // A lease given back (leases.ts): a lock's level held by the lessee then
  // (0: free), or a Memory's bytes. No reply.
  | { id: number; op: 'handback'; obj: number; count?: number; memory?: Uint8Array }
  | { id: number; op: 'unref'; obj: number }
  | { id: number; op: 'qput'; obj: number; bytes: Uint8Array; ms: number; requeue?: boolean }
  | { id: number; op: 'qget'; obj: number; ms: number }
  | { id: number; op: 'qsize'; obj: number }
  | { id: number; op: 'qtaskdone'; obj: number }
  | { id: number; op: 'qshutdown'; obj: number; immediate: boolean }
  | { id: number; op: 'qjoin'; obj: number; ms: number }
  | { id: number; op: 'acquire'; obj: number; ms: number; lease?: boolean }
  | { id: number; op: 'release'; obj: number; n?: number }
  | { id: number; op: 'state'; obj: number }
  | { id: number; op: 'set'; obj: number; flag: boolean }
  | { id: number; op: 'wait'; obj: number; ms: number }
  | { id: number; op: 'cwait'; obj: number; lock: number; ms: number }
  | { id: number; op: 'cnotify'; obj: number; lock: number; n: number }
  | { id: number; op: 'cwake'; obj: number; wait: number }
  | { id: number; op: 'cancel'; wait: number }
  // The I/O thread's too: the words of the thread's lease on a hub object
  // (lease-table.ts). No reply.
  | { id: number; op: 'lease'; obj: number; words: SharedArrayBuffer; memory: boolean }
  // Served by the thread's I/O thread, never by the hub: a raw fd bridged
  // to a new pipe (io-worker.ts); the reply's `obj` is the end to claim.
  | { id: number; op: 'adopt'; fd: number }
  // Also the I/O thread's: Listener's and Client's sockets without the addon
  // (portable/sockets.ts). A listener is a number of the I/O thread's; each
  // connection it accepts (or connect makes) is bridged as 'adopt' bridges.
  | {
      id: number;
      op: 'listen';
      family: 'AF_UNIX' | 'AF_INET' | 'AF_PIPE';
      host: string;
      port: number;
      backlog: number;
    }
  | { id: number; op: 'accept'; listener: number }
  | { id: number; op: 'unaccept'; wait: number }
  | { id: number; op: 'unlisten'; listener: number }
  | {
      id: number;
      op: 'connect';
      family: 'AF_UNIX' | 'AF_INET' | 'AF_PIPE';
      host: string;
      port: number;
    };

/** What the hub keeps beside pipes (Python's SyncManager's objects). */
export type ObjectKind =
  | 'Queue'
  | 'JoinableQueue'
  | 'Lock'
  | 'RLock'
  | 'Semaphore'
  | 'BoundedSemaphore'
  | 'Event'
  | 'Memory'
  | 'Barrier'
  | 'Condition';

/** A reply: `error` names an errno (EBADF, EPIPE) with a message. */
export interface HubReply {
  id: number;
  error?: { code: string; message: string };
  ends?: [number, number];
  bytes?: Uint8Array;
  eof?: boolean;
  again?: boolean;
  ready?: boolean;
  ticket?: number;
  /** new: the object's id; qsize/state: a count. */
  obj?: number;
  n?: number;
  /** acquire/wait: taken (or set) in time; qput/qget: false when Full/Empty. */
  ok?: boolean;
  /** qput/qget: refused, the queue is shut down; qsize: it is. */
  shut?: boolean;
  /** qsize: items put and not yet marked done (JoinableQueue). */
  unfinished?: number;
  /** acquire: taken over from a holder that went away while holding it. */
  recovered?: boolean;
  /** listen: the bound address; accept: the peer's (a Unix path, or [host, port]). */
  address?: string | [string, number];
  /** acquire/vread/vwrite: the object is leased to the caller from now on
   * (leases.ts): the lock's level it holds, or the Memory's bytes. */
  lease?: Lease;
  /** Not a reply (id 0): the hub asks for the lease on this object back. */
  revoke?: number;
}

/** What a lease grant carries to the lessee's I/O thread. */
export interface Lease {
  obj: number;
  count?: number;
  memory?: Uint8Array;
}

/** Whoever holds ends: a thread's connection to the hub. */
export class HubClient {
  /** end -> how many holds this client has on it. */
  readonly holds = new Map<number, number>();
  /** Tickets this client issued and nobody claimed yet. */
  readonly tickets = new Set<number>();
  /** `revoke`: asks this client's I/O thread for a lease back. */
  constructor(
    readonly reply: (r: HubReply) => void,
    readonly revoke: (obj: number) => void = () => {},
  ) {}
}

interface Poller {
  client: HubClient;
  id: number;
  timer: NodeJS.Timeout | null;
}

interface End {
  /** The end whose writes arrive here (itself's peer). */
  peer: number;
  readable: boolean;
  writable: boolean;
  inbox: Buffer[];
  /** Holds by clients and by unclaimed tickets. */
  refs: number;
  pollers: Poller[];
}

/** The bytes in a buffer of their own: a view travels (structured clone,
 * v8.serialize) with its whole backing buffer. */
export function own(bytes: Uint8Array): Uint8Array {
  if (
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
  ) {
    return bytes;
  }
  const out = Buffer.allocUnsafeSlow(bytes.byteLength);
  out.set(bytes);
  return out;
}

/** One wait on an object: `attempt` returns the reply once it can
 * proceed (and changes the object), null while it must wait. */
interface ObjWaiter {
  client: HubClient;
  attempt(): HubReply | null;
  timeout: HubReply;
  timer: NodeJS.Timeout | null;
  /** A Condition's sleeper: woken by notify (true), its timeout or a
   * cancellation (false); it then queues for the lock. */
  wake?(notified: boolean): void;
  /** A Condition's sleeper: the id of the request that sleeps. */
  request?: number;
  /** What a timeout (or a cancellation) also does (a Barrier breaks). */
  onTimeout?(): void;
}

interface HubObject {
  kind: ObjectKind;
  refs: number;
  waiters: ObjWaiter[];
  items: Uint8Array[];
  maxsize: number;
  unfinished: number;
  /** Queue.shutdown(): puts refused; with immediate, gets too. */
  shut: 'open' | 'shut' | 'immediate';
  owner: HubClient | null;
  count: number;
  value: number;
  bound: number;
  flag: boolean;
  /** The last owner went away holding it: the next acquirer is told. */
  recovered: boolean;
  /** Memory (Value/Array): its bytes. */
  memory: Buffer;
  /** Barrier: its generation (bumped when the parties are released). */
  gen: number;
  /** Barrier: the last arrival runs the action; the others wait for it. */
  draining: boolean;
  /** Moved from a local copy: the key that attaches, whether the local
   * copies still pin it, and the thread that held it (until it attaches). */
  key: number;
  pinned: boolean;
  heldBy: string | null;
  /** Lock, RLock and Memory: the client whose thread keeps the object's
   * state while it holds the lease (then `owner`, `count` and `memory` here
   * are stale), the revoke sent to it, and the requests of others that
   * wait for its hand-back, in arrival order. */
  lessee: HubClient | null;
  revoking: boolean;
  parked: Parked[];
}

/** A request waiting for a lessee's hand-back; an acquire's timeout runs
 * meanwhile (a lessee whose process is stopped cannot outwait it). */
interface Parked {
  client: HubClient;
  req: HubRequest;
  since: number;
  timer: NodeJS.Timeout | null;
}

/** The objects a request reads or changes the state of (a leased one is
 * handed back first: lease-table.ts). */
export function leasedIds(req: HubRequest): number[] {
  switch (req.op) {
    case 'acquire':
    case 'release':
    case 'state':
    case 'vread':
    case 'vwrite':
      return [req.obj];
    case 'cwait':
    case 'cnotify':
      return [req.lock];
    default:
      return [];
  }
}

/** The owner of a lock moved to the hub while a thread held it, until that
 * thread attaches (it then owns it). Never dropped. */
const HELD_LOCALLY = new HubClient(() => {});

function fail(id: number, code: string, message: string): HubReply {
  return { id, error: { code, message } };
}

export class Hub {
  readonly #ends = new Map<number, End>();
  readonly #objs = new Map<number, HubObject>();
  readonly #tickets = new Map<number, { end: number; owner: HubClient }>();
  #next = 1;
  /** The waiter whose attempt #settle is making (a grant to it does not
   * count it among the others that wait). */
  #attempting: ObjWaiter | null = null;

  /** Serves one request; the reply may come later (a poll). */
  handle(client: HubClient, req: HubRequest): void {
    if (this.#parked(client, req)) return;
    const r = this.#serve(client, req);
    if (r) client.reply(r);
  }

  /** True when `req` names a leased object: it waits for the hand-back
   * (the lessee is asked once). The lessee's own requests come after its
   * hand-back (its I/O thread sends that first), except one sent before
   * the grant reached it: that one waits too, not to be served on the
   * hub's stale state. */
  #parked(client: HubClient, req: HubRequest): boolean {
    for (const id of leasedIds(req)) {
      const obj = this.#objs.get(id);
      if (!obj?.lessee) continue;
      const p: Parked = { client, req, since: performance.now(), timer: null };
      if (req.op === 'acquire' && req.ms >= 0) {
        p.timer = setTimeout(() => {
          obj.parked = obj.parked.filter((x) => x !== p);
          client.reply({ id: req.id, ok: false });
        }, req.ms);
      }
      obj.parked.push(p);
      this.#revoke(obj, id);
      return true;
    }
    return false;
  }

  #revoke(obj: HubObject, id: number): void {
    if (obj.revoking || !obj.lessee) return;
    obj.revoking = true;
    obj.lessee.revoke(id);
  }

  /** Leases `obj` to `client`: its state goes with the reply; hub requests
   * of others on it wait for its hand-back. When others wait already, the
   * revoke follows the reply at once: the lessee keeps it for its slice
   * (lease-table.ts), so contenders take turns of a slice each rather than
   * of one acquire each. */
  #grant(obj: HubObject, id: number, client: HubClient, reply: HubReply): void {
    if (obj.lessee) return;
    obj.lessee = client;
    obj.revoking = false;
    reply.lease =
      obj.kind === 'Memory'
        ? { obj: id, memory: Buffer.from(obj.memory) }
        : { obj: id, count: obj.count };
    if (obj.parked.length > 0 || obj.waiters.some((w) => w !== this.#attempting)) {
      // After the reply (sent once this request's serving returns).
      queueMicrotask(() => {
        if (obj.lessee === client) this.#revoke(obj, id);
      });
    }
  }

  /** The lessee's state back in the hub; the parked requests go on. */
  #handback(client: HubClient, req: { obj: number; count?: number; memory?: Uint8Array }): void {
    const obj = this.#objs.get(req.obj);
    if (!obj || obj.lessee !== client) return;
    if (obj.kind === 'Memory') {
      if (req.memory) obj.memory.set(req.memory);
    } else {
      const count = req.count ?? 0;
      obj.owner = count > 0 ? client : null;
      obj.count = count;
    }
    this.#unlease(obj);
  }

  #unlease(obj: HubObject): void {
    obj.lessee = null;
    obj.revoking = false;
    this.#settle(obj);
    while (obj.lessee === null && obj.parked.length > 0) {
      const p = obj.parked.shift()!;
      let req = p.req;
      if (p.timer) {
        clearTimeout(p.timer);
        if (req.op === 'acquire') {
          const left = req.ms - (performance.now() - p.since);
          req = { ...req, ms: Math.max(0, Math.round(left)) };
        }
      }
      this.handle(p.client, req);
    }
  }

  /** A client went away: every hold and ticket of it is let go. */
  drop(client: HubClient): void {
    for (const t of client.tickets) {
      const ticket = this.#tickets.get(t);
      this.#tickets.delete(t);
      if (ticket) this.#unref(ticket.end);
    }
    client.tickets.clear();
    for (const [end, n] of client.holds) for (let k = 0; k < n; k++) this.#unref(end);
    client.holds.clear();
    for (const end of this.#ends.values()) {
      end.pollers = end.pollers.filter((p) => {
        if (p.client !== client) return true;
        if (p.timer) clearTimeout(p.timer);
        return false;
      });
    }
    for (const obj of this.#objs.values()) {
      obj.waiters = obj.waiters.filter((w) => {
        if (w.client !== client) return true;
        if (w.timer) clearTimeout(w.timer);
        return false;
      });
      obj.parked = obj.parked.filter((p) => {
        if (p.client !== client) return true;
        if (p.timer) clearTimeout(p.timer);
        return false;
      });
      if (obj.lessee === client) {
        // Its thread kept the state, now gone: a Memory keeps the bytes last
        // handed back (what was written under this lease is lost: README,
        // Backends); a lock counts as held, so the next acquirer is told.
        if (obj.kind !== 'Memory') obj.owner = client;
        obj.lessee = null;
      }
      if (obj.owner === client) {
        // A holder that died lets go, as the native locks recover a dead owner.
        obj.owner = null;
        obj.count = 0;
        obj.recovered = true;
      }
      if (obj.lessee === null) this.#unlease(obj);
    }
  }

  #serve(client: HubClient, req: HubRequest): HubReply | null {
    switch (req.op) {
      case 'pipe': {
        const a = this.#next++;
        const b = this.#next++;
        const mk = (peer: number, readable: boolean, writable: boolean): End => ({
          peer,
          readable,
          writable,
          inbox: [],
          refs: 1,
          pollers: [],
        });
        this.#ends.set(a, mk(b, true, req.duplex));
        this.#ends.set(b, mk(a, req.duplex, true));
        client.holds.set(a, 1);
        client.holds.set(b, 1);
        return { id: req.id, ends: [a, b] };
      }
      case 'write': {
        const end = this.#held(client, req.end);
        if (!end?.writable) return fail(req.id, 'EBADF', 'this end of the pipe is not writable');
        const target = this.#ends.get(end.peer);
        if (!target || target.refs === 0) {
          return fail(req.id, 'EPIPE', 'the other end of the pipe is closed (broken pipe)');
        }
        target.inbox.push(Buffer.from(req.bytes.buffer, req.bytes.byteOffset, req.bytes.length));
        this.#wake(target);
        return { id: req.id };
      }
      case 'read': {
        const end = this.#held(client, req.end);
        if (!end?.readable) return fail(req.id, 'EBADF', 'this end of the pipe is not readable');
        if (end.inbox.length > 0) return { id: req.id, bytes: this.#take(end, req.max) };
        return this.#writerGone(end) ? { id: req.id, eof: true } : { id: req.id, again: true };
      }
      case 'poll': {
        const end = this.#held(client, req.end);
        if (!end?.readable) return fail(req.id, 'EBADF', 'this end of the pipe is not readable');
        if (end.inbox.length > 0 || this.#writerGone(end)) return { id: req.id, ready: true };
        if (req.ms === 0) return { id: req.id, ready: false };
        const poller: Poller = { client, id: req.id, timer: null };
        if (req.ms > 0) {
          poller.timer = setTimeout(() => {
            end.pollers = end.pollers.filter((p) => p !== poller);
            client.reply({ id: req.id, ready: false });
          }, req.ms);
        }
        end.pollers.push(poller);
        return null;
      }
      case 'close': {
        const n = client.holds.get(req.end) ?? 0;
        if (n === 0) return fail(req.id, 'EBADF', 'this end of the pipe is not open here');
        if (n === 1) client.holds.delete(req.end);
        else client.holds.set(req.end, n - 1);
        this.#unref(req.end);
        return { id: req.id };
      }
      case 'ticket': {
        const target = client.holds.has(req.end)
          ? (this.#ends.get(req.end) ?? this.#objs.get(req.end))
          : undefined;
        if (!target) return fail(req.id, 'EBADF', 'this object is not open here');
        const t = this.#next++;
        target.refs++;
        this.#tickets.set(t, { end: req.end, owner: client });
        client.tickets.add(t);
        return { id: req.id, ticket: t };
      }
      case 'claim': {
        const ticket = this.#tickets.get(req.ticket);
        if (!ticket) {
          return fail(
            req.id,
            'EBADF',
            'this end of the pipe was closed before it arrived: its sender ended first',
          );
        }
        this.#tickets.delete(req.ticket);
        ticket.owner.tickets.delete(req.ticket);
        client.holds.set(ticket.end, (client.holds.get(ticket.end) ?? 0) + 1);
        return { id: req.id };
      }
      case 'new': {
        const obj: HubObject = {
          kind: req.kind,
          refs: 1,
          waiters: [],
          items: [],
          maxsize: req.maxsize ?? 0,
          unfinished: 0,
          shut: 'open',
          owner: null,
          count: 0,
          value: req.value ?? 0,
          bound: req.bound ?? -1,
          flag: req.flag ?? false,
          recovered: req.recovered ?? false,
          memory: Buffer.from(req.bytes ?? new Uint8Array(0)),
          gen: 0,
          draining: false,
          key: req.key ?? 0,
          pinned: req.key !== undefined,
          heldBy: req.heldBy ?? null,
          lessee: null,
          revoking: false,
          parked: [],
        };
        if (obj.pinned) obj.refs++;
        if (obj.heldBy !== null) {
          obj.owner = obj.heldBy === req.tag ? client : HELD_LOCALLY;
          obj.count = req.count ?? 1;
          if (obj.owner === client) obj.heldBy = null;
        }
        const id = this.#next++;
        this.#objs.set(id, obj);
        client.holds.set(id, 1);
        return { id: req.id, obj: id };
      }
      case 'cancel':
        this.#cancel(client, req.wait);
        return { id: req.id };
      case 'handback':
        this.#handback(client, req);
        return null;
      case 'attach': {
        const obj = this.#objs.get(req.obj);
        if (!obj || obj.key === 0 || obj.key !== req.key) {
          return fail(req.id, 'EBADF', 'this shared object is gone from the hub');
        }
        obj.refs++;
        client.holds.set(req.obj, (client.holds.get(req.obj) ?? 0) + 1);
        if (obj.owner === HELD_LOCALLY && obj.heldBy === req.tag) {
          obj.owner = client;
          obj.heldBy = null;
          if (req.count !== undefined) obj.count = req.count;
        }
        return { id: req.id };
      }
      case 'unpin': {
        const obj = this.#objs.get(req.obj);
        if (obj?.pinned && obj.key === req.key) {
          obj.pinned = false;
          this.#unref(req.obj);
        }
        return { id: req.id };
      }
      case 'unref': {
        const n = client.holds.get(req.obj) ?? 0;
        if (n === 0) return { id: req.id };
        if (n === 1) client.holds.delete(req.obj);
        else client.holds.set(req.obj, n - 1);
        this.#unref(req.obj);
        return { id: req.id };
      }
      default:
        return this.#serveObject(client, req);
    }
  }

  #serveObject(client: HubClient, req: HubRequest): HubReply | null {
    const obj = 'obj' in req && client.holds.has(req.obj) ? this.#objs.get(req.obj) : undefined;
    if (!obj) return fail(req.id, 'EBADF', 'this shared object is not held here');
    const id = req.id;
    switch (req.op) {
      case 'qput': {
        const bytes = req.bytes;
        // requeue: an item an aborted get gives back. It was put before (it
        // is still counted unfinished), so a plain shutdown does not refuse
        // it; an immediate one drops it, as it dropped the others.
        return this.#block(obj, client, req.ms, { id, ok: false }, () => {
          if (obj.shut === 'immediate' && req.requeue) {
            obj.unfinished = Math.max(0, obj.unfinished - 1);
            return { id, shut: true };
          }
          if (obj.shut === 'immediate' || (obj.shut === 'shut' && !req.requeue)) {
            return { id, shut: true };
          }
          if (obj.maxsize > 0 && obj.items.length >= obj.maxsize) return null;
          obj.items.push(bytes);
          if (!req.requeue) obj.unfinished++;
          return { id, ok: true };
        });
      }
      case 'qget':
        return this.#block(obj, client, req.ms, { id, ok: false }, () => {
          if (obj.items.length > 0) return { id, ok: true, bytes: obj.items.shift() };
          return obj.shut === 'open' ? null : { id, shut: true };
        });
      case 'qsize':
        return { id, n: obj.items.length, shut: obj.shut !== 'open', unfinished: obj.unfinished };
      case 'qshutdown':
        // Python 3.13's Queue.shutdown: with immediate, what is left is
        // dropped and counts as done (join() returns); every waiter looks again.
        if (req.immediate) {
          obj.unfinished = Math.max(0, obj.unfinished - obj.items.length);
          obj.items = [];
          obj.shut = 'immediate';
        } else if (obj.shut === 'open') {
          obj.shut = 'shut';
        }
        this.#settle(obj);
        return { id };
      case 'qtaskdone':
        if (obj.unfinished === 0) return fail(id, 'ValueError', 'taskDone() called too many times');
        obj.unfinished--;
        this.#settle(obj);
        return { id };
      case 'qjoin':
        return this.#block(obj, client, req.ms, { id, ok: false }, () =>
          obj.unfinished === 0 ? { id, ok: true } : null,
        );
      case 'acquire':
        return this.#block(obj, client, req.ms, { id, ok: false }, () => {
          const r = this.#takeUnit(obj, client, id);
          if (r && req.lease && !obj.kind.endsWith('Semaphore'))
            this.#grant(obj, req.obj, client, r);
          return r;
        });
      case 'release':
        return this.#release(obj, client, id, req.n ?? 1);
      case 'state':
        return {
          id,
          n: obj.kind.endsWith('Semaphore') ? obj.value : obj.count,
          ok: obj.kind === 'Event' || obj.kind === 'Barrier' ? obj.flag : obj.owner !== null,
        };
      case 'vread': {
        const out = Buffer.allocUnsafeSlow(req.n);
        obj.memory.copy(out, 0, req.offset, req.offset + req.n);
        const r: HubReply = { id, bytes: out };
        if (req.lease) this.#grant(obj, req.obj, client, r);
        return r;
      }
      case 'vwrite': {
        obj.memory.set(req.bytes, req.offset);
        const r: HubReply = { id };
        if (req.lease) this.#grant(obj, req.obj, client, r);
        return r;
      }
      case 'bwait': {
        // Python's Barrier: `value` parties, `count` arrived, `flag` broken.
        if (obj.flag) return fail(id, 'BrokenBarrierError', 'the Barrier is broken');
        const index = obj.count++;
        if (obj.count === obj.value) {
          obj.draining = true; // this caller runs the action, then sends bdone
          return { id, n: index, ok: true };
        }
        const gen = obj.gen;
        const broken = (): HubReply | null =>
          obj.flag ? fail(id, 'BrokenBarrierError', 'the Barrier was aborted or reset') : null;
        return this.#block(
          obj,
          client,
          req.ms,
          fail(id, 'BrokenBarrierError', 'the Barrier timed out and is now broken'),
          () => (obj.gen !== gen ? { id, n: index, ok: false } : broken()),
          () => this.#breakBarrier(obj),
        );
      }
      case 'bdone':
        if (req.ok) {
          obj.gen++;
          obj.count = 0;
          obj.draining = false;
          this.#settle(obj);
        } else {
          this.#breakBarrier(obj);
        }
        return { id };
      case 'bbreak':
        this.#breakBarrier(obj);
        if (req.reset) {
          obj.flag = false;
          obj.gen++;
        }
        return { id };
      case 'cwait':
        return this.#condWait(obj, client, id, req.lock, req.ms);
      case 'cnotify': {
        const lock = this.#ownedLock(client, id, req.lock, 'notify');
        if (!('kind' in lock)) return lock;
        let n = req.n < 0 ? Infinity : req.n;
        while (n-- > 0 && obj.waiters.length > 0) obj.waiters[0].wake!(true);
        return { id };
      }
      case 'cwake':
        obj.waiters.find((w) => w.client === client && w.request === req.wait)?.wake!(false);
        return { id };
      case 'set':
        obj.flag = req.flag;
        this.#settle(obj);
        return { id };
      case 'wait':
        return this.#block(obj, client, req.ms, { id, ok: false }, () =>
          obj.flag ? { id, ok: true } : null,
        );
      default:
        return fail(id, 'EINVAL', `unknown request ${(req as { op: string }).op}`);
    }
  }

  /** An abort: the wait of request `wait` ends as its timeout would (a
   * Condition's sleeper still takes its lock back first). A wait that is
   * over already is left alone: its reply is on the way. */
  #cancel(client: HubClient, wait: number): void {
    for (const obj of this.#objs.values()) {
      const p = obj.parked.find((x) => x.client === client && x.req.id === wait);
      if (p && p.req.op === 'acquire') {
        obj.parked = obj.parked.filter((x) => x !== p);
        if (p.timer) clearTimeout(p.timer);
        client.reply({ id: wait, ok: false });
        return;
      }
      const w = obj.waiters.find(
        (x) => x.client === client && (x.request ?? x.timeout.id) === wait,
      );
      if (!w) continue;
      if (w.wake) return w.wake(false);
      obj.waiters = obj.waiters.filter((x) => x !== w);
      if (w.timer) clearTimeout(w.timer);
      client.reply(w.timeout);
      w.onTimeout?.();
      this.#settle(obj);
      return;
    }
    for (const end of this.#ends.values()) {
      const p = end.pollers.find((x) => x.client === client && x.id === wait);
      if (!p) continue;
      end.pollers = end.pollers.filter((x) => x !== p);
      if (p.timer) clearTimeout(p.timer);
      client.reply({ id: p.id, ready: false });
      return;
    }
  }

  /** The Lock or RLock `lock` if `client` holds it, else the error a
   * Condition call on an un-acquired lock raises. */
  #ownedLock(client: HubClient, id: number, lock: number, what: string): HubObject | HubReply {
    const obj = client.holds.has(lock) ? this.#objs.get(lock) : undefined;
    if (!obj) return fail(id, 'EBADF', "this Condition's lock is not held here");
    if (obj.owner !== client) return fail(id, 'RuntimeError', `cannot ${what} on un-acquired lock`);
    return obj;
  }

  /** Condition.wait: lets go of the lock (all of an RLock's levels), sleeps
   * until notified, timed out or cancelled, then queues for the lock and
   * replies once it holds it again, at its former level (Python's
   * threading.Condition, done where both objects live, so no notify can
   * fall between the release and the sleep). */
  #condWait(
    cond: HubObject,
    client: HubClient,
    id: number,
    lockId: number,
    ms: number,
  ): HubReply | null {
    const lock = this.#ownedLock(client, id, lockId, 'wait');
    if (!('kind' in lock)) return lock;
    const level = lock.count;
    const sleeper: ObjWaiter = {
      client,
      attempt: () => null,
      timeout: { id, ok: false },
      timer: null,
      request: id,
      wake: (notified) => {
        cond.waiters = cond.waiters.filter((x) => x !== sleeper);
        if (sleeper.timer) clearTimeout(sleeper.timer);
        const retake = (): HubReply | null => {
          if (lock.owner !== null) return null;
          lock.owner = client;
          lock.count = level;
          const recovered = lock.recovered;
          lock.recovered = false;
          return { id, ok: notified, recovered };
        };
        const r = this.#block(lock, client, -1, { id, ok: false }, retake);
        if (r) client.reply(r);
      },
    };
    cond.waiters.push(sleeper);
    lock.owner = null;
    lock.count = 0;
    this.#settle(lock);
    if (ms === 0) sleeper.wake!(false);
    else if (ms > 0) sleeper.timer = setTimeout(() => sleeper.wake!(false), ms);
    return null;
  }

  /** One unit of a lock or semaphore for `client`, or null while none is free. */
  #takeUnit(obj: HubObject, client: HubClient, id: number): HubReply | null {
    if (obj.kind.endsWith('Semaphore')) {
      if (obj.value === 0) return null;
      obj.value--;
      return { id, ok: true };
    }
    if (obj.owner === client && obj.kind === 'RLock') {
      obj.count++;
      return { id, ok: true };
    }
    if (obj.owner !== null) return null;
    obj.owner = client;
    obj.count = 1;
    const recovered = obj.recovered;
    obj.recovered = false;
    return { id, ok: true, recovered };
  }

  #release(obj: HubObject, client: HubClient, id: number, n: number): HubReply {
    if (obj.kind.endsWith('Semaphore')) {
      if (obj.bound >= 0 && obj.value + n > obj.bound) {
        return fail(id, 'ValueError', 'Semaphore released too many times');
      }
      obj.value += n;
    } else if (obj.kind === 'RLock') {
      if (obj.owner !== client) {
        return fail(
          id,
          'RuntimeError',
          'cannot release un-acquired lock (an RLock is released by the thread and process ' +
            'that acquired it)',
        );
      }
      if (--obj.count > 0) return { id };
      obj.owner = null;
    } else {
      if (obj.owner === null) return fail(id, 'RuntimeError', 'release unlocked lock');
      obj.owner = null;
      obj.count = 0;
    }
    this.#settle(obj);
    return { id };
  }

  /** Replies now when `attempt` can proceed, after `ms` (0: at once, < 0:
   * never) with `timeout` when it cannot, or when a change lets it. */
  #block(
    obj: HubObject,
    client: HubClient,
    ms: number,
    timeout: HubReply,
    attempt: () => HubReply | null,
    onTimeout?: () => void,
  ): HubReply | null {
    const r = attempt();
    if (r) {
      this.#settle(obj);
      return r;
    }
    if (ms === 0) return timeout;
    const w: ObjWaiter = { client, attempt, timeout, timer: null, onTimeout };
    // A Condition's sleeper retaking a leased lock (its own thread's lease
    // too): the lessee gives it back.
    if (obj.lessee) this.#revoke(obj, this.#idOf(obj));
    if (ms > 0) {
      w.timer = setTimeout(() => {
        obj.waiters = obj.waiters.filter((x) => x !== w);
        client.reply(timeout);
        onTimeout?.();
        this.#settle(obj);
      }, ms);
    }
    obj.waiters.push(w);
    return null;
  }

  /** Breaks a Barrier: every party waiting now fails. */
  #breakBarrier(obj: HubObject): void {
    obj.flag = true;
    obj.count = 0;
    obj.draining = false;
    this.#settle(obj);
  }

  /** Lets every waiter that now can proceed go, in arrival order. */
  #settle(obj: HubObject): void {
    let progress = true;
    // Leased, the state is the lessee's: the waiters go on at its hand-back.
    while (progress && !obj.lessee) {
      progress = false;
      for (const w of obj.waiters) {
        this.#attempting = w;
        const r = w.attempt();
        this.#attempting = null;
        if (!r) continue;
        obj.waiters = obj.waiters.filter((x) => x !== w);
        if (w.timer) clearTimeout(w.timer);
        w.client.reply(r);
        progress = true;
        break;
      }
    }
  }

  #idOf(obj: HubObject): number {
    for (const [id, o] of this.#objs) if (o === obj) return id;
    return 0;
  }

  #held(client: HubClient, end: number): End | undefined {
    return client.holds.has(end) ? this.#ends.get(end) : undefined;
  }

  #writerGone(end: End): boolean {
    const writer = this.#ends.get(end.peer);
    return !writer || writer.refs === 0;
  }

  #take(end: End, max: number): Buffer {
    const first = end.inbox[0];
    if (first.length <= max) {
      end.inbox.shift();
      if (first.length === max || end.inbox.length === 0) return first;
      const parts = [first];
      let n = first.length;
      while (end.inbox.length > 0 && n < max) {
        const next = end.inbox[0];
        if (n + next.length <= max) {
          parts.push(end.inbox.shift()!);
          n += next.length;
        } else {
          parts.push(next.subarray(0, max - n));
          end.inbox[0] = next.subarray(max - n);
          n = max;
        }
      }
      return Buffer.concat(parts, n);
    }
    end.inbox[0] = first.subarray(max);
    return first.subarray(0, max);
  }

  #wake(end: End): void {
    const pollers = end.pollers.splice(0);
    for (const p of pollers) {
      if (p.timer) clearTimeout(p.timer);
      p.client.reply({ id: p.id, ready: true });
    }
  }

  #unref(id: number): void {
    const obj = this.#objs.get(id);
    if (obj) {
      if (--obj.refs === 0) this.#objs.delete(id);
      return;
    }
    const end = this.#ends.get(id);
    if (!end) return;
    end.refs--;
    if (end.refs > 0) return;
    const peer = this.#ends.get(end.peer);
    if (peer) this.#wake(peer); // its reader sees end of file
    if (!peer || peer.refs === 0) {
      this.#ends.delete(id);
      this.#ends.delete(end.peer);
    }
  }
}
