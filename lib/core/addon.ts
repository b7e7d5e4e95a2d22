// The native seam, typed: one interface per native/*.cc (a section each
// below), and per concern the table of its exports, keyed by the name
// native/*.cc registers it under. lib/core/native.ts checks every table
// against the loaded binary before anything uses it, and
// test/core/native-seam.test.ts checks that each table is exactly what the
// binary says the concern registered: a C++ export renamed, added or
// removed fails there, not at run time inside a fixture. (One module, not
// one per concern: every process that loads forkful loads it.)

// ---- native/addon.cc: the module's own exports (the rest come from the
// concerns it registers, a section each below).

/** The Node line a binary was built for. */
export interface BuiltFor {
  version: string;
  abi: number;
}

export interface AddonBinding {
  builtFor: BuiltFor;
  /** Set (and nothing else registered) when the binary is for another Node. */
  abiMismatch?: string;
  /** The error classes native code constructs by name (lib/core/errors). */
  registerErrorClasses(classes: Record<string, new (message?: string) => Error>): void;
  /** Each registered concern's export names, by registration name: what the
   * tables below are checked against. */
  concerns: Record<string, string[]>;
}

export const addonExports = {
  builtFor: 'object',
  registerErrorClasses: 'function',
  concerns: 'object',
} as const satisfies Record<Exclude<keyof AddonBinding, 'abiMismatch'>, ExportKind>;

/** What `typeof` says of an export (a native class is a 'function'). */
export type ExportKind = 'function' | 'number' | 'object';

// ---- native/os.cc: Python's os process functions on the system calls.

/** Python's os.wait4 resource usage (struct_rusage): times in seconds,
 * ru_maxrss in KiB (Linux). */
export interface Rusage {
  ru_utime: number;
  ru_stime: number;
  ru_maxrss: number;
  ru_ixrss: number;
  ru_idrss: number;
  ru_isrss: number;
  ru_minflt: number;
  ru_majflt: number;
  ru_nswap: number;
  ru_inblock: number;
  ru_oublock: number;
  ru_msgsnd: number;
  ru_msgrcv: number;
  ru_nsignals: number;
  ru_nvcsw: number;
  ru_nivcsw: number;
}

export interface OsBinding {
  getpid(): number;
  getppid(): number;
  gettid(): number;
  /** [pid, status]; [0, 0] when WNOHANG finds nothing. */
  waitpid(pid: number, options: number): [number, number];
  /** [pid, status], or null while the child still runs after timeoutMs. */
  waitpidTimeout(pid: number, timeoutMs: number): [number, number] | null;
  /** [pid, status, rusage]; [0, 0, zeroed rusage] when WNOHANG finds nothing. */
  wait4(pid: number, options: number): [number, number, Rusage];
  kill(pid: number, signal: number): void;
  _exit(code: number): never;
  pipe(): [number, number];
  read(fd: number, n: number): Buffer;
  write(fd: number, data: Uint8Array): number;
  close(fd: number): void;
  WNOHANG: number;
  WUNTRACED: number;
}

export const osExports = {
  getpid: 'function',
  getppid: 'function',
  gettid: 'function',
  waitpid: 'function',
  waitpidTimeout: 'function',
  wait4: 'function',
  kill: 'function',
  _exit: 'function',
  pipe: 'function',
  read: 'function',
  write: 'function',
  close: 'function',
  WNOHANG: 'number',
  WUNTRACED: 'number',
} as const satisfies Record<keyof OsBinding, ExportKind>;

// ---- native/fork.cc: fork() of the running Node process.

/** Where the time of the last fork() went (diagnostics, benchmarks). */
export interface ForkTimings {
  parkMs: number;
  scanMs: number;
  forkMs: number;
  restoreMs: number;
  dontForkMappings: number;
  dontForkRuns: number;
  fullScan: boolean;
}

export interface ForkBinding {
  /** 0 in the child, the child's pid in the parent; -1 when V8's platform
   * workers did not all park within `parkBoundMs` (nothing was done).
   * `onIdle` runs in the child whenever its event loop has nothing left to
   * do. */
  fork(onIdle: (phase: 'beforeExit' | 'exit') => void, parkBoundMs: number): number;
  /** Why the last fork() returned -1 (V8's workers not all parked within
   * its bound): how many parked, and which threads did not, with state. */
  parkStall(): string;
  inForkedChild(): boolean;
  lastForkTimings(): ForkTimings;
  countDontForkMappings(): number;
}

