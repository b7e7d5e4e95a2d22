// forkful/threading: Python's threading module on real OS threads.
import '../shareables'; // every shareable kind decodes where this is loaded
import { provideNamespace } from './local';

// A threading.local subclass's source may name this module (threading.local).
provideNamespace('threading', () => module.exports as Record<string, unknown>);

export { Thread, ThreadOptions, ExceptHookArgs } from './thread';
export {
  currentThread,
  mainThread,
  enumerate,
  activeCount,
  getIdent,
  getNativeId,
  excepthook,
  setExcepthook,
  __excepthook__,
  stackSize,
  TIMEOUT_MAX,
} from './thread';
export { idleThreads } from './isolates';
export { Timer } from './timer';
export { local } from './local';
export { Target, ModuleTarget } from './target';
export {
  Lock,
  RLock,
  Semaphore,
  BoundedSemaphore,
  Condition,
  Event,
  Barrier,
  // Shared memory for Threads (Python's threads share globals; forkful's
  // have isolates of their own): the arena's Value/Array, passed by handle.
  // With the addon the same classes as multiprocessing's; without it they
  // stay in this process's SharedArrayBuffer, where multiprocessing's go
  // through the hub (to reach other processes).
  Value,
  Array,
  SharedArray,
  RawValue,
  RawArray,
} from '../synchronize';
