// forkful: Python's process, thread and coroutine toolkit for Node.js.
// The root exports the errors, the os functions most scripts need, and each
// module as a namespace (their class names overlap, as in Python: Pool).
export * from './core/errors';
export { fork, getpid, getppid, waitpid, cpuCount } from './os';
export * as os from './os';
export * as multiprocessing from './multiprocessing';
export * as threading from './threading';
export * as coroutine from './coroutine';

// Errors that live with their module, re-exported here so every typed error
// is importable from the root.
export { Timeout, StopIteration } from './coroutine';

// A threading.local subclass's source may name the root (forkful.threading.local).
import { provideNamespace } from './threading/local';
provideNamespace('forkful', () => module.exports as Record<string, unknown>);

// Whether the native addon (the fork backend) loaded here, and if not, why.
export { nativeStatus, type NativeStatus } from './core/native';
