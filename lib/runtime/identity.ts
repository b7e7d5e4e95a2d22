// Who this process is, for multiprocessing.currentProcess(): the main
// process until a backend starts this process as a child.

/** Who a child is, as currentProcess() reports it there. */
export interface ChildIdentity {
  name: string;
  daemon: boolean;
  /** Python's _identity: (1,), (1, 2) for a grandchild... */
  identity: number[];
  /** The name of the process that starts it. */
  parentName: string;
  /** The start method that starts it (set by the backend); the child's
   * getStartMethod() reports it, as Python's child forces its context. */
  startMethod?: 'fork' | 'spawn';
  /** The child's authkey (Python's Process.authkey); default: this
   * process's own. */
  authkey?: Uint8Array;
}

export interface CurrentIdentity {
  name: string;
  daemon: boolean;
  identity: number[];
  /** The parent's pid for a child started by a backend, else null. */
  parentPid: number | null;
  /** The parent's name (Python's parent_process().name), else null. */
  parentName: string | null;
  /** The start method that started this child, else null. */
  startMethod: 'fork' | 'spawn' | null;
}

let current: CurrentIdentity = {
  name: 'MainProcess',
  daemon: false,
  identity: [],
  parentPid: null,
  parentName: null,
  startMethod: null,
};

export function currentIdentity(): CurrentIdentity {
  return current;
}

// Python's current_process().authkey: os.urandom(32) in the main process,
// inherited by every child. Made on first use (Web Crypto: node:crypto is
// not loaded for it); os.fork() makes it before forking, so that a raw fork
// shares it as a Python one does.
let authkey: Buffer | null = null;

/** This process's authkey: 32 random bytes in the main process; in a child,
 * the one its Process had. */
export function currentAuthkey(): Buffer {
  if (!authkey) authkey = Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(32)));
  return authkey;
}

/** Sets this process's authkey (Python: current_process().authkey = key);
 * Processes created afterwards inherit it. */
export function setCurrentAuthkey(key: Buffer): void {
  authkey = Buffer.from(key);
}

// Python's process._inheriting: this process is loading the module of a
// target it was sent (a spawned child's target, a Pool task's function),
// which may be the parent's main module run again.
let bootstrapping = 0;

/** Whether this process is loading the module of a target it was sent. */
export function isBootstrapping(): boolean {
  return bootstrapping > 0;
}

/** Runs `load` (which loads a sent target's module) as bootstrapping. */
export function whileBootstrapping<T>(load: () => T): T {
  bootstrapping++;
  try {
    return load();
  } finally {
    bootstrapping--;
  }
}

/** Called in a new child before its target runs. (Parenthesised: V8
 * compiles it with the module, not again in every forked child.) */
// prettier-ignore
export const becomeChild = (function becomeChild(
  identity: ChildIdentity,
  parentPid: number,
  parentName: string,
): void {
  current = {
    name: identity.name,
    daemon: identity.daemon,
    identity: [...identity.identity],
    parentPid,
    parentName,
    startMethod: identity.startMethod ?? null,
  };
  if (identity.authkey) authkey = Buffer.from(identity.authkey);
});
