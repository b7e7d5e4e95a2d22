// The smoke program scripts/check-package.js runs in a fresh project that
// installed the forkful tarball (copied there, so that `forkful` resolves
// from that project's node_modules). One JSON line on stdout says what it
// saw: which binary forkful loaded, and what an os.fork(), a Pool map, a Lock
// shared by processes and a Thread did. Every wait is bounded.
'use strict';
const forkful = require('forkful');
const os = require('forkful/os');
const { Pool, Process, Lock, Value, getStartMethod } = require('forkful/multiprocessing');
const { Thread } = require('forkful/threading');

const WAIT_S = 30;

/** `promise`, or a rejection after `seconds`. */
function bounded(promise, seconds, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: no answer in ${seconds} s`)),
      seconds * 1000,
    );
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

async function joined(p, what) {
  await p.join(WAIT_S);
  if (p.exitcode === null) {
    p.kill();
    throw new Error(`${what}: still running after ${WAIT_S} s`);
  }
  return p.exitcode;
}

async function main() {
  const out = { node: process.version, arch: process.arch, status: forkful.nativeStatus() };
  if (!out.status.loaded) return out;
  out.startMethod = getStartMethod();

  // os.fork(): the child ends with 7.
  const pid = os.fork();
  if (pid === 0) os._exit(7);
  const [, status] = os.waitpid(pid, 0);
  out.forkExit = os.waitstatusToExitcode(status);

  // A Pool map whose function is a closure (it reaches forked workers).
  const factor = 3;
  const pool = new Pool(2);
  try {
    out.poolMap = await bounded(
      pool.map((x) => x * factor, [1, 2, 3, 4]),
      WAIT_S,
      'Pool.map',
    );
  } finally {
    pool.terminate();
    await bounded(pool.join(), WAIT_S, 'Pool.join');
  }

  // A Lock shared by processes: a child cannot take it while this process
  // holds it, and two children counting under it lose no increment.
  const lock = new Lock();
  const counter = Value('i', 0, { lock: false });
  lock.acquire();
  const probe = new Process({ target: () => process.exit(lock.acquire(false) ? 10 : 11) });
  probe.start();
  out.lockHeldElsewhere = (await joined(probe, 'lock probe')) === 11;
  lock.release();
  const count = () => {
    for (let i = 0; i < 2000; i++) {
      lock.acquire();
      counter.value += 1;
      lock.release();
    }
  };
  const counters = [new Process({ target: count }), new Process({ target: count })];
  for (const p of counters) p.start();
  out.counterExits = [];
  for (const p of counters) out.counterExits.push(await joined(p, 'lock counter'));
  out.lockCount = counter.value;

  // A Thread (its own isolate on an OS thread) writes into a shared Value.
  const cell = Value('i', 0, { lock: false });
  const thread = new Thread({
    target: (v) => {
      v.value = require('node:worker_threads').threadId;
    },
    args: [cell],
  });
  thread.start();
  await thread.join(WAIT_S);
  if (thread.isAlive()) throw new Error(`Thread: still running after ${WAIT_S} s`);
  out.threadId = cell.value;
  return out;
}

main().then(
  (out) => {
    console.log(JSON.stringify(out));
    process.exit(0);
  },
  (err) => {
    console.log(JSON.stringify({ error: err.stack }));
    process.exit(1);
  },
);
