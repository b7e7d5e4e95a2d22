// parentProcess(): the process that started this one, as Python's
// _ParentProcess: its name and pid, isAlive(), and a sentinel that
// connection.wait() finds ready once the parent has ended, which join()
// waits on. With the addon the sentinel is a pidfd on the parent (any
// process can have one); without it, a token whose end this process
// learns by looking (every 50 ms while something waits on it).
import { EventEmitter } from 'node:events';
import { getppid, kill as osKill } from '../os';
import type { SignalOption } from '../core/abort';
import { closeSentinel, kEnded, sentinelOf } from './sentinel';
import { wait, waitAsync } from './wait';

const LOOK_MS = 50;

/** Emits 'exit' once the parent has ended (seen while someone listens). */
export class ParentProcess extends EventEmitter {
  static #current: ParentProcess | null = null;

  /** The one object for this process's parent (a forked child's child has
   * another parent: a new one, and the old one's sentinel is closed). */
  static of(pid: number, name: string): ParentProcess {
    const known = ParentProcess.#current;
    if (known && known.pid === pid) return known;
    if (known) closeSentinel(known);
    ParentProcess.#current = new ParentProcess(pid, name);
    return ParentProcess.#current;
  }

  readonly name: string;
  readonly pid: number;
  readonly daemon = false;
  #looking: NodeJS.Timeout | null = null;

  private constructor(pid: number, name: string) {
    super();
    this.pid = pid;
    this.name = name;
    // Without pidfds, the end is learned by looking, while someone listens.
    this.on('newListener', (event) => {
      if (event === 'exit') this.#look();
    });
  }

  get ident(): number {
    return this.pid;
  }

  /** Whether the parent still runs (this process has not been handed to
   * another parent). getppid(), not process.ppid: in a forked child on
   * Node 24 that one kept the ended parent's pid after the kernel had
   * handed the child to init. */
  isAlive(): boolean {
    try {
      osKill(this.pid, 0);
      return getppid() === this.pid;
    } catch {
      return false;
    }
  }

  /** A number connection.wait() reports ready once the parent has ended. */
  get sentinel(): number {
    return sentinelOf(this);
  }

  /** Resolves once the parent has ended, or after `timeout` seconds. */
  async join(timeout: number | null = null, options?: SignalOption): Promise<void> {
    await waitAsync([this.sentinel], timeout, options);
  }

  /** Blocks until the parent has ended, or for `timeout` seconds. */
  joinSync(timeout: number | null = null): void {
    wait([this.sentinel], timeout);
  }

  /** @internal For the sentinel. */
  [kEnded](): boolean {
    return !this.isAlive();
  }

  #look(): void {
    if (this.#looking) return;
    this.#looking = setInterval(() => {
      if (this.listenerCount('exit') === 0) {
        clearInterval(this.#looking!);
        this.#looking = null;
      } else if (!this.isAlive()) {
        clearInterval(this.#looking!);
        this.#looking = null;
        this.emit('exit');
      }
    }, LOOK_MS);
    // What waits on it (waitAsync) keeps the loop alive, not the looking.
    this.#looking.unref();
  }

  toString(): string {
    return `<_ParentProcess name='${this.name}' parent=${this.pid} ${this.isAlive() ? 'started' : 'stopped'}>`;
  }
}
