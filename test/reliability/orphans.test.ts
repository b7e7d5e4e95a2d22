// Children of a parent that was SIGKILLed while they waited on an Event:
// they must wait without burning CPU, and end when their wait times out
// (issue 14: orphans once spun in Node's foreground task loop forever).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const WAIT_S = 4;

/** utime + stime of `pid`, in clock ticks (/proc/<pid>/stat fields 14, 15). */
function cpuTicks(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null; // it ended
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] !== 'Z';
  } catch {
    return false;
  }
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('orphaned children waiting on an Event stay idle and end at their timeout', async () => {
  const parent = spawn(
    process.execPath,
    [path.join(__dirname, '..', 'fixtures', 'orphan-parent.js'), String(WAIT_S)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  parent.stdout.on('data', (d) => (out += d));
  parent.stderr.on('data', (d) => (err += d));
  let pids: number[] = [];
  try {
    const deadline = Date.now() + 30000;
    while (!/PIDS (\[.*\])/.test(out)) {
      if (Date.now() > deadline || parent.exitCode !== null) {
        throw new Error(`the parent did not start its children:\n${out}\n${err}`);
      }
      await sleep(50);
    }
    pids = JSON.parse(/PIDS (\[.*\])/.exec(out)![1]) as number[];
    const exited = new Promise((r) => parent.once('exit', r));
    parent.kill('SIGKILL');
    await exited;

    // Idle: over one second of wall time, each uses well under half a second of CPU.
    const before = pids.map(cpuTicks);
    await sleep(1000);
    const after = pids.map(cpuTicks);
    const hz = 100; // USER_HZ on Linux
    const used = pids.map((pid, i) =>
      before[i] === null || after[i] === null ? 0 : (after[i]! - before[i]!) / hz,
    );
    expect({ pids, used: used.map((s) => s < 0.5) }).toEqual({
      pids,
      used: pids.map(() => true),
    });

    // They end on their own once the wait times out.
    const end = Date.now() + (WAIT_S + 20) * 1000;
    while (pids.some(alive) && Date.now() < end) await sleep(100);
    expect(pids.filter(alive)).toEqual([]);
  } finally {
    for (const pid of [parent.pid!, ...pids]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}, 60000);
