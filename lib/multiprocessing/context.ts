// Python's getContext(method): an object with the multiprocessing API whose
// Process uses that start method, whatever the global one is.
import type { StartMethod } from './start/types';
import { Pipe } from './connection';
import { Process, activeChildren, cpuCount, currentProcess, parentProcess } from './process';
import * as queues from './queue/queues';
import { PortableJoinableQueue, PortableQueue, PortableSimpleQueue } from './portable/queue';
import { pick } from './pick';
import { ValueError } from '../core/errors';
import { backendFor, getAllStartMethods, getStartMethod } from './start-method';
import { setExecutable } from './start/spawn';

export interface Context {
  /** Process bound to this context's start method. */
  Process: typeof Process;
  Pipe: typeof Pipe;
  Queue: typeof queues.Queue;
  JoinableQueue: typeof queues.JoinableQueue;
  SimpleQueue: typeof queues.SimpleQueue;
  currentProcess: typeof currentProcess;
  parentProcess: typeof parentProcess;
  activeChildren: typeof activeChildren;
  cpuCount: typeof cpuCount;
  getStartMethod(): StartMethod;
  getAllStartMethods: typeof getAllStartMethods;
  /** multiprocessing.setExecutable (one setting for every context, as
   * Python's). */
  setExecutable: typeof setExecutable;
  /** This context (no method), or the context of `method`. */
  getContext(method?: StartMethod | null): Context;
  /** Always a ValueError: a context's start method is fixed (Python's
   * concrete contexts). */
  setStartMethod(method: StartMethod | null, options?: { force?: boolean }): never;
}

// A context's queues are the ones multiprocessing exports (the hub's
// without the addon), whichever its start method.
const Queue = pick(queues.Queue, PortableQueue);
const JoinableQueue = pick(queues.JoinableQueue, PortableJoinableQueue);
const SimpleQueue = pick(queues.SimpleQueue, PortableSimpleQueue);

const contexts = new Map<StartMethod, Context>();

function makeContext(method: StartMethod): Context {
  backendFor(method); // NotSupportedError now if the method is unavailable here
  class ContextProcess extends Process {
    protected override _startMethod: StartMethod | null = method;
  }
  Object.defineProperty(ContextProcess, 'name', { value: 'Process' });
  const ctx: Context = {
    Process: ContextProcess,
    Pipe,
    Queue,
    JoinableQueue,
    SimpleQueue,
    currentProcess,
    parentProcess,
    activeChildren,
    cpuCount,
    getStartMethod: () => method,
    getAllStartMethods,
    setExecutable,
    getContext: (other) => (other === undefined || other === null ? ctx : getContext(other)),
    setStartMethod: () => {
      throw new ValueError(
        `cannot set the start method of the '${method}' context (use multiprocessing.setStartMethod)`,
      );
    },
  };
  return ctx;
}

/** A context for `method` ('fork' | 'spawn'); the current start method's
 * when omitted. */
export function getContext(method?: StartMethod | null): Context {
  const m = method ?? (getStartMethod() as StartMethod);
  if (m !== 'fork' && m !== 'spawn') {
    throw new ValueError(`cannot find context for ${String(m)} (use 'fork' or 'spawn')`);
  }
  let ctx = contexts.get(m);
  if (!ctx) {
    ctx = makeContext(m);
    contexts.set(m, ctx);
  }
  return ctx;
}
