// Python's multiprocessing.reduction.send_handle/recv_handle: one file
// descriptor to a process that is already running, over a Connection on a
// Unix socket (SCM_RIGHTS). The receiver gets its own fd (a dup of the
// sender's open file) and owns it. Connections and Queues inside messages
// travel the same way by themselves (Connection.send).
import { EOFError } from '../core/errors';
import { checkSignal, throwIfAborted, type SignalOption } from '../core/abort';
import { checkOptions } from '../core/options';
import { Connection, kRecvHandle, kSendHandle } from './connection';

function checkConnection(conn: unknown, what: string): Connection {
  if (!(conn instanceof Connection)) throw new TypeError(`${what}: conn must be a Connection`);
  return conn;
}

/** Sends `handle` (an fd of this process) over `conn`. `destinationPid` is
 * Python's (it names the receiver on Windows); on Unix it is not used. */
export function sendHandle(conn: Connection, handle: number, destinationPid?: number): void {
  checkConnection(conn, 'sendHandle');
  if (!Number.isInteger(handle) || handle < 0) {
    throw new TypeError(`sendHandle: handle must be a file descriptor, got ${String(handle)}`);
  }
  void destinationPid;
  conn[kSendHandle](handle);
}

/** The fd sent with sendHandle(); waits on the event loop. Rejects with
 * EOFError when the peer closed, RuntimeError when what came is no handle. */
export async function recvHandle(conn: Connection, options?: SignalOption): Promise<number> {
  checkConnection(conn, 'recvHandle');
  const signal = checkSignal(
    checkOptions(options, ['signal'], 'recvHandle').signal,
    'reduction.recvHandle',
  );
  for (;;) {
    throwIfAborted(signal, 'reduction.recvHandle');
    const fd = conn[kRecvHandle]();
    if (fd !== null) return fd;
    await conn.pollAsync(null, { signal });
  }
}

/** Blocking recvHandle(). */
export function recvHandleSync(conn: Connection): number {
  checkConnection(conn, 'recvHandleSync');
  for (;;) {
    const fd = conn[kRecvHandle]();
    if (fd !== null) return fd;
    if (!conn.poll(null)) throw new EOFError('the connection ended before a handle came');
  }
}
