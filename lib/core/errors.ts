// Every error a user of forkful can meet, one class each, exported from the
// root. Messages say what happened and what to do about it.
import './dispose';

/** Base class of every forkful error. Every class has a stable `code`
 * (`ERR_FORKFUL_...`; errno's name on OSError, Node's `ABORT_ERR` on
 * AbortError) to test instead of the message, and `cause` where another
 * error led to it. */
export class ForkfulError extends Error {
  code = 'ERR_FORKFUL';
  constructor(message?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A system call failed; `code` is errno's name (`EBADF`, `ECHILD`, ...). */
export class OSError extends ForkfulError {
  override code = 'UNKNOWN';
  errno = 0;
  syscall = '';
}

/** Python's FileExistsError: an OSError with code EEXIST (a shared memory
 * block created under a name already in use). */
export class FileExistsError extends OSError {
  override code = 'EEXIST';
}

/** Python's FileNotFoundError: an OSError with code ENOENT (a shared memory
 * block attached or unlinked by a name that does not exist). */
export class FileNotFoundError extends OSError {
  override code = 'ENOENT';
}

/** An argument has the right type but a value that cannot be used. */
export class ValueError extends ForkfulError {
  override code = 'ERR_FORKFUL_VALUE';
}

/** Python's RuntimeError: an operation not valid in the object's state
 * (releasing an unheld lock, starting a process twice, ...). */
export class RuntimeError extends ForkfulError {
  override code = 'ERR_FORKFUL_RUNTIME';
}

/** The operating system or the running backend cannot do this. */
export class NotSupportedError extends ForkfulError {
  override code = 'ERR_FORKFUL_NOT_SUPPORTED';
}

/** Python's OverflowError: a number too large for the operation (a
 * timeout above TIMEOUT_MAX). */
export class OverflowError extends ForkfulError {
  override code = 'ERR_FORKFUL_OVERFLOW';
}

/** A wait ran out of time. */
export class TimeoutError extends ForkfulError {
  override code = 'ERR_FORKFUL_TIMEOUT';
}

/** A process could not be created or managed. */
export class ProcessError extends ForkfulError {
  override code = 'ERR_FORKFUL_PROCESS';
}

/** fork() itself failed or was refused (non-main thread, V8 workers busy). */
export class ForkError extends ProcessError {
  override code = 'ERR_FORKFUL_FORK';
}

/** A pool worker died (signal, crash, exit) while holding tasks. */
export class WorkerLostError extends ProcessError {
  override code = 'ERR_FORKFUL_WORKER_LOST';
  /** The worker's exit code: negative signal number when killed. */
  exitcode: number | null = null;
}

/** The pool is closed or terminated and takes no more work. */
export class BrokenPoolError extends ProcessError {
  override code = 'ERR_FORKFUL_BROKEN_POOL';
}

/** Python's multiprocessing.AuthenticationError: the two ends of a
 * Listener/Client connection do not share the authkey (or one end does not
 * speak the challenge protocol). */
export class AuthenticationError extends ProcessError {
  override code = 'ERR_FORKFUL_AUTHENTICATION';
}

/** The other end of a Connection is closed: nothing more will arrive. */
export class EOFError extends ForkfulError {
  override code = 'ERR_FORKFUL_EOF';
}

/** A value could not be serialised to cross to another process or thread. */
export class SerializationError extends ForkfulError {
  override code = 'ERR_FORKFUL_SERIALIZATION';
}

/** An encoded value is larger than the channel it must cross allows (a
 * cluster job's arguments or result over `maxJobBytes`). */
export class PayloadTooLargeError extends SerializationError {
  override code = 'ERR_FORKFUL_PAYLOAD_TOO_LARGE';
  /** The encoded size, in bytes. */
  size = 0;
  /** The limit it exceeded, in bytes. */
  limit = 0;
}

/** The cluster's broker (Redis, through BullMQ) refused a job or failed it
 * for a reason other than the task itself. */
export class BrokerError extends ForkfulError {
  override code = 'ERR_FORKFUL_BROKER';
}

/** Queue.get on an empty queue without waiting (or after its timeout). */
export class Empty extends ForkfulError {
  override code = 'ERR_FORKFUL_EMPTY';
}

/** Queue.get: the item at the head of the queue was lost, because the
 * reader that was taking it (another process or thread) died in the middle
 * of it. The queue skips the rest of that item and goes on with the next. */
export class ItemLostError extends ForkfulError {
  override code = 'ERR_FORKFUL_ITEM_LOST';
}

/** Queue.put on a full queue without waiting (or after its timeout). */
export class Full extends ForkfulError {
  override code = 'ERR_FORKFUL_FULL';
}

/** Queue.put on a queue that was shut down, or Queue.get on one shut down
 * and empty (or shut down immediately): Python 3.13's queue.ShutDown. */
export class ShutDown extends ForkfulError {
  override code = 'ERR_FORKFUL_SHUT_DOWN';
}

/** A coroutine Pool is full: add()/start() without waiting, or after
 * their timeout (gevent.pool.PoolFull, a queue.Full). */
export class PoolFull extends Full {
  override code = 'ERR_FORKFUL_POOL_FULL';
}

/** A Barrier was aborted or reset while threads waited on it. */
export class BrokenBarrierError extends ForkfulError {
  override code = 'ERR_FORKFUL_BROKEN_BARRIER';
}

/** Thrown into a greenlet that is killed without a custom exception. */
export class GreenletExit extends ForkfulError {
  override code = 'ERR_FORKFUL_GREENLET_EXIT';
}

/** A wait was cancelled through its `{ signal }` (an AbortSignal): shaped
 * as Node's own AbortError (name 'AbortError', code 'ABORT_ERR'), with the
 * signal's reason as `cause`. */
export class AbortError extends ForkfulError {
  override code = 'ABORT_ERR';
}
