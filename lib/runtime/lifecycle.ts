// The process lifecycle as named, ordered, guarded phases, after CPython's
// multiprocessing.util (register_after_fork / _run_after_forkers, _exit_function):
//
//   afterFork        in a child of os.fork(), right after fork() returned 0
//                    (forked-child.ts): each module with per-process state
//                    (the arena's ledger, armed watches, feeders, pools,
//                    children, threads) lets go of what belongs to the parent.
//   beforeChildExit  in a Process or Pool child, after its target, before it
//                    ends (run-target.ts), and in a Thread after its target
//                    (threading/bootstrap.ts): its non-daemon Threads are
//                    joined, then Queue feeders flush what they hold.
//   atExit           when the process emits 'exit': Python's exit rules for
//                    children, then the arena's holds.
//
// A hook has a name (shown by lifecycleHooks() and FORKFUL_DEBUG=lifecycle)
// and an order (lower first; registration order among equals). A hook that
// throws is reported on stderr with its name and the others still run: one
// broken hook must not leave the rest of a forked child's state the
// parent's.
import { inspect } from 'node:util';

export type Phase = 'afterFork' | 'beforeChildExit' | 'atExit';

/** Orders used by forkful's own hooks: the layer that registers them. */
export const Order = {
  runtime: 0,
  synchronize: 10,
  transfer: 20,
  multiprocessing: 30,
  threading: 40,
} as const;

interface Hook {
  phase: Phase;
  name: string;
  order: number;
  seq: number;
  run: () => unknown;
}

const hooks: Record<Phase, Hook[]> = { afterFork: [], beforeChildExit: [], atExit: [] };
let seq = 0;
const debug = /(^|,)lifecycle(,|$)/.test(process.env.FORKFUL_DEBUG ?? '');

function add(phase: Phase, name: string, order: number, run: () => unknown): void {
  const list = hooks[phase];
  if (list.some((h) => h.name === name)) {
    throw new Error(`forkful: a ${phase} hook named ${name} is already registered`);
  }
  list.push({ phase, name, order, seq: seq++, run });
  list.sort((a, b) => a.order - b.order || a.seq - b.seq);
}

/** Runs `hook` in every future forked child, right after the fork. */
export function afterFork(name: string, order: number, hook: () => void): void {
  add('afterFork', name, order, hook);
}

/** Runs (and awaits) `hook` after a child's target, before the child ends. */
export function beforeChildExit(name: string, order: number, hook: () => Promise<unknown>): void {
  add('beforeChildExit', name, order, hook);
}

/** Runs `hook` when this process emits 'exit'. */
export function atExit(name: string, order: number, hook: () => void): void {
  if (hooks.atExit.length === 0) process.on('exit', runAtExit);
  add('atExit', name, order, hook);
}

/** The registered hooks, in the order each phase runs them. */
export function lifecycleHooks(): Array<{ phase: Phase; name: string; order: number }> {
  return (Object.keys(hooks) as Phase[]).flatMap((phase) =>
    hooks[phase].map(({ name, order }) => ({ phase, name, order })),
  );
}

// The runners run in every forked child: parenthesised (prettier-ignore), V8
// compiles them with this module, in the parent, not again in each child.

// prettier-ignore
const report = (function report(hook: Hook, err: unknown): void {
  process.stderr.write(`forkful: the ${hook.phase} hook ${hook.name} failed: ${inspect(err)}\n`);
});

// prettier-ignore
const trace = (function trace(hook: Hook): void {
  process.stderr.write(`forkful lifecycle [${process.pid}]: ${hook.phase} ${hook.name}\n`);
});

// prettier-ignore
const runEach = (function runEach(list: Hook[]): void {
  for (const hook of list) {
    if (debug) trace(hook);
    try {
      hook.run();
    } catch (err) {
      report(hook, err);
    }
  }
});

/** Runs the afterFork hooks in order; a failing one is reported and skipped. */
// prettier-ignore
export const runAfterFork = (function runAfterFork(): void {
  runEach(hooks.afterFork);
});

/** Runs the beforeChildExit hooks in order, awaiting each. */
// prettier-ignore
export const runBeforeChildExit = (async function runBeforeChildExit(): Promise<void> {
  for (const hook of hooks.beforeChildExit) {
    if (debug) trace(hook);
    try {
      await hook.run();
    } catch (err) {
      report(hook, err);
    }
  }
});

function runAtExit(): void {
  runEach(hooks.atExit);
}
