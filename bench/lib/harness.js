'use strict';
// Runs one measurement in its own process, bounded in time. A measurement
// prints one line `RESULT {json}` (json.value is the sample) or `SKIP reason`.
// On timeout the whole process group is killed, forked children included.
const { execFileSync, spawn } = require('node:child_process');
const path = require('node:path');

const BENCH = path.resolve(__dirname, '..');

// scripts/build-dev.sh rebuilds build/ and dist/ under an exclusive flock on
// this file. Each sample first waits until no rebuild runs (a shared lock
// taken and dropped at once), so it never starts while the addon is missing;
// it does not hold the lock, so a hung sample never blocks anyone's build.
const BUILD_LOCK = '/tmp/forkful-build.lock';
function waitForBuilds() {
  try {
    execFileSync('flock', ['-s', '-w', '600', BUILD_LOCK, 'true'], { stdio: 'ignore' });
  } catch {
    /* no flock (or no lock file yet): nothing to wait for */
  }
}

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
      waitForBuilds();
      child = spawn(cmd, args, {
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
        resolve({ error: `timed out after ${timeoutMs / 1000} s`, timedOut: true, stderr: err });
      } else if (skip) {
        resolve({ skip: skip.slice(5).trim() });
      } else if (result && code === 0) {
        try {
          resolve({ result: JSON.parse(result.slice(7)) });
        } catch {
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
