// The parent's event loop learns that a child exited without blocking and
// without busy polling: a pidfd watched by libuv (Linux 5.3+). Elsewhere it
// falls back to checking with WNOHANG on a backing-off timer.
import { native } from '../core/native';

export interface ChildExitWatch {
  /** Stops watching; the callback will not run. */
  close(): void;
  /** Keeps the event loop alive until the child exits (the default). */
  ref(): void;
  /** Lets the process exit while the child still runs. */
  unref(): void;
}

/**
 * Calls `callback(status)` once, when child `pid` exits, with its raw wait
 * status (see waitstatusToExitcode). The child is reaped by this watch.
 * Throws OSError (ECHILD) when `pid` is not a child of this process;
 * `callback(null, error)` if waiting fails later.
 */
export function onChildExit(
  pid: number,
  callback: (status: number | null, error?: Error) => void,
): ChildExitWatch {
  const addon = native;
  if (!addon) throw new Error('onChildExit needs the native addon');
  // Reaps the child if it has exited; false while it runs.
  const reap = (): boolean => {
    let pair: [number, number];
    try {
      pair = addon.waitpid(pid, addon.WNOHANG);
    } catch (err) {
      callback(null, err as Error);
      return true;
    }
    if (pair[0] === 0) return false;
    callback(pair[1]);
    return true;
  };
  let pidWatch: ChildExitWatch | null = null;
  try {
    pidWatch = new addon.PidWatch(pid, () => {
      if (!reap()) fallback(); // readable but not yet waitable: rare; poll
    });
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOSYS') {
      // No such process, or not ours: waitpid says which (and throws).
      const [got, status] = addon.waitpid(pid, addon.WNOHANG);
      if (got === pid) {
        process.nextTick(callback, status);
        return { close() {}, ref() {}, unref() {} };
      }
    }
  }
  let timer: NodeJS.Timeout | null = null;
  let refed = true;
  let closed = false;
  function fallback(delay = 1): void {
    if (closed) return;
    timer = setTimeout(() => {
      timer = null;
      if (!reap()) fallback(Math.min(delay * 2, 50));
    }, delay);
    if (!refed) timer.unref();
  }
  if (!pidWatch) fallback();
  return {
    close() {
      closed = true;
      pidWatch?.close();
      if (timer) clearTimeout(timer);
    },
    ref() {
      refed = true;
      pidWatch?.ref();
      timer?.ref();
    },
    unref() {
      refed = false;
      pidWatch?.unref();
      timer?.unref();
    },
  };
}
