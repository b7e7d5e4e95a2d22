// bullmq and ioredis are optional peer dependencies: only forkful/cluster
// needs them, and only when a Pool or Worker is created. They are loaded here,
// once, with a message that says what to install when they are missing.
import type * as BullMQ from 'bullmq';
import type IORedisDefault from 'ioredis';
import { NotSupportedError } from '../core/errors';

export type BullMQModule = typeof BullMQ;
export type IORedisConstructor = typeof IORedisDefault;

let bull: BullMQModule | null = null;
let ioredis: IORedisConstructor | null = null;

function load<T>(id: string): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(id) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    throw new NotSupportedError(
      `forkful/cluster needs the '${id}' package, which is not installed: ` +
        `run \`npm install bullmq ioredis\` in your project (they are optional peer ` +
        `dependencies of forkful, so the local API does not carry them)`,
      { cause: err },
    );
  }
}

export function bullmq(): BullMQModule {
  bull ??= load<BullMQModule>('bullmq');
  return bull;
}

export function IORedis(): IORedisConstructor {
  if (!ioredis) {
    const mod = load<IORedisConstructor & { default?: IORedisConstructor }>('ioredis');
    ioredis = mod.default ?? mod;
  }
  return ioredis;
}
