// Python's start methods: getStartMethod, setStartMethod, getAllStartMethods,
// and the backend behind each. The default is 'fork' where the native addon
// loads (Linux, macOS) and 'spawn' elsewhere (Windows);
// FORKFUL_START_METHOD=fork|spawn overrides it.
import { checkOptions } from '../core/options';
import { forkBackend } from './start/fork';
import { spawnBackend } from './start/spawn';
import type { Backend, StartMethod } from './start/types';
import { NotSupportedError, RuntimeError, ValueError } from '../core/errors';
import { debug } from '../core/debug';
import { native } from '../core/native';
import { currentIdentity, type CurrentIdentity } from '../runtime/identity';

export type { StartMethod } from './start/types';

let chosen: StartMethod | null = null;
// The process identity `chosen` belongs to: a child (forked with its
// parent's value, or spawned) starts from the method that started it, as
// Python's child forces its context (BaseProcess._bootstrap).
let chosenFor: CurrentIdentity | null = null;

function ownChoice(): void {
  const me = currentIdentity();
  if (chosenFor === me) return;
  chosenFor = me;
  if (me.startMethod !== null) chosen = me.startMethod;
}

function checkMethod(method: unknown, where: string): StartMethod {
  if (method === 'fork' || method === 'spawn') return method;
  throw new ValueError(
    `${where}: cannot find context for ${String(method)} (use 'fork' or 'spawn')`,
  );
}

/** The start methods this platform supports, the default first. */
export function getAllStartMethods(): StartMethod[] {
  return native && process.platform !== 'win32' ? ['fork', 'spawn'] : ['spawn'];
}

function defaultMethod(): StartMethod {
  const env = process.env.FORKFUL_START_METHOD;
  if (env) {
    const method = checkMethod(env, 'FORKFUL_START_METHOD');
    debug('start method: %s (FORKFUL_START_METHOD)', method);
    return method;
  }
  const method = getAllStartMethods()[0];
  debug(
    'start method: %s (%s)',
    method,
    method === 'fork' ? 'the native addon loaded' : native ? 'no fork() here' : 'no native addon',
  );
  return method;
}

/** The start method in use (fixing the default on first call, as Python). */
export function getStartMethod(allowNone = false): StartMethod | null {
  ownChoice();
  if (chosen === null) {
    if (allowNone) return null;
    chosen = defaultMethod();
  }
  return chosen;
}

/** Sets the start method once; `force` sets it again. */
export function setStartMethod(
  method: StartMethod | null,
  options: { force?: boolean } = {},
): void {
  checkOptions(options, ['force'], 'setStartMethod');
  ownChoice();
  if (chosen !== null && !options.force) {
    throw new RuntimeError(
      `the start method is already set to '${chosen}' (pass { force: true } to change it)`,
    );
  }
  if (method === null && options.force) {
    chosen = null;
    return;
  }
  chosen = checkMethod(method, 'setStartMethod');
  debug('start method: %s (setStartMethod)', chosen);
}

/** The backend that starts children with `method`. */
export function backendFor(method: StartMethod): Backend {
  if (method === 'fork') {
    if (!getAllStartMethods().includes('fork')) {
      throw new NotSupportedError(
        `the 'fork' start method is not available here ${
          process.platform === 'win32'
            ? '(Windows has no fork())'
            : '(the native addon did not load)'
        }: use setStartMethod('spawn')`,
      );
    }
    return forkBackend;
  }
  return spawnBackend;
}
