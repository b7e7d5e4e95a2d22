// The I/O thread of the portable backend (a Worker, one per JS thread that
// uses portable pipes). Its thread talks to it through a MessagePort and a
// counter word: each reply is posted, then the counter bumped and notified,
// so the thread can block in Atomics.wait and take the reply with
// receiveMessageOnPort (the blocking forms), or await it (the async forms).
// On the hub's own thread it serves the hub (hub.ts) and listens on the
// hub's address for the other threads and processes; elsewhere it forwards
// requests to the hub over a socket and the replies back.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as v8 from 'node:v8';
import { workerData, type MessagePort } from 'node:worker_threads';
import { bodySize, header, headerSize } from '../../transfer/framing';
import { Hub, HubClient, own, type HubReply, type HubRequest } from './hub';
import { serveSocketRequest } from './io-sockets';
import { LeaseTable, type Handback } from './lease-table';

export interface IoWorkerData {
  role: 'hub' | 'client';
  address: string;
  port: MessagePort;
  counter: Int32Array;
}

const { role, address, port, counter } = workerData as IoWorkerData;

/** The thread's ends that a bridge pumps to a socket -> resolves once the
 * bridge has written out all the end was sent (after the end's close). */
const bridged = new Map<number, Promise<void>>();
/** Replies held until then: the thread's close of a bridged end returns
 * once its bytes are on the socket, as a close of a native socket's fd (a
 * spawned child that sends, closes and exits loses nothing). */
const heldReplies = new Map<number, Promise<void>>();
/** The longest a close waits for its bridge (a peer that reads nothing). */
const DRAIN_BOUND_MS = 30000;

/** Holds the reply to `req` when it closes a bridged end. */
function holdBridgedClose(req: HubRequest): void {
  if (req.op !== 'close') return;
  const drained = bridged.get(req.end);
  if (!drained) return;
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, DRAIN_BOUND_MS);
  });
  heldReplies.set(
    req.id,
    Promise.race([drained, bound]).finally(() => clearTimeout(timer)),
  );
}

/** The thread's leases; `sendHandback` is set by the role below. */
let sendHandback: (h: Handback) => void = () => {};
const leases = new LeaseTable((h) => sendHandback(h));

function toThread(r: HubReply): void {
  if (r.lease) {
    leases.granted(r.lease);
    delete r.lease;
  }
  const held = heldReplies.get(r.id);
  if (held) {
    heldReplies.delete(r.id);
    void held.then(() => toThread(r));
    return;
  }
  // Bytes are moved, not cloned (a structured clone of a large buffer is slow).
  if (r.bytes) r.bytes = own(r.bytes);
  port.postMessage(r, r.bytes ? [r.bytes.buffer as ArrayBuffer] : []);
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
}

/** A request or reply on a socket: the frame header, the length of the
 * rest's v8-encoded part, that part, then its bytes raw (v8's encoding of a
 * large buffer is slow). */
function frame(value: object): Buffer {
  const { bytes, ...rest } = value as { bytes?: Uint8Array };
  const meta = v8.serialize(rest);
  const size = 4 + meta.length + (bytes?.length ?? 0);
  const head = header(size);
  const out = Buffer.allocUnsafe(head.length + 4 + meta.length);
  head.copy(out, 0);
  out.writeUInt32BE(meta.length, head.length);
  meta.copy(out, head.length + 4);
  return bytes ? Buffer.concat([out, bytes], head.length + size) : out;
}

function unframe(body: Buffer): { bytes?: Uint8Array } {
  const metaLen = body.readUInt32BE(0);
  const value = v8.deserialize(body.subarray(4, 4 + metaLen)) as { bytes?: Uint8Array };
  if (body.length > 4 + metaLen) value.bytes = body.subarray(4 + metaLen);
  return value;
}

/** Calls `onFrame` with each whole frame arriving on `socket`. Chunks are
 * gathered and joined once per frame (a large frame arrives in many). */
function readFrames(socket: net.Socket, onFrame: (value: unknown) => void): void {
  let chunks: Buffer[] = [];
  let have = 0;
  let need = 0; // bytes the frame being gathered needs in all; 0 = unknown yet
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    have += chunk.length;
    for (;;) {
      if (need === 0 || have >= need) {
        let buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, have);
        chunks = [buf];
        const h = headerSize(buf, 0, have);
        if (h === 0) return;
        need = h + bodySize(buf, 0, h);
        if (have < need) return;
        onFrame(unframe(buf.subarray(h, need)));
        buf = buf.subarray(need);
        have -= need;
        need = 0;
        chunks = have > 0 ? [buf] : [];
        if (have === 0) return;
      } else {
        return;
      }
    }
  });
}

/** This I/O thread's own requests to the hub (its fd bridges'), with ids
 * below zero so that their replies come back here, not to the thread. */
const ownCalls = new Map<number, (r: HubReply) => void>();
let nextOwn = -1;
let sendOwn: (req: HubRequest) => void = () => {};

function callHub(req: DistributiveOmit<HubRequest, 'id'>): Promise<HubReply> {
  const id = nextOwn--;
  return new Promise((resolve) => {
    ownCalls.set(id, resolve);
    sendOwn({ ...req, id } as HubRequest);
  });
}

