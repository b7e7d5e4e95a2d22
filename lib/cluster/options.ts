// The options a cluster Pool and a cluster Worker read alike: the options
// object itself (an unknown name is a TypeError, as everywhere in forkful),
// where their queue lives, and the checks of their numbers.
import { ValueError } from '../core/errors';
import { checkOptions } from '../core/options';
import {
  checkQueueName,
  Keys,
  resolveConnection,
  type Connection,
  type ConnectionSpec,
} from './connection';

export interface QueueOptions {
  /** A Redis URL (`redis://host:6379`) or ioredis options. */
  connection: ConnectionSpec;
  /** The BullMQ queue the pools and their workers share. */
  name: string;
  /** BullMQ's key prefix (default `bull`): the same for pools and workers. */
  prefix?: string;
}

/** Where a queue lives, read from its options. */
export interface QueuePlace {
  name: string;
  conn: Connection;
  prefix: string;
  keys: Keys;
}

/** Checks a constructor's options object (`known`: every name it takes,
 * besides connection, name and prefix) and reads where its queue lives.
 * `what` names the class ('cluster.Pool'). */
export function readQueueOptions(
  options: QueueOptions,
  known: readonly string[],
  what: string,
): QueuePlace {
  if (!options || typeof options !== 'object') {
    throw new TypeError(`new ${what}({ connection, name }) needs an options object`);
  }
  checkOptions(options, ['connection', 'name', 'prefix', ...known], `new ${what}`);
  const name = checkQueueName(options.name);
  const prefix = options.prefix ?? 'bull';
  return {
    name,
    conn: resolveConnection(options.connection),
    prefix,
    keys: new Keys(prefix, name),
  };
}

export function positiveInt(value: unknown, what: string): number {
  if (!Number.isInteger(value) || (value as number) < 1) {
    throw new ValueError(`${what} must be a positive integer, not ${String(value)}`);
  }
  return value as number;
}

/** A number of seconds, at least `min` (default: any positive number). */
export function seconds(value: unknown, what: string, min = 0): number {
  if (typeof value !== 'number' || !(min > 0 ? value >= min : value > 0)) {
    const floor = min > 0 ? `>= ${min}` : 'positive';
    throw new ValueError(`${what} must be a ${floor} number of seconds, not ${String(value)}`);
  }
  return value;
}
