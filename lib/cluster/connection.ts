// How forkful/cluster reaches Redis: a URL or ioredis options, turned into
// the options every connection uses (forkful's own client, BullMQ's Queue,
// QueueEvents and Worker), and the names of forkful's own keys beside
// BullMQ's.
import type { Redis, RedisOptions } from 'ioredis';
import { ValueError } from '../core/errors';
import { IORedis } from './deps';

/** A Redis URL (`redis://host:port/db`, `rediss://` for TLS) or ioredis options. */
export type ConnectionSpec = string | (RedisOptions & { url?: string });

export interface Connection {
  /** Options for BullMQ (it opens its own connections from them). */
  readonly options: RedisOptions & { url?: string };
  /** host:port for messages (never the password). */
  readonly where: string;
}

// Reconnect quickly and keep trying: a restarted Redis is back within a
// second or two, and BullMQ's own default backs off to 20 s between tries.
function retryStrategy(times: number): number {
  return Math.min(100 * times, 2000);
}

export function resolveConnection(spec: ConnectionSpec): Connection {
  let options: RedisOptions & { url?: string };
  let where: string;
  if (typeof spec === 'string') {
    let url: URL;
    try {
      url = new URL(spec);
    } catch {
      throw new ValueError(`connection must be a redis:// URL or ioredis options, not '${spec}'`);
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      throw new ValueError(
        `connection URL must start with redis:// or rediss://, not ${url.protocol}`,
      );
    }
    options = { url: spec };
    where = `${url.hostname}:${url.port || 6379}`;
  } else if (spec && typeof spec === 'object') {
    if (spec.keyPrefix) {
      throw new ValueError(
        'the connection must not set keyPrefix (BullMQ refuses it): use the pool or worker ' +
          'option `prefix` instead',
      );
    }
    options = { ...spec };
    where = spec.url ? new URL(spec.url).host : `${spec.host ?? '127.0.0.1'}:${spec.port ?? 6379}`;
  } else {
    throw new TypeError('connection must be a redis:// URL or an ioredis options object');
  }
  // Commands wait for Redis to come back instead of failing after 20 retries:
  // a restart must not fail a map.
  options.maxRetriesPerRequest = null;
  options.retryStrategy ??= retryStrategy;
  return { options, where };
}

/** A new ioredis client on `conn` (forkful's own: heartbeats, sweeps). */
export function createClient(conn: Connection): Redis {
  const Ctor = IORedis();
  const { url, ...rest } = conn.options;
  return url ? new Ctor(url, rest) : new Ctor(rest);
}

export function checkQueueName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ValueError(
      'name (the BullMQ queue the pool and its workers share) must be a non-empty string',
    );
  }
  return name;
}

/** forkful's keys, under the queue's own prefix (so a Redis Cluster hash tag
 * in the prefix, `{jobs}`, keeps them in the queue's slot). */
export class Keys {
  readonly base: string;
  constructor(prefix: string, name: string) {
    this.base = `${prefix}:${name}:forkful`;
  }
  /** Set of the callers (pool ids) that submitted jobs and did not close. */
  get callers(): string {
    return `${this.base}:callers`;
  }
  /** Exists while caller `id` is alive (a heartbeat with a TTL). */
  alive(id: string): string {
    return `${this.base}:alive:${id}`;
  }
  /** Set of the job ids caller `id` submitted and has not received. */
  jobs(id: string): string {
    return `${this.base}:jobs:${id}`;
  }
}