function ownReply(r: HubReply): void {
  const resolve = ownCalls.get(r.id);
  ownCalls.delete(r.id);
  resolve?.(r);
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A connected socket bridged to a new pipe: one end for the thread (a
 * ticket it claims: the reply's `ticket` and `obj`), the other pumped to
 * and from the socket by this thread. Bytes pass as they are, so the
 * socket carries forkful's framing, as a native Connection over it would. */
async function bridge(socket: net.Socket): Promise<Omit<HubReply, 'id'>> {
  const p = await callHub({ op: 'pipe', duplex: true });
  if (p.error) {
    socket.destroy();
    return { error: p.error };
  }
  const [a, b] = p.ends!;
  const t = await callHub({ op: 'ticket', end: a });
  if (t.error) {
    socket.destroy();
    return { error: t.error };
  }
  await callHub({ op: 'close', end: a }); // the ticket holds it for the thread
  let closed = false;
  const closeEnd = (): void => {
    if (closed) return;
    closed = true;
    void callHub({ op: 'close', end: b });
  };
  socket.on('data', (chunk: Buffer) => {
    void callHub({ op: 'write', end: b, bytes: own(chunk) });
  });
  socket.on('end', closeEnd);
  socket.on('close', closeEnd);
  socket.on('error', () => socket.destroy());
  socket.resume(); // an accepted socket starts paused
  // What the thread writes to its end goes out on the socket; its close
  // (end of file here) closes the socket once the bytes are written.
  let drained = (): void => {};
  const written = new Promise<void>((resolve) => (drained = resolve));
  socket.once('close', () => drained());
  bridged.set(a, written);
  void written.then(() => bridged.delete(a));
  void (async () => {
    for (;;) {
      const polled = await callHub({ op: 'poll', end: b, ms: -1 });
      if (polled.error) return drained();
      const r = await callHub({ op: 'read', end: b, max: 1 << 20 });
      if (r.eof || r.error) {
        socket.end(() => {
          drained();
          socket.destroy();
        });
        return;
      }
      if (r.bytes) socket.write(r.bytes);
    }
  })();
  return { ticket: t.ticket, obj: a };
}

/** `new Connection(fd)` without the addon: this thread takes the fd (a
 * socket or pipe) and bridges it. */
async function adopt(req: { id: number; fd: number }): Promise<void> {
  let socket: net.Socket;
  try {
    socket = new net.Socket({ fd: req.fd, readable: true, writable: true });
  } catch (err) {
    toThread({ id: req.id, error: { code: 'EBADF', message: (err as Error).message } });
    return;
  }
  toThread({ id: req.id, ...(await bridge(socket)) });
}

/** The requests this thread serves itself, not the hub. */
function serveLocally(req: HubRequest): boolean {
  if (req.op === 'lease') {
    leases.register(req.obj, req.words, req.memory);
    return true;
  }
  leases.beforeRequest(req);
  if (req.op === 'adopt') {
    void adopt(req);
    return true;
  }
  return serveSocketRequest(req, bridge, toThread);
}

if (role === 'hub') {
  const hub = new Hub();
  const local = new HubClient(toThread, (obj) => leases.revoke(obj));
  sendHandback = (h) => hub.handle(local, h);
  const bridges = new HubClient(ownReply);
  sendOwn = (req) => hub.handle(bridges, req);
  port.on('message', (req: HubRequest) => {
    holdBridgedClose(req);
    if (!serveLocally(req)) hub.handle(local, req);
  });
  const server = net.createServer((socket) => {
    const send = (r: HubReply): void => {
      if (!socket.destroyed) socket.write(frame(r));
    };
    const client = new HubClient(send, (obj) => send({ id: 0, revoke: obj }));
    readFrames(socket, (req) => hub.handle(client, req as HubRequest));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => hub.drop(client));
  });
  server.on('error', (err) => {
    process.stderr.write(`forkful: the portable hub cannot listen on ${address}: ${err.message}\n`);
  });
  if (process.platform !== 'win32') {
    try {
      fs.unlinkSync(address);
    } catch {
      // no stale socket file: the usual case
    }
  }
  server.listen(address);
} else {
  const pending = new Set<number>();
  let lost: string | null = null;
  const socket = net.connect(address);
  const failAll = (why: string): void => {
    lost = why;
    for (const id of pending) toThread(hubGone(id, why));
    pending.clear();
    for (const id of [...ownCalls.keys()]) ownReply(hubGone(id, why));
  };
  sendOwn = (req) => {
    if (lost !== null) return ownReply(hubGone(req.id, lost));
    socket.write(frame(req));
  };
  sendHandback = (h) => {
    if (lost === null) socket.write(frame(h));
  };
  readFrames(socket, (r) => {
    const reply = r as HubReply;
    if (reply.revoke !== undefined) return leases.revoke(reply.revoke);
    if (reply.id < 0) return ownReply(reply);
    pending.delete(reply.id);
    toThread(reply);
  });
  socket.on('error', (err) => failAll(err.message));
  socket.on('close', () => failAll('the connection closed'));
  port.on('message', (req: HubRequest) => {
    holdBridgedClose(req);
    if (serveLocally(req)) return;
    if (lost !== null) return toThread(hubGone(req.id, lost));
    pending.add(req.id);
    socket.write(frame(req));
  });
}

/** The reply every request gets once the hub is out of reach: reads and
 * polls see end of file (the process holding the pipes ended), others an
 * error naming why. */
function hubGone(id: number, why: string): HubReply {
  return {
    id,
    eof: true,
    ready: true,
    error: {
      code: 'ECONNRESET',
      message: `the process that holds forkful's portable pipes is gone (${why})`,
    },
  };
}
