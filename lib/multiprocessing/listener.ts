// Python's multiprocessing.connection.Listener and Client: a listening
// socket (AF_UNIX, also Linux's abstract namespace, or AF_INET) whose
// accepted sockets, and Client's connected ones, are Connections (the same
// framing as Pipe's, which is Python's: a Python Listener or Client is a
// valid peer). With an authkey both ends prove they hold it (the challenge
// of connection-auth.ts) before the Connection is handed over.
//
// Waits follow forkful's rule: accept() and Client() return Promises,
// acceptSync() and ClientSync() block as Python's do.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { NotSupportedError, OSError, OverflowError, ValueError } from '../core/errors';
import { abortable, checkSignal, throwIfAborted, type SignalOption } from '../core/abort';
import { checkOptions } from '../core/options';
import type { FdWatch, NativeAddon } from '../core/addon';
import { native } from '../core/native';
import { afterFork, Order } from '../runtime/lifecycle';
import { Connection } from './connection';
import {
  portableAccept,
  portableAcceptSync,
  portableConnect,
  portableListen,
  portableUnlisten,
} from './portable/sockets';
import {
  answerChallenge,
  answerChallengeSync,
  authkeyBytes,
  deliverChallenge,
  deliverChallengeSync,
} from './connection-auth';

/** Python's address families; 'AF_PIPE' (Windows named pipes) is
 * recognised but not available here. */
export type Family = 'AF_UNIX' | 'AF_INET' | 'AF_PIPE';
/** An AF_UNIX path (a leading '\0': Linux's abstract namespace) or an
 * AF_INET [host, port] (Python's tuple). */
export type Address = string | readonly [string, number];
/** The addon's families (all but Windows' named pipes). */
type SocketFamily = Exclude<Family, 'AF_PIPE'>;

/** The families this platform has (Python's connection.families). */
export const families: readonly Family[] =
  process.platform === 'win32' ? ['AF_INET', 'AF_PIPE'] : ['AF_INET', 'AF_UNIX'];
/** Python's connection.default_family. */
export const defaultFamily: Family = process.platform === 'win32' ? 'AF_PIPE' : 'AF_UNIX';

export interface ListenerOptions {
  /** Default: the address's family, else defaultFamily. */
  family?: Family | null;
  /** The listen() backlog (default 1, as Python's). */
  backlog?: number;
  /** Bytes both ends must share; null/absent: no authentication. */
  authkey?: Uint8Array | string | null;
}

export interface ClientOptions {
  family?: Family | null;
  authkey?: Uint8Array | string | null;
}

let counter = 0;

/** Python's arbitrary_address(family): a free address of that family. */
export function arbitraryAddress(family: Family): Address {
  if (family === 'AF_INET') return ['localhost', 0];
  if (family === 'AF_UNIX') {
    const name = `listener-${process.pid}-${counter++}-${randomBytes(4).toString('hex')}`;
    return path.join(os.tmpdir(), name);
  }
  if (family === 'AF_PIPE') return `\\\\.\\pipe\\forkful-${process.pid}-${counter++}`;
  throw new ValueError(`unrecognized family: ${String(family)}`);
}

/** Python's address_type(address): the family an address belongs to. */
export function addressType(address: Address): Family {
  if (Array.isArray(address)) return 'AF_INET';
  if (typeof address === 'string') return address.startsWith('\\\\') ? 'AF_PIPE' : 'AF_UNIX';
  throw new ValueError(`address type of ${String(address)} unrecognized`);
}

function checkFamily(family: unknown): Family {
  if (family !== 'AF_UNIX' && family !== 'AF_INET' && family !== 'AF_PIPE') {
    throw new ValueError(`Family ${String(family)} is not recognized.`);
  }
  if (!families.includes(family)) throw new ValueError(`Family ${family} is not recognized.`);
  return family;
}

/** The addon's sockets, for a family it has (AF_PIPE is the portable
 * backend's only, on Windows, where there is no addon). */
function nativeSockets(family: Family): NativeAddon | null {
  if (!native) return null;
  if (family === 'AF_PIPE') throw new NotSupportedError('AF_PIPE needs Windows');
  return native;
}