export const forkExports = {
  fork: 'function',
  parkStall: 'function',
  inForkedChild: 'function',
  lastForkTimings: 'function',
  countDontForkMappings: 'function',
} as const satisfies Record<keyof ForkBinding, ExportKind>;

// ---- native/process.cc: what a forked Process child and its parent need beyond
// fork(): leaving the parent's stack, the parent-death signal, waiting
// without reaping, and calling back from a clean loop iteration.

export interface ProcessBinding {
  /** The exit code (minus the signal) once ended, null after timeoutMs
   * (< 0: forever). Does not reap. Blocks. */
  exitcodeNoReap(pid: number, timeoutMs: number): number | null;
  /** Calls `callback` from the next loop iteration, from a native frame. */
  callSoon(callback: () => void): void;
  /** Terminates the running JS; `resume` then runs from the event loop. */
  abandonStack(resume: () => void): void;
  /** True when armed; throws when the parent is already gone. */
  setParentDeathSignal(signal: number, expectedParentPid: number): boolean;
}

export const processExports = {
  exitcodeNoReap: 'function',
  callSoon: 'function',
  abandonStack: 'function',
  setParentDeathSignal: 'function',
} as const satisfies Record<keyof ProcessBinding, ExportKind>;

// ---- native/connection.cc: pipes and socketpairs, framed writes, non-blocking
// reads, and FdWatch (a uv_poll watch on an fd).

/** A uv_poll watch: `callback` runs on the event loop while the fd is
 * readable (or writable) and the watch is started. */
export interface FdWatch {
  start(): void;
  stop(): void;
  close(): void;
  ref(): void;
  unref(): void;
}

