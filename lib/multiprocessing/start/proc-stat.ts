// A child's state as /proc/<pid>/stat shows it (Linux), without reaping
// it. Without the addon this process cannot wait for a child its spawner
// thread no longer watches (Node has no waitpid), but the kernel still
// shows whether it runs and, once it has ended (a zombie), its exit status.
import * as fs from 'node:fs';

export interface ProcStat {
  /** R, S, D, T, Z (ended, not reaped), ... */
  state: string;
  ppid: number;
  /** When it started (clock ticks since boot): tells a reused pid apart. */
  starttime: string;
  /** Its wait status once a zombie (Linux 3.5+), else NaN. */
  status: number;
}

/** The stat of `pid`, or null where there is none (gone, or no /proc). */
export function procStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // Fields after the command name (which may hold spaces and parentheses):
  // state (3), ppid (4), ... starttime (22), ... exit_code (52).
  const f = text
    .slice(text.lastIndexOf(')') + 2)
    .trim()
    .split(' ');
  return { state: f[0], ppid: Number(f[1]), starttime: f[19], status: Number(f[49] ?? NaN) };
}

/** A wait status as Process.exitcode gives it: the exit code, or minus
 * the number of the signal that ended it. */
export function exitcodeOfStatus(status: number): number {
  const signal = status & 0x7f;
  return signal === 0 ? (status >> 8) & 0xff : -signal;
}
