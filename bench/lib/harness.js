'use strict';
// Runs one measurement in its own process, bounded in time. A measurement
// prints one line `RESULT {json}` (json.value is the sample) or `SKIP reason`.
// On timeout the whole process group is killed, forked children included.
const { spawn } = require('node:child_process');
const path = require('node:path');

const BENCH = path.resolve(__dirname, '..');

// scripts/build-dev.sh rebuilds build/ and dist/ under an exclusive flock on
// this file. A measurement holds it shared, so no rebuild removes the addon
// under a running measurement (nor competes with it for the CPU).
const BUILD_LOCK = '/tmp/forkful-build.lock';
const hasFlock = (() => {
  try {
    require('node:child_process').execFileSync('flock', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// The sample running now: killed with its group if the bench is interrupted.
const running = new Set();
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    for (const pid of running) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    process.exit(130);
  });
}

function runMeasurement(cmd, args, { timeoutMs = 60000, env, cwd = BENCH } = {}) {
  return new Promise((resolve) => {
    let out = '';
    let err = '';
    let timedOut = false;
    let child;
    try {
      const [prog, argv] = hasFlock ? ['flock', ['-s', BUILD_LOCK, cmd, ...args]] : [cmd, args];
      child = spawn(prog, argv, {
        cwd,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // own process group: killed as a whole on timeout
      });
    } catch (e) {
      resolve({ error: `cannot start ${cmd}: ${e.message}` });
      return;
    }
    const killGroup = (sig) => {
      try {
        process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    if (child.pid) running.add(child.pid);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ error: `cannot start ${cmd}: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      killGroup('SIGKILL'); // leftovers of a measurement never outlive it
      running.delete(child.pid);
      const lines = out.split('\n');
      const skip = lines.find((l) => l.startsWith('SKIP '));
      const result = lines.reverse().find((l) => l.startsWith('RESULT '));
      if (timedOut) {
        resolve({ error: `timed out after ${timeoutMs / 1000} s`, stderr: err });
      } else if (skip) {
        resolve({ skip: skip.slice(5).trim() });
      } else if (result && code === 0) {
        try {
          resolve({ result: JSON.parse(result.slice(7)) });
        } catch (e) {
          resolve({ error: `bad RESULT line: ${result}` });
        }
      } else {
        const why = signal ? `killed by ${signal}` : `exit code ${code}`;
        const tail = err.trim().split('\n').slice(-3).join(' | ');
        resolve({ error: `${why}${tail ? `: ${tail}` : ''}`, stderr: err });
      }
    });
  });
}

module.exports = { runMeasurement, BENCH };
