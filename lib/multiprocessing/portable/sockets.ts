// Listener's and Client's calls without the addon: the thread's I/O thread
// listens, accepts and connects (io-sockets.ts) and bridges each connection
// to a portable pipe, whose virtual fd a Connection takes as it takes a
// native socket's fd.
import { abortable } from '../../core/abort';
import { VIRTUAL_FD_BASE } from '../../transfer/fd-transfer';
import { claimHubTicket, hubCall, hubCallSync, hubCallWithId, portableFds } from './io';
import type { HubReply } from './hub';

type SocketFamily = 'AF_UNIX' | 'AF_INET' | 'AF_PIPE';
export type PortableAddress = string | [string, number];

export interface Accepted {
  fd: number;
  peer: PortableAddress;
}

/** Takes the bridged pipe end a reply carries: its virtual fd. */
function claim(r: HubReply): number {
  claimHubTicket(r.ticket!);
  return VIRTUAL_FD_BASE + r.obj!;
}

/** A listening socket of the I/O thread: its number and bound address. */
export function portableListen(
  family: SocketFamily,
  host: string,
  port: number,
  backlog: number,
): { listener: number; address: PortableAddress } {
  const r = hubCallSync({ op: 'listen', family, host, port, backlog });
  return { listener: r.obj!, address: r.address ?? '' };
}

/** Blocks until a connection is accepted. */
export function portableAcceptSync(listener: number): Accepted {
  const r = hubCallSync({ op: 'accept', listener });
  return { fd: claim(r), peer: r.address ?? '' };
}

/** Resolves with the next accepted connection; `signal` cancels the wait. */
export function portableAccept(
  listener: number,
  signal: AbortSignal | null,
  what: string,
): Promise<Accepted> {
  const { id, reply } = hubCallWithId({ op: 'accept', listener });
  const accepted = reply.then((r) => ({ fd: claim(r), peer: r.address ?? '' }));
  const cancel = () => void hubCall({ op: 'unaccept', wait: id }, false).catch(() => {});
  // A connection accepted just as the wait was cancelled is closed.
  return abortable(signal, what, accepted, cancel, (late) => portableFds.close(late.fd));
}

/** Stops listening; pending accepts end with OSError EBADF. */
export function portableUnlisten(listener: number): void {
  hubCallSync({ op: 'unlisten', listener });
}

/** A connected socket's virtual fd. Blocks until connected. */
export function portableConnect(family: SocketFamily, host: string, port: number): number {
  return claim(hubCallSync({ op: 'connect', family, host, port }));
}
