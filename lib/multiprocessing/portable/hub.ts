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
  | { id: number; op: 'claim'; ticket: number };

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
}

/** Whoever holds ends: a thread's connection to the hub. */
export class HubClient {
  /** end -> how many holds this client has on it. */
  readonly holds = new Map<number, number>();
  /** Tickets this client issued and nobody claimed yet. */
  readonly tickets = new Set<number>();
  constructor(readonly reply: (r: HubReply) => void) {}
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

function fail(id: number, code: string, message: string): HubReply {
  return { id, error: { code, message } };
}

export class Hub {
  readonly #ends = new Map<number, End>();
  readonly #tickets = new Map<number, { end: number; owner: HubClient }>();
  #next = 1;

  /** Serves one request; the reply may come later (a poll). */
  handle(client: HubClient, req: HubRequest): void {
    const r = this.#serve(client, req);
    if (r) client.reply(r);
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
        const end = this.#held(client, req.end);
        if (!end) return fail(req.id, 'EBADF', 'this end of the pipe is not open here');
        const t = this.#next++;
        end.refs++;
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
    }
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
