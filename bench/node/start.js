'use strict';
// Figures 1 and 8: process (or thread) start + join with a no-op target.
// params: { contender, n }   RESULT value = ms per start+join
const path = require('node:path');
const m = require('./measure');

const { contender, n = 20, warmup = 2 } = m.params();

const contenders = {
  // forkful Process on the fork backend.
  async 'forkful-process'() {
    const Process = m.forkfulExport('forkful/multiprocessing', 'Process');
    const once = async () => {
      const p = new Process({ target: () => {} });
      await m.settle(p.start());
      await m.within(10000, m.settle(p.join()), 'Process.join()');
      if (p.exitcode !== 0) throw new Error(`exitcode ${p.exitcode}`);
    };
    // No try/catch around start(): a forked child leaves start() by an
    // uncatchable termination, which an enclosing try/catch in an async
    // function turns into a caught error (reported to the Process owner).
    return once;
  },
  // forkful os.fork + os.waitpid: the child ends at once with _exit(0).
  async 'forkful-osfork'() {
    const os = require('forkful/os');
    return async () => {
      const pid = os.fork();
      if (pid === 0) os._exit(0);
      const [, status] = os.waitpid(pid, 0);
      if (status !== 0) throw new Error(`child status ${status}`);
    };
  },
  // forkful Thread (a worker_threads isolate): start + join of a no-op target.
  async 'forkful-thread'() {
    const Thread = m.forkfulExport('forkful/threading', 'Thread');
    return async () => {
      const t = new Thread({ target: () => {} });
      t.start();
      await m.within(10000, t.join(), 'Thread.join()');
      if (t.isAlive()) throw new Error('thread still alive after join');
    };
  },
  async 'cp-fork'() {
    const { fork } = require('node:child_process');
    const file = path.join(__dirname, 'noop.js');
    return () =>
      new Promise((resolve, reject) => {
        const c = fork(file, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
        c.on('error', reject);
        c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
      });
  },
  async worker() {
    const { Worker } = require('node:worker_threads');
    return () =>
      new Promise((resolve, reject) => {
        const w = new Worker('', { eval: true });
        w.on('error', reject);
        w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
      });
  },
};

(async () => {
  const make = contenders[contender];
  if (!make) throw new Error(`unknown contender ${contender}`);
  const once = await make();
  for (let i = 0; i < warmup; i++) await once();
  const t0 = m.now();
  for (let i = 0; i < n; i++) await once();
  m.result({ value: (m.now() - t0) / n });
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
