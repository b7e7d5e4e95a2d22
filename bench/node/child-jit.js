'use strict';
// Figure 6: code first run hot in a child, against the same code first run
// hot in its parent. The parent compiles and runs a fresh copy of the
// workload, then a child of the contender's kind compiles and runs its own
// fresh copy (a unique source each: V8's compilation cache cannot share the
// parent's optimized code).
// params: { contender, workload, n }
// RESULT value = child ms / parent ms, with parentMs and childMs.
const m = require('./measure');

const WORKLOADS = {
  // Counting primes by trial division: one call, a hot loop nest (OSR).
  primes: `(function primes(n) {
    let count = 0;
    for (let i = 2; i < n; i++) {
      let prime = true;
      for (let d = 2; d * d <= i; d++) {
        if (i % d === 0) { prime = false; break; }
      }
      if (prime) count++;
    }
    return count;
  })`,
  // A small function called from a hot loop (a concurrent TurboFan job for
  // the callee, OSR for the loop).
  smallCalls: `(function smallCalls(n) {
    const mix = (a, b) => ((a ^ (b << 3)) + (a >>> 2)) | 0;
    let s = 1;
    for (let i = 0; i < n; i++) s = mix(s, i);
    return s;
  })`,
  // Recursion: no loop, no OSR; only concurrent Maglev/TurboFan jobs tier it up.
  recursion: `(function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); })`,
};

let fresh = 0;
/** Compiles a copy of `workload` nobody has run, runs it once: { ms, value }. */
function timeFresh(workload, n) {
  const fn = (0, eval)(`${WORKLOADS[workload]}\n// ${process.pid} ${fresh++}`);
  const t0 = m.now();
  const value = fn(n);
  return { ms: m.now() - t0, value };
}

// The children of cp-fork and worker run this file too.
if (process.argv[2] === '--child') {
  const { workload, n } = JSON.parse(process.argv[3]);
  process.send(timeFresh(workload, n), () => process.exit(0));
  return;
}
const { isMainThread, workerData, parentPort } = require('node:worker_threads');
if (!isMainThread) {
  parentPort.postMessage(timeFresh(workerData.workload, workerData.n));
  return;
}

const { contender, workload = 'primes', n = 3e6 } = m.params();

// Each returns the child's { ms, value }.
const contenders = {
  // forkful os.fork: the child reports through a pipe and _exits.
  'forkful-osfork': () => forkChild(),
  // The same with the previous behaviour (no V8 worker threads in a child).
  'forkful-osfork-nothreads': () => {
    process.env.FORKFUL_CHILD_WORKERS = '0'; // read at the first fork
    return forkChild();
  },
  'cp-fork': () =>
    new Promise((resolve, reject) => {
      const { fork } = require('node:child_process');
      const c = fork(__filename, ['--child', JSON.stringify({ workload, n })], {
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      c.on('message', resolve);
      c.on('error', reject);
      c.on('exit', (code) => code !== 0 && reject(new Error(`child exit ${code}`)));
    }),
  worker: () =>
    new Promise((resolve, reject) => {
      const { Worker } = require('node:worker_threads');
      const w = new Worker(__filename, { workerData: { workload, n } });
      w.on('message', resolve);
      w.on('error', reject);
    }),
};

function forkChild() {
  const os = m.tryRequire('forkful/os');
  if (os.__error) m.skip(`forkful/os does not load: ${os.__error.message.split('\n')[0]}`);
  const [r, w] = os.pipe();
  const pid = os.fork();
  if (pid === 0) {
    os.write(w, JSON.stringify(timeFresh(workload, n)));
    os._exit(0);
  }
  os.close(w);
  let text = '';
  for (let chunk; (chunk = os.read(r, 4096)).length > 0;) text += chunk.toString();
  os.close(r);
  const [, status] = os.waitpid(pid, 0);
  if (status !== 0) throw new Error(`child status ${status}`);
  return JSON.parse(text);
}

async function main() {
  const run = contenders[contender];
  if (!run) m.skip(`unknown contender ${contender}`);
  const parent = timeFresh(workload, n);
  const child = await m.within(170000, Promise.resolve(run()), `${contender} child`);
  if (child.value !== parent.value) throw new Error('the child computed another result');
  m.result({ value: child.ms / parent.ms, parentMs: parent.ms, childMs: child.ms });
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
