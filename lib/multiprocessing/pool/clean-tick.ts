// Workers are forked from a callback of their own: a uv_poll watch on a
// self-pipe, which runs straight from the event loop. There no reaction to a
// settled call is pending (a fork would copy it into the worker, which would
// then run the caller's continuation), and no JS loop over immediates or
// timers is under way (a forked child clears those). One self-pipe serves
// every pool of the process.
import { native } from '../../core/native';
import type { FdWatch } from '../../core/addon';
import { afterFork, Order } from '../../runtime/lifecycle';

/** What asks for a clean tick. */
export interface CleanTickClient {
  onCleanTick(): void;
}

let tick: { r: number; w: number; watch: FdWatch; clients: Set<CleanTickClient> } | null = null;

/** Calls `client.onCleanTick()` from a clean loop callback, once per request
 * (requests before it runs coalesce). */
export function requestCleanTick(client: CleanTickClient): void {
  const addon = native;
  if (!addon) {
    setImmediate(() => client.onCleanTick()); // spawn backend without the addon
    return;
  }
  if (!tick) {
    const [r, w] = addon.nbPipe();
    const t = {
      r,
      w,
      clients: new Set<CleanTickClient>(),
      watch: new addon.FdWatch(r, () => {
        const scratch = Buffer.allocUnsafe(64);
        while (addon.readInto(r, scratch, 0, scratch.length) > 0);
        const clients = [...t.clients];
        t.clients.clear();
        t.watch.unref();
        for (const c of clients) c.onCleanTick();
      }),
    };
    t.watch.start();
    t.watch.unref();
    tick = t;
  }
  if (tick.clients.size === 0) {
    addon.write(tick.w, Buffer.of(1));
    tick.watch.ref();
  }
  tick.clients.add(client);
}

// prettier-ignore
afterFork('pool: close the clean-tick self-pipe', Order.multiprocessing, (function closeCleanTick() {
  if (!tick || !native) return;
  tick.watch.close();
  native.close(tick.r);
  native.close(tick.w);
  tick = null;
}));
