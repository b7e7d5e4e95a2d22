// Who is waiting for jobs, and cleaning up after those who stopped waiting.
// A pool (a caller) keeps a heartbeat key with a TTL in Redis and lists the
// ids of the jobs it submitted and has not received yet. When its heartbeat
// lapses (the caller died, or lost Redis for longer than its TTL), workers
// drop its jobs instead of running them, and any worker or pool that sweeps
// removes its jobs, finished or not, and its keys: nothing stays forever.
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Keys } from './connection';

/** The failure reason of a job dropped because its caller was gone. A live
 * caller that sees it (its heartbeat lapsed during a Redis outage) submits
 * the chunk again. */
export const CALLER_GONE = 'forkful: the caller of this job is gone (its heartbeat expired)';

const SCAN_COUNT = 500;
const REMOVE_BATCH = 200;

/** Heartbeat of caller `id`, valid for `ttlMs`. */
export async function beat(client: Redis, keys: Keys, id: string, ttlMs: number): Promise<void> {
  await client.multi().sadd(keys.callers, id).set(keys.alive(id), '1', 'PX', ttlMs).exec();
}

/** Caller liveness as workers see it, cached briefly: one EXISTS per caller
 * per second, not per job. */
export class LivenessCache {
  private readonly seen = new Map<string, { alive: boolean; at: number }>();
  constructor(
    private readonly client: Redis,
    private readonly keys: Keys,
    private readonly maxAgeMs = 1000,
  ) {}

  async alive(id: string): Promise<boolean> {
    const now = Date.now();
    const hit = this.seen.get(id);
    if (hit && now - hit.at < this.maxAgeMs) return hit.alive;
    const alive = (await this.client.exists(this.keys.alive(id))) === 1;
    if (this.seen.size > 10000) this.seen.clear();
    this.seen.set(id, { alive, at: now });
    return alive;
  }
}

/** Removes jobs by id (any state but active: an active one is locked by its
 * worker and is retried by a later sweep). Returns the ids still there. */
export async function removeJobs(client: Redis, queue: Queue, ids: string[]): Promise<string[]> {
  const left: string[] = [];
  for (let i = 0; i < ids.length; i += REMOVE_BATCH) {
    const batch = ids.slice(i, i + REMOVE_BATCH);
    const removed = await Promise.all(
      batch.map((id) =>
        queue.remove(id).then(
          (n) => n,
          () => 0,
        ),
      ),
    );
    batch.forEach((id, k) => {
      // 0: locked (active) or already gone; tell them apart by existence.
      if (removed[k] === 0) left.push(id);
    });
  }
  if (left.length === 0) return left;
  const exists = await Promise.all(left.map((id) => client.exists(queue.toKey(id))));
  return left.filter((_, k) => exists[k] === 1);
}

/** Removes every job of caller `id` and, when none is left (an active job
 * waits for its worker to finish), its keys. */
export async function cleanCaller(
  client: Redis,
  queue: Queue,
  keys: Keys,
  id: string,
): Promise<boolean> {
  const setKey = keys.jobs(id);
  let cursor = '0';
  let remaining = 0;
  do {
    const [next, ids] = await client.sscan(setKey, cursor, 'COUNT', SCAN_COUNT);
    cursor = next;
    if (ids.length === 0) continue;
    const left = new Set(await removeJobs(client, queue, ids));
    const gone = ids.filter((jobId) => !left.has(jobId));
    if (gone.length > 0) await client.srem(setKey, ...gone);
    remaining += left.size;
  } while (cursor !== '0');
  if (remaining > 0) return false;
  await client.multi().del(setKey).srem(keys.callers, id).exec();
  return true;
}

/** Cleans up after every caller whose heartbeat lapsed. Returns how many
 * were cleaned up entirely. */
export async function sweepDeadCallers(
  client: Redis,
  queue: Queue,
  keys: Keys,
  except?: string,
): Promise<number> {
  const ids = await client.smembers(keys.callers);
  let cleaned = 0;
  for (const id of ids) {
    if (id === except) continue;
    if ((await client.exists(keys.alive(id))) === 1) continue;
    if (await cleanCaller(client, queue, keys, id)) cleaned++;
  }
  return cleaned;
}
