// Every error a user of forkful can meet, one class each, exported from the
// root. Messages say what happened and what to do about it.

/** Base class of every forkful error. */
export class ForkfulError extends Error {
  constructor(message?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A system call failed; `code` is errno's name (`EBADF`, `ECHILD`, ...). */
export class OSError extends ForkfulError {
  code = 'UNKNOWN';
  errno = 0;
  syscall = '';
}

/** An argument has the right type but a value that cannot be used. */
export class ValueError extends ForkfulError {}

/** Python's RuntimeError: an operation not valid in the object's state
 * (releasing an unheld lock, starting a process twice, ...). */
export class RuntimeError extends ForkfulError {}

/** The operating system or the running backend cannot do this. */
export class NotSupportedError extends ForkfulError {}

/** Python's OverflowError: a number too large for the operation (a
 * timeout above TIMEOUT_MAX). */
export class OverflowError extends ForkfulError {}

/** A wait ran out of time. */
export class TimeoutError extends ForkfulError {}

/** A process could not be created or managed. */
export class ProcessError extends ForkfulError {}

/** fork() itself failed or was refused (non-main thread, V8 workers busy). */
export class ForkError extends ProcessError {}

/** A pool worker died (signal, crash, exit) while holding tasks. */
export class WorkerLostError extends ProcessError {
  /** The worker's exit code: negative signal number when killed. */
  exitcode: number | null = null;
}

/** The pool is closed or terminated and takes no more work. */
export class BrokenPoolError extends ProcessError {}

/** The other end of a Connection is closed: nothing more will arrive. */
export class EOFError extends ForkfulError {}

/** A value could not be serialised to cross to another process or thread. */
export class SerializationError extends ForkfulError {}

/** An encoded value is larger than the channel it must cross allows (a
 * cluster job's arguments or result over `maxJobBytes`). */
export class PayloadTooLargeError extends SerializationError {
  /** The encoded size, in bytes. */
  size = 0;
  /** The limit it exceeded, in bytes. */
  limit = 0;
}

/** The cluster's broker (Redis, through BullMQ) refused a job or failed it
 * for a reason other than the task itself. */
export class BrokerError extends ForkfulError {}

/** Queue.get on an empty queue without waiting (or after its timeout). */
export class Empty extends ForkfulError {}

/** Queue.put on a full queue without waiting (or after its timeout). */
export class Full extends ForkfulError {}

/** A coroutine Pool is full: add()/start() without waiting, or after
 * their timeout (gevent.pool.PoolFull, a queue.Full). */
export class PoolFull extends Full {}

/** A Barrier was aborted or reset while threads waited on it. */
export class BrokenBarrierError extends ForkfulError {}

/** Thrown into a greenlet that is killed without a custom exception. */
export class GreenletExit extends ForkfulError {}