/** The native arguments of an address: (bytes or host, port). */
function nativeAddress(family: Family, address: Address): [Buffer | string, number] {
  if (family !== 'AF_INET') {
    if (typeof address !== 'string') {
      throw new TypeError(`an ${family} address must be a path string, got ${typeof address}`);
    }
    return [Buffer.from(address, 'utf8'), 0];
  }
  if (!Array.isArray(address) || address.length !== 2) {
    throw new TypeError('an AF_INET address must be a [host, port] array');
  }
  const [host, port] = address as [unknown, unknown];
  if (typeof host !== 'string') throw new TypeError('an AF_INET host must be a string');
  if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535) {
    throw new OverflowError(`port must be 0-65535, got ${String(port)}`);
  }
  return [host, port as number];
}

/** An address as a JS value: Unix paths as strings ('' for an unbound peer). */
function addressOf(name: Buffer | [string, number]): Address {
  return Buffer.isBuffer(name) ? name.toString('utf8') : [name[0], name[1]];
}

function closedListener(): OSError {
  const err = new OSError('listener is closed');
  err.code = 'EBADF';
  return err;
}

/** Closes a connection whose handshake failed, keeping the handshake's error. */
function dropOnFailure(conn: Connection, err: unknown): never {
  try {
    conn.close();
  } catch {
    // the peer is gone already: the handshake's error says more
  }
  throw err;
}

interface AcceptWaiter {
  resolve(fd: number): void;
  reject(err: unknown): void;
}

/** Listeners with an armed watch: a forked child drops the waits, which
 * belong to its parent. */
const watching = new Set<Listener>();
// prettier-ignore
afterFork("listener: drop the parent's accept waits", Order.multiprocessing, (function dropAcceptWaits() {
  for (const listener of watching) listener._forgetParentWaits();
  watching.clear();
}));

/** Unix socket files to remove when this process exits (Python's
 * Finalize on the path); only the process that bound them removes them. */
const toUnlink = new Map<string, number>();
let exitHooked = false;
function unlinkAtExit(file: string): void {
  toUnlink.set(file, process.pid);
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const f of [...toUnlink.keys()]) unlinkOwned(f);
  });
}
function unlinkOwned(file: string): void {
  if (toUnlink.get(file) !== process.pid) return;
  toUnlink.delete(file);
  try {
    fs.unlinkSync(file);
  } catch {
    // removed already
  }
}

/**
 * Python's multiprocessing.connection.Listener: a bound socket listening
 * for Client()s. `new Listener()` picks a fresh AF_UNIX path;
 * `new Listener(['localhost', 0])` a free TCP port (see `address`).
 */
export class Listener {
  // The listening socket: an fd of the addon's, or without it a listener of
  // this thread's I/O thread; -1 once closed.
  #fd = -1;
  #portable = -1;
  readonly #family: Family;
  readonly #address: Address;
  readonly #authkey: Buffer | null;
  readonly #unlink: string | null;
  #lastAccepted: Address | null = null;
  // The portable backend's peer address of the connection being accepted.
  #portablePeer: Address | null = null;
  #watch: FdWatch | null = null;
  #waiters: AcceptWaiter[] = [];

