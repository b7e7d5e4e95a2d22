// A receive's system calls, counted as the addon's calls it makes:
// waitReadable is a poll(2); readInto (a pipe) and recvFdsInto (a Unix
// socket) are each one read.
import { native } from '../../lib/core/native';

type Counted = 'waitReadable' | 'readInto' | 'recvFdsInto';

/** Runs `fn` and counts the polls and reads it made. */
export function receiveCalls<T>(fn: () => T): { value: T; polls: number; reads: number } {
  const addon = native as unknown as Record<Counted, (...a: unknown[]) => unknown>;
  const saved = {
    waitReadable: addon.waitReadable,
    readInto: addon.readInto,
    recvFdsInto: addon.recvFdsInto,
  };
  const calls = { polls: 0, reads: 0 };
  addon.waitReadable = (...a) => (calls.polls++, saved.waitReadable(...a));
  addon.readInto = (...a) => (calls.reads++, saved.readInto(...a));
  addon.recvFdsInto = (...a) => (calls.reads++, saved.recvFdsInto(...a));
  try {
    return { value: fn(), ...calls };
  } finally {
    Object.assign(addon, saved);
  }
}
