// The portable backend's Listener and Client sockets, served by a thread's
// I/O thread (io-worker.ts): Node's net servers and sockets, each
// connection bridged to a hub pipe whose end the thread's Connection takes.
// AF_INET is IPv4, as Python's: a host name is looked up for IPv4 only.
// AF_PIPE (Windows named pipes) is a path, as AF_UNIX.
import * as dns from 'node:dns';
import * as net from 'node:net';
import type { HubReply, HubRequest } from './hub';

type Reply = Omit<HubReply, 'id'>;
type Bridge = (socket: net.Socket) => Promise<Reply>;

interface Served {
  server: net.Server;
  /** Connections not yet accepted (paused: their bytes wait in the kernel). */
  ready: net.Socket[];
  /** The accept requests waiting for a connection, in order. */
  waiting: number[];
}

const listeners = new Map<number, Served>();
let nextListener = 1;

function failure(err: unknown): Reply {
  const e = err as NodeJS.ErrnoException;
  return { error: { code: e.code ?? 'EIO', message: e.message } };
}

function closedListener(): Reply {
  return { error: { code: 'EBADF', message: 'listener is closed' } };
}

/** The IPv4 address of `host` ('' is any address). */
function ipv4(host: string): Promise<string> {
  if (host === '') return Promise.resolve('0.0.0.0');
  return new Promise((resolve, reject) =>
    dns.lookup(host, { family: 4 }, (err, address) => (err ? reject(err) : resolve(address))),
  );
}

function peerOf(socket: net.Socket): string | [string, number] {
  return socket.remoteAddress ? [socket.remoteAddress, socket.remotePort ?? 0] : '';
}

function serveAccepts(served: Served, bridge: Bridge, reply: (r: HubReply) => void): void {
  while (served.ready.length > 0 && served.waiting.length > 0) {
    const id = served.waiting.shift()!;
    const socket = served.ready.shift()!;
    const address = peerOf(socket);
    void bridge(socket).then((r) => reply({ id, ...r, address }));
  }
}

async function listen(
  req: Extract<HubRequest, { op: 'listen' }>,
  bridge: Bridge,
  reply: (r: HubReply) => void,
): Promise<void> {
  let where: net.ListenOptions;
  try {
    where =
      req.family === 'AF_INET'
        ? { host: await ipv4(req.host), port: req.port, backlog: req.backlog }
        : { path: req.host, backlog: req.backlog }; // AF_UNIX, or AF_PIPE (a named pipe)
  } catch (err) {
    return reply({ id: req.id, ...failure(err) });
  }
  const server = net.createServer({ pauseOnConnect: true });
  const served: Served = { server, ready: [], waiting: [] };
  const id = nextListener++;
  server.on('connection', (socket) => {
    socket.on('error', () => socket.destroy());
    served.ready.push(socket);
    serveAccepts(served, bridge, reply);
  });
  server.once('error', (err) => reply({ id: req.id, ...failure(err) }));
  server.listen({ ...where, exclusive: true }, () => {
    server.removeAllListeners('error');
    server.on('error', () => {});
    listeners.set(id, served);
    const a = server.address();
    const address: string | [string, number] =
      typeof a === 'string' ? a : a ? [a.address, a.port] : '';
    reply({ id: req.id, obj: id, address });
  });
}

function connect(
  req: Extract<HubRequest, { op: 'connect' }>,
  bridge: Bridge,
  reply: (r: HubReply) => void,
): void {
  const socket =
    req.family === 'AF_INET'
      ? net.connect({ host: req.host || '127.0.0.1', port: req.port, family: 4 })
      : net.connect({ path: req.host });
  socket.once('error', (err) => reply({ id: req.id, ...failure(err) }));
  socket.once('connect', () => {
    socket.removeAllListeners('error');
    void bridge(socket).then((r) => reply({ id: req.id, ...r }));
  });
}

/** Serves `req` if it is a socket request (true), else leaves it (false). */
export function serveSocketRequest(
  req: HubRequest,
  bridge: Bridge,
  reply: (r: HubReply) => void,
): boolean {
  switch (req.op) {
    case 'listen':
      void listen(req, bridge, reply);
      return true;
    case 'connect':
      connect(req, bridge, reply);
      return true;
    case 'accept': {
      const served = listeners.get(req.listener);
      if (!served) {
        reply({ id: req.id, ...closedListener() });
        return true;
      }
      served.waiting.push(req.id);
      serveAccepts(served, bridge, reply);
      return true;
    }
    case 'unaccept': {
      // A cancelled accept(): its wait ends (the caller has moved on).
      for (const served of listeners.values()) {
        const i = served.waiting.indexOf(req.wait);
        if (i < 0) continue;
        served.waiting.splice(i, 1);
        reply({ id: req.wait, error: { code: 'ECANCELED', message: 'accept cancelled' } });
      }
      reply({ id: req.id });
      return true;
    }
    case 'unlisten': {
      const served = listeners.get(req.listener);
      listeners.delete(req.listener);
      if (served) {
        served.server.close();
        for (const socket of served.ready.splice(0)) socket.destroy();
        for (const id of served.waiting.splice(0)) reply({ id, ...closedListener() });
      }
      reply({ id: req.id });
      return true;
    }
    default:
      return false;
  }
}
