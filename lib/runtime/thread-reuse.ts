// Whether a finished Thread's isolate may run the next Thread
// (threading/isolates.ts). A layer whose state is tied to the thread's
// identity registers a check here: a lock the ended thread still holds is
// taken over by the next acquirer only once its holder has ended, and the
// next Thread in the same isolate would have the same identity (its tid,
// its I/O thread), so that isolate must end instead.

type ReuseCheck = () => string | null;

const checks: ReuseCheck[] = [];

/** Registers `check`: it returns why this thread's isolate must end with
 * it (say, 'it holds a Lock'), or null. */
export function checkBeforeIsolateReuse(check: ReuseCheck): void {
  checks.push(check);
}

/** Why the finished thread's isolate cannot run another thread, or null. */
export function whyIsolateCannotBeReused(): string | null {
  for (const check of checks) {
    const why = check();
    if (why !== null) return why;
  }
  return null;
}
