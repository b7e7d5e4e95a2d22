// A forkful worker's BullMQ name says how many processes it runs, so a pool
// can plan map chunks for the whole cluster from BullMQ's own worker list
// (CLIENT LIST), with no registry of its own.
import * as os from 'node:os';
import { randomBytes } from 'node:crypto';

export function workerName(processes: number): string {
  const host = os.hostname().replace(/[^A-Za-z0-9._-]/g, '_');
  return `forkful-p${processes}-${host}-${process.pid}-${randomBytes(2).toString('hex')}`;
}

/** The processes of a worker from its client name (`<prefix>:<queue>:w:<name>`). */
export function parseWorkerName(raw: string): { processes: number } | null {
  const m = /:w:forkful-p(\d+)-/.exec(raw);
  return m ? { processes: Number(m[1]) } : null;
}
