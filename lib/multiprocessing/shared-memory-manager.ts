// Python's multiprocessing.managers.SharedMemoryManager, without the server
// process: Python's starts a manager process that creates the blocks and
// unlinks them all at shutdown(); forkful's creates them in this process,
// remembers their names, and unlinks them at shutdown(), at dispose, or
// when this process exits (as Python's finalizer shuts its manager down).
// The blocks themselves are ordinary: any process attaches by name.
import { FileNotFoundError, ValueError } from '../core/errors';
import { afterFork, atExit, Order } from '../runtime/lifecycle';
import { ShareableList, type ShareableItem } from './shareable-list';
import { SharedMemory } from './shared-memory';

type State = 'initial' | 'started' | 'shutdown';

// The managers of this process that are started, for the exit hook.
const started = new Set<SharedMemoryManager>();

/** Python's SharedMemoryManager: start(), SharedMemory(size),
 * ShareableList(sequence), shutdown() (unlinks every block it made). */
export class SharedMemoryManager {
  #state: State = 'initial';
  #blocks: SharedMemory[] = [];

  /** Starts the manager (Python starts its server process here). */
  start(): this {
    if (this.#state === 'started')
      throw new ValueError('the SharedMemoryManager has already started');
    if (this.#state === 'shutdown') throw new ValueError('the SharedMemoryManager has shut down');
    this.#state = 'started';
    started.add(this);
    return this;
  }

  #check(): void {
    if (this.#state !== 'started') {
      throw new ValueError(
        this.#state === 'initial'
          ? 'the SharedMemoryManager has not been started: call start() first'
          : 'the SharedMemoryManager has shut down',
      );
    }
  }

  /** A new block of `size` bytes, unlinked at shutdown(). */
  SharedMemory(size: number): SharedMemory {
    this.#check();
    const shm = new SharedMemory(null, true, size, { track: false });
    this.#blocks.push(shm);
    return shm;
  }

  /** A new ShareableList holding `sequence`, its block unlinked at shutdown(). */
  ShareableList(sequence?: Iterable<ShareableItem> | null): ShareableList {
    this.#check();
    const list = new ShareableList(sequence ?? []);
    // Its block is the manager's now, not the resource tracker's.
    this.#blocks.push(list.shm);
    return list;
  }

  /** The names of the blocks it made and has not unlinked yet. */
  get blocks(): string[] {
    return this.#blocks.map((shm) => shm.name);
  }

  /** Unlinks every block the manager made (one already unlinked elsewhere
   * is skipped). Idempotent. */
  shutdown(): void {
    if (this.#state !== 'started') {
      this.#state = 'shutdown';
      return;
    }
    this.#state = 'shutdown';
    started.delete(this);
    const blocks = this.#blocks;
    this.#blocks = [];
    for (const shm of blocks) {
      try {
        shm.unlink();
      } catch (err) {
        if (!(err instanceof FileNotFoundError)) throw err;
      }
      shm.close();
    }
  }

  [Symbol.dispose](): void {
    this.shutdown();
  }
}

atExit(
  'shared memory: shut down the started SharedMemoryManagers',
  Order.multiprocessing + 4,
  () => {
    for (const manager of [...started]) manager.shutdown();
  },
);

// Parenthesised: compiled with this module, not in each child.
// prettier-ignore
afterFork("shared memory: the parent's managers stay the parent's", Order.multiprocessing, (function forgetManagers() {
  started.clear();
}));