export interface ConnectionBinding {
  socketpair(): [number, number];
  /** [readFd, writeFd], non-blocking, close-on-exec. */
  nbPipe(): [number, number];
  /** Writes one length-prefixed frame; blocks until written. */
  sendFrame(fd: number, body: Uint8Array, offset?: number, size?: number): void;
  /** send()'s write: the frame is queued on this thread and written with
   * the others before the thread next waits (its event loop, or a native
   * call that blocks, forks or exits); throws a failure a queued write met. */
  queueFrame(fd: number, body: Uint8Array, offset: number, size: number): void;
  /** Writes fd's queued frames now; `closing` also forgets the fd. */
  flushFrames(fd: number, closing?: boolean): void;
  /** Writes every frame queued on this thread (errors kept for each fd). */
  flushQueuedFrames(): void;
  /** Bytes read; 0 at end of file; -1 when nothing is there now (on a
   * non-blocking fd: Pipe()'s sockets are read with recvFdsInto). */
  readInto(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  /** The bytes waiting in a pipe (FIONREAD). */
  pipeBytes(fd: number): number;
  /** True when readable (or at end of file) within timeoutMs (< 0: forever). */
  waitReadable(fd: number, timeoutMs: number): boolean;
  /** Bytes written (maybe fewer); -1 when the pipe is full. `socket`: fd
   * is a socket, maybe in blocking mode (written with MSG_DONTWAIT). */
  writeSome(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    socket?: boolean,
  ): number;
  setBlocking(fd: number, blocking: boolean): void;
  /** A pipe's buffer size in bytes (Linux), or -1 where it is unknown. */
  pipeCapacity(fd: number): number;
  setCloexec(fd: number, on: boolean): void;
  dupFd(fd: number): number;
  /** Writes `bytes` (`framed`: behind Connection's length header) with
   * `fds` attached (1 to 253; SCM_RIGHTS), after the frames send() queued;
   * blocks until written. */
  sendFds(fd: number, bytes: Uint8Array, fds: number[], framed: boolean): void;
  /** readInto() on a Unix socket that also takes the fds sent with the
   * bytes (pushed onto `fds`, close-on-exec). `block`: waits for bytes if
   * the socket is in blocking mode (-1 at once if it is not). */
  recvFdsInto(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    fds: number[],
    block?: boolean,
  ): number;
  /** Whether fd is a Unix socket, the one kind that carries fds. */
  isUnixSocket(fd: number): boolean;
  FdWatch: new (fd: number, callback: () => void, writable?: boolean) => FdWatch;
}

export const connectionExports = {
  socketpair: 'function',
  nbPipe: 'function',
  sendFrame: 'function',
  queueFrame: 'function',
  flushFrames: 'function',
  flushQueuedFrames: 'function',
  readInto: 'function',
  pipeBytes: 'function',
  waitReadable: 'function',
  writeSome: 'function',
  setBlocking: 'function',
  pipeCapacity: 'function',
  setCloexec: 'function',
  dupFd: 'function',
  sendFds: 'function',
  recvFdsInto: 'function',
  isUnixSocket: 'function',
  FdWatch: 'function',
} as const satisfies Record<keyof ConnectionBinding, ExportKind>;

// ---- native/child_watch.cc: a pidfd watched by libuv, and a bare pidfd.

export interface PidWatch {
  close(): void;
  ref(): void;
  unref(): void;
}

export interface ChildWatchBinding {
  /** `callback` runs once, when the child exits (ENOSYS without pidfds). */
  PidWatch: new (pid: number, callback: () => void) => PidWatch;
  /** A close-on-exec pidfd, readable once `pid` has ended (Process.sentinel).
   * OSError ENOSYS without pidfds, ESRCH when no such process exists. */
  pidfdOpen(pid: number): number;
}

export const childWatchExports = {
  PidWatch: 'function',
  pidfdOpen: 'function',
} as const satisfies Record<keyof ChildWatchBinding, ExportKind>;

// ---- native/wait.cc: one poll(2) over many fds (connection.wait).

export interface WaitBinding {
  /** The indexes of the ready fds (readable, end of file, error or hang-up);
   * [] after timeoutMs (< 0: no limit). Blocks. OSError EBADF for an fd
   * that is not open. */
  pollReadable(fds: number[], timeoutMs: number): number[];
}

export const waitExports = {
  pollReadable: 'function',
} as const satisfies Record<keyof WaitBinding, ExportKind>;

// ---- native/sync.cc: the slow paths of the shared locks (futexes on arena
// words). Offsets are byte offsets into the arena; timeouts are seconds,
// -1 for no limit (lib/core/timeout's FOREVER).

/** 0 timed out, 1 acquired, 2 acquired from an owner that died. */
export type LockResult = 0 | 1 | 2;

export interface SyncBinding {
  syncLockAcquire(offset: number, timeout: number, ownerTid: number): LockResult;
  /** `ticket` (0: none) names the wait to syncCancelWait. */
  syncLockAcquireAsync(
    offset: number,
    timeout: number,
    ownerTid: number,
    ticket?: number,
  ): Promise<LockResult>;
  /** Never waits: 1 taken (it was free), 2 taken from a holder that died,
   * 0 while a live thread (the caller included) holds it. */
  syncLockTryAcquireOrRecover(offset: number, ownerTid: number): LockResult;
  /** 0 timed out, else acquired. */
  syncSemAcquire(offset: number, timeout: number): number;
  syncSemAcquireAsync(offset: number, timeout: number, ticket?: number): Promise<number>;
  /** 1 woken or changed, 0 timed out. */
  syncFutexWait(offset: number, expected: number, timeout: number): number;
  syncFutexWaitAsync(offset: number, expected: number, timeout: number): Promise<number>;
  /** count < 0 wakes every sleeper. */
  syncFutexWake(offset: number, count: number): void;
  syncForkChild(): void;
  /** Ends async wait `ticket` of this thread (its Promise settles with 0)
   * and gives back what it took (a lock taken for it but not yet reported
   * to JavaScript), before returning; false when its Promise has settled. */
  syncCancelWait(ticket: number): boolean;
  /** How pending async waits are served: on a few shared waiter threads
   * (futex_waitv, Linux 5.16+) or on a thread each (the fallback). */
  syncAsyncWaits(): AsyncWaitsInfo;
}

export interface AsyncWaitsInfo {
  mode: 'futex_waitv' | 'threads';
  /** Shared waiter threads started so far (each sleeps on up to 127 words). */
  waiterThreads: number;
  /** Async waits pending on them. */
  pendingWaits: number;
  /** Words those threads sleep on (a lock or semaphore word once; a
   * condition's or event's word once per waiting thread). */
  slots: number;
}

export const syncExports = {
  syncLockAcquire: 'function',
  syncLockAcquireAsync: 'function',
  syncLockTryAcquireOrRecover: 'function',
  syncSemAcquire: 'function',
  syncSemAcquireAsync: 'function',
  syncFutexWait: 'function',
  syncFutexWaitAsync: 'function',
  syncFutexWake: 'function',
  syncForkChild: 'function',
  syncAsyncWaits: 'function',
  syncCancelWait: 'function',
} as const satisfies Record<keyof SyncBinding, ExportKind>;

// ---- native/arena.cc: the MAP_SHARED memfd arena that shared objects live in.

export interface ArenaInfo {
  id: string;
  size: number;
  bump: number;
  live: number;
  /** /proc/<pid>/fd/<fd>: how a spawned child opens it. */
  path: string;
}

export interface ArenaBinding {
  /** Creates the arena once. */
  arenaInit(): ArenaInfo;
  /** null before the arena exists. */
  arenaInfo(): ArenaInfo | null;
  arenaAttach(path: string, id: string): ArenaInfo;
  arenaBuffer(): SharedArrayBuffer;
  /** [offset, generation] of a new zeroed block. */
  arenaAlloc(kind: number, bytes: number): [number, number];
  /** False when the block was freed (or reused) meanwhile. */
  arenaAdopt(offset: number, gen: number, kind: number): boolean;
  arenaRelease(offset: number): void;
  /** In a forked child: the offsets freed by the parent around the fork. */
  arenaForkChild(): number[];
  arenaReleaseAll(): void;
  arenaSweep(force?: boolean): void;
  /** A weak watch on an object (a phantom weak handle): its cell id. */
  arenaWatch(owner: object): number;
  arenaUnwatch(cell: number): void;
  /** After a full garbage collection now: the cells whose object is gone. */
  arenaCollected(): number[];
}

export const arenaExports = {
  arenaInit: 'function',
  arenaInfo: 'function',
  arenaAttach: 'function',
  arenaBuffer: 'function',
  arenaAlloc: 'function',
  arenaAdopt: 'function',
  arenaRelease: 'function',
  arenaForkChild: 'function',
  arenaReleaseAll: 'function',
  arenaSweep: 'function',
  arenaWatch: 'function',
  arenaUnwatch: 'function',
  arenaCollected: 'function',
} as const satisfies Record<keyof ArenaBinding, ExportKind>;

// ---- native/threads.cc: the other JS threads of this process.

export interface ThreadsBinding {
  /** Worker threads (forkful Threads or any Worker that loaded forkful)
   * running besides the calling one. */
  otherJsThreads(): number;
}

export const threadsExports = {
  otherJsThreads: 'function',
} as const satisfies Record<keyof ThreadsBinding, ExportKind>;

// ---- native/node_internals.cc: the addon's side of lib/core/node-internals.ts.

export interface NodeInternalsReport {
  builtFor: { version: string; major: number; abi: number };
  /** How Node's timer handle was found. */
  timerHandle: 'symbol' | 'first-timer' | 'missing';
}

export interface NodeInternalsBinding {
  nodeInternals(): NodeInternalsReport;
  /** The process object of Node's main context (jest runs code on a copy). */
  nodeProcess(): NodeJS.Process;
  /** Hands `error` to Node's uncaught-exception path. */
  fatalException(error: Error): void;
}

export const nodeInternalsExports = {
  nodeInternals: 'function',
  nodeProcess: 'function',
  fatalException: 'function',
} as const satisfies Record<keyof NodeInternalsBinding, ExportKind>;

// ---- native/child_workers.cc: V8's background work in a forked child.

export interface ChildWorkersReport {
  /** This process runs V8's worker tasks on threads of its own (a forked child). */
  ownPool: boolean;
  threads: number;
  maxThreads: number;
  tasksRun: number;
  adoptedTasks: number;
  /** Why a child could not have its own pool (Node's platform was not as expected). */
  unavailable?: string;
}

export interface ChildWorkersBinding {
  childWorkers(): ChildWorkersReport;
}

export const childWorkersExports = {
  childWorkers: 'function',
} as const satisfies Record<keyof ChildWorkersBinding, ExportKind>;

// ---- native/recv_slabs.cc: the memory received messages are read into.

export interface RecvSlabsBinding {
  /** Memory for received messages: at least `size` bytes (a multiple of
   * 2 MiB) in a mapping of its own that asks for huge pages, recycled
   * through a process-wide pool once V8 frees it (native/recv_slabs.cc);
   * undefined where the embedder keeps ArrayBuffers in a V8 sandbox. */
  recvSlab(size: number): ArrayBuffer | undefined;
  /** Detaches an ArrayBuffer of recvSlab's that its owner never uses
   * again: its memory goes back to the pool at once. */
  releaseSlab(arrayBuffer: ArrayBuffer): void;
  /** The recvSlab pool's counts: slabs mapped fresh, reused from the pool,
   * given back to it, unmapped by it; the bytes and slabs waiting in it. */
  recvSlabStats(): {
    mapped: number;
    reused: number;
    pooled: number;
    unmapped: number;
    poolBytes: number;
    poolSlabs: number;
  };
}

export const recvSlabsExports = {
  recvSlab: 'function',
  releaseSlab: 'function',
  recvSlabStats: 'function',
} as const satisfies Record<keyof RecvSlabsBinding, ExportKind>;

// ---- native/shm.cc: Python's multiprocessing.shared_memory (POSIX shm_open).

export interface ShmBinding {
  /** A SharedArrayBuffer over the whole shared memory object `name` (with
   * its leading '/'): created (O_EXCL, `size` bytes) or opened. The mapping
   * is unmapped when the last view over it is collected. */
  shmOpen(name: string, create: boolean, size: number): SharedArrayBuffer;
  /** shm_unlink(name). */
  shmUnlink(name: string): void;
}

export const shmExports = {
  shmOpen: 'function',
  shmUnlink: 'function',
} as const satisfies Record<keyof ShmBinding, ExportKind>;

// ---- native/socket.cc: Listener's and Client's sockets (AF_UNIX, AF_INET).

/** A Unix address: the path's bytes (a leading NUL: Linux's abstract
 * namespace); an AF_INET one: [host, port]. */
export type SocketName = Buffer | [string, number];

export interface SocketBinding {
  /** A bound, listening, non-blocking socket's fd. `address`: the Unix
   * path's bytes, or the AF_INET host ('' = any) with `port`. */
  socketListen(
    family: 'AF_UNIX' | 'AF_INET',
    address: Buffer | string,
    port: number,
    backlog: number,
  ): number;
  /** An accepted socket's fd (non-blocking, close-on-exec); -1 when none waits. */
  socketAccept(fd: number): number;
  /** A connected socket's fd (non-blocking, close-on-exec). Blocks. */
  socketConnect(family: 'AF_UNIX' | 'AF_INET', address: Buffer | string, port: number): number;
  /** The socket's own address, or with `peer` its peer's. */
  socketName(fd: number, peer: boolean): SocketName;
}

export const socketExports = {
  socketListen: 'function',
  socketAccept: 'function',
  socketConnect: 'function',
  socketName: 'function',
} as const satisfies Record<keyof SocketBinding, ExportKind>;

// ---- all of them ----------------------------------------------------------

/** The addon's exports: every concern's. */
export type NativeAddon = AddonBinding &
  ArenaBinding &
  ChildWatchBinding &
  ChildWorkersBinding &
  ConnectionBinding &
  ForkBinding &
  NodeInternalsBinding &
  OsBinding &
  ProcessBinding &
  RecvSlabsBinding &
  ShmBinding &
  SocketBinding &
  SyncBinding &
  ThreadsBinding &
  WaitBinding;

/** Each concern's exports, by its registration name in native/*.cc. */
export const concernExports: Record<string, Readonly<Record<string, ExportKind>>> = {
  arena: arenaExports,
  child_watch: childWatchExports,
  child_workers: childWorkersExports,
  connection: connectionExports,
  fork: forkExports,
  node_internals: nodeInternalsExports,
  os: osExports,
  process: processExports,
  recv_slabs: recvSlabsExports,
  shm: shmExports,
  socket: socketExports,
  sync: syncExports,
  threads: threadsExports,
  wait: waitExports,
};

/** addon.cc's own exports (not a registered concern). */
export const moduleExports: Readonly<Record<string, ExportKind>> = addonExports;

/** What is wrong with `addon` against the tables ('' when nothing): a
 * missing export, or one of another kind. */
export function checkExports(addon: Record<string, unknown>): string {
  const problems: string[] = [];
  for (const [concern, table] of [
    ['addon', moduleExports] as const,
    ...Object.entries(concernExports),
  ]) {
    for (const [name, kind] of Object.entries(table)) {
      const actual = typeof addon[name];
      if (actual !== kind) problems.push(`${concern}.${name} is ${actual}, not ${kind}`);
    }
  }
  return problems.join('; ');
}