  constructor(address?: Address | null, options?: ListenerOptions);
  constructor(options?: ListenerOptions);
  constructor(addressOrOptions?: Address | ListenerOptions | null, maybeOptions?: ListenerOptions) {
    const optionsOnly =
      addressOrOptions !== null &&
      typeof addressOrOptions === 'object' &&
      !Array.isArray(addressOrOptions);
    const given = optionsOnly ? null : (addressOrOptions as Address | null | undefined);
    const options = checkOptions(
      optionsOnly ? (addressOrOptions as ListenerOptions) : maybeOptions,
      ['family', 'backlog', 'authkey'],
      'Listener',
    );
    const family = checkFamily(options.family || (given ? addressType(given) : defaultFamily));
    const backlog = options.backlog ?? 1;
    if (!Number.isInteger(backlog)) throw new TypeError(`backlog must be an integer: ${backlog}`);
    this.#authkey = options.authkey == null ? null : authkeyBytes(options.authkey, 'Listener');
    const address = given || arbitraryAddress(family);
    const addon = nativeSockets(family);
    const [where, port] = nativeAddress(family, address);
    let bound: Address;
    if (addon) {
      this.#fd = addon.socketListen(family as SocketFamily, where, port, Math.max(0, backlog));
      bound = addressOf(addon.socketName(this.#fd, false));
    } else {
      const host = typeof where === 'string' ? where : (address as string);
      const made = portableListen(family, host, port, Math.max(0, backlog));
      this.#portable = made.listener;
      bound = made.address;
    }
    this.#family = family;
    // AF_INET: the bound address (the port picked for 0); AF_UNIX: the path given.
    this.#address = family === 'AF_INET' ? bound : (address as string);
    const abstract = family === 'AF_UNIX' && (address as string).startsWith('\0');
    this.#unlink = family === 'AF_UNIX' && !abstract ? (address as string) : null;
    if (this.#unlink) unlinkAtExit(this.#unlink);
  }

  /** The address Client()s connect to (Python's Listener.address). */
  get address(): Address {
    return this.#address;
  }

  get family(): Family {
    return this.#family;
  }

  /** The peer address of the last accepted connection ('' for an unbound
   * AF_UNIX client), null before the first. */
  get lastAccepted(): Address | null {
    return this.#lastAccepted;
  }

  get closed(): boolean {
    return this.#fd < 0 && this.#portable < 0;
  }

  /** The listening socket's fd (for connection.wait, poll). */
  fileno(): number {
    if (this.#fd < 0 && this.#portable < 0) throw closedListener();
    if (this.#fd < 0) {
      throw new NotSupportedError('Listener.fileno(): the portable backend has no fd to give');
    }
    return this.#fd;
  }

  /** Python's accept(): blocks until a client connects, then (with an
   * authkey) authenticates it: AuthenticationError if it fails. */
  acceptSync(): Connection {
    for (;;) {
      if (this.closed) throw closedListener();
      const fd = this.#acceptNow();
      if (fd >= 0) {
        const conn = this.#accepted(fd);
        if (this.#authkey) {
          try {
            deliverChallengeSync(conn, this.#authkey);
            answerChallengeSync(conn, this.#authkey);
          } catch (err) {
            dropOnFailure(conn, err);
          }
        }
        return conn;
      }
      native!.waitReadable(this.#fd, -1);
    }
  }

  /** An accepted fd, or -1 when none waits (the portable backend blocks
   * here instead, in its I/O thread's accept). */
  #acceptNow(): number {
    if (native) return native.socketAccept(this.#fd);
    const { fd, peer } = portableAcceptSync(this.#portable);
    this.#portablePeer = peer;
    return fd;
  }

  /** accept() on the event loop: resolves with the Connection once a
   * client connected (and authenticated). `{ signal }` cancels the wait. */
  async accept(options?: SignalOption): Promise<Connection> {
    const what = 'Listener.accept';
    const signal = checkSignal(checkOptions(options, ['signal'], what).signal, what);
    throwIfAborted(signal, what);
    if (this.closed) throw closedListener();
    const addon = native;
    let fd: number;
    if (!addon) {
      const accepted = await portableAccept(this.#portable, signal, what);
      this.#portablePeer = accepted.peer;
      fd = accepted.fd;
    } else {
      fd = addon.socketAccept(this.#fd);
    }
    if (fd < 0 && addon) {
      let waiter: AcceptWaiter | null = null;
      const accepted = new Promise<number>((resolve, reject) => {
        waiter = { resolve, reject };
        this.#waiters.push(waiter);
        this.#arm();
      });
      fd = await abortable(
        signal,
        what,
        accepted,
        () => this.#dropWaiter(waiter!),
        (late) => addon.close(late),
      );
    }
    const conn = this.#accepted(fd);
    if (this.#authkey) {
      try {
        await deliverChallenge(conn, this.#authkey);
        await answerChallenge(conn, this.#authkey);
      } catch (err) {
        dropOnFailure(conn, err);
      }
    }
    return conn;
  }

  /** Closes the socket (and removes its file); pending accept()s reject
   * with OSError. Closing twice does nothing. */
  close(): void {
    if (this.closed) return;
    const fd = this.#fd;
    const portable = this.#portable;
    this.#fd = this.#portable = -1;
    this.#watch?.close();
    this.#watch = null;
    watching.delete(this);
    const waiters = this.#waiters.splice(0);
    try {
      if (fd >= 0) native!.close(fd);
      else portableUnlisten(portable);
    } finally {
      if (this.#unlink) unlinkOwned(this.#unlink);
      for (const w of waiters) w.reject(closedListener());
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal Called in a forked child for a listener with an armed watch. */
  _forgetParentWaits(): void {
    this.#watch?.close();
    this.#watch = null;
    this.#waiters = [];
  }

  #accepted(fd: number): Connection {
    try {
      this.#lastAccepted = native
        ? addressOf(native.socketName(fd, true))
        : (this.#portablePeer ?? '');
    } catch {
      this.#lastAccepted = this.#family === 'AF_UNIX' ? '' : null; // the peer left already
    }
    return new Connection(fd);
  }

  #arm(): void {
    const addon = native!;
    if (!this.#watch) this.#watch = new addon.FdWatch(this.#fd, () => this.#onReadable());
    this.#watch.start();
    watching.add(this);
  }

  #dropWaiter(waiter: AcceptWaiter): void {
    const i = this.#waiters.indexOf(waiter);
    if (i >= 0) this.#waiters.splice(i, 1);
    if (this.#waiters.length === 0) this.#disarm();
  }

  #disarm(): void {
    this.#watch?.stop();
    watching.delete(this);
  }

  #onReadable(): void {
    const addon = native!;
    while (this.#waiters.length > 0 && this.#fd >= 0) {
      let fd: number;
      try {
        fd = addon.socketAccept(this.#fd);
      } catch (err) {
        this.#waiters.shift()!.reject(err);
        continue;
      }
      if (fd < 0) return; // another process took it: keep waiting
      this.#waiters.shift()!.resolve(fd);
    }
    this.#disarm();
  }
}

function clientArgs(
  address: Address,
  options: ClientOptions | undefined,
  what: string,
): { family: Family; authkey: Buffer | null } {
  const opts = checkOptions(options, ['family', 'authkey'], what);
  const family = checkFamily(opts.family || addressType(address));
  const authkey = opts.authkey == null ? null : authkeyBytes(opts.authkey, what);
  return { family, authkey };
}

function connect(address: Address, family: Family): Connection {
  const addon = nativeSockets(family);
  const [where, port] = nativeAddress(family, address);
  if (addon) return new Connection(addon.socketConnect(family as SocketFamily, where, port));
  const host = typeof where === 'string' ? where : (address as string);
  return new Connection(portableConnect(family, host, port));
}

/** Python's multiprocessing.connection.Client(address, family, authkey):
 * a Connection to a Listener's address; with an authkey, it answers the
 * listener's challenge and challenges it (AuthenticationError if either
 * fails). Blocks until authenticated. */
export function ClientSync(address: Address, options?: ClientOptions): Connection {
  const { family, authkey } = clientArgs(address, options, 'ClientSync');
  const conn = connect(address, family);
  if (authkey) {
    try {
      answerChallengeSync(conn, authkey);
      deliverChallengeSync(conn, authkey);
    } catch (err) {
      dropOnFailure(conn, err);
    }
  }
  return conn;
}

/** ClientSync() whose authentication waits on the event loop (the connect
 * itself is immediate for a listening address). */
export async function Client(address: Address, options?: ClientOptions): Promise<Connection> {
  const { family, authkey } = clientArgs(address, options, 'Client');
  const conn = connect(address, family);
  if (authkey) {
    try {
      await answerChallenge(conn, authkey);
      await deliverChallenge(conn, authkey);
    } catch (err) {
      dropOnFailure(conn, err);
    }
  }
  return conn;
}
