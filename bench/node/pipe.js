'use strict';
// Figure 5: messages between a parent and a child process (or thread).
// params: { contender: 'forkful-pipe'|'forkful-queue'|'cp-ipc'|'worker-port',
//   mode: 'small'|'pingpong'|'payload', count, size }
//   small:    count messages ['msg', i] one way, then an ack -> messages per second
//   pingpong: count round trips of ['msg', i]                 -> microseconds per round trip
//   payload:  count Buffers of size bytes one way, then an ack -> MB per second
const path = require('node:path');
const m = require('./measure');

const { contender, mode, count = 10000, size = 65536 } = m.params();

// Each opener returns the parent's end: send(x) (maybe async), recv() -> Promise.
const openers = {
  async 'forkful-pipe'() {
    const Pipe = m.forkfulExport('forkful/multiprocessing', 'Pipe');
    const [parent, child] = await m.orSkip('forkful Pipe', () => Pipe());
    const bytes = mode === 'payload' && typeof parent.sendBytes === 'function';
    await startForkedChild({
      send: (x) => (bytes && x !== 'ack' ? child.sendBytes(x) : child.send(x)),
      recv: () => syncOrAsync(child, bytes ? 'recvBytes' : 'recv'),
    });
    return {
      send: (x) => (bytes ? parent.sendBytes(x) : parent.send(x)),
      recv: () => syncOrAsync(parent, 'recv'),
    };
  },
  async 'forkful-queue'() {
    const Queue = m.forkfulExport('forkful/multiprocessing', 'Queue');
    const [down, up] = await m.orSkip('forkful Queue', () => [new Queue(), new Queue()]);
    await startForkedChild({
      send: (x) => up.put(x),
      // get(), not getSync(): put() handed the message to a feeder on the
      // event loop, which a blocking getSync() stalled (Queue at 37b0d08).
      recv: () => down.get(),
      flush: () => {
        up.close();
        return up.joinThread();
      },
    });
    return { send: (x) => down.put(x), recv: () => up.get() };
  },
  async 'cp-ipc'() {
    const { fork } = require('node:child_process');
    // 'advanced' (v8 structured clone) rather than JSON: Buffers stay binary.
    const c = fork(path.join(__dirname, 'pipe-child.js'), [JSON.stringify({ mode, count })], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return messageEnd(c, (x) => c.send(x));
  },
  async 'worker-port'() {
    const { Worker } = require('node:worker_threads');
    const w = new Worker(path.join(__dirname, 'pipe-child.js'), { workerData: { mode, count } });
    return messageEnd(w, (x) => w.postMessage(x));
  },
};

// The blocking form when the API has one (as Python's recv blocks), else await.
function syncOrAsync(obj, name) {
  const sync = obj[`${name}Sync`];
  return typeof sync === 'function' ? sync.call(obj) : obj[name]();
}

function messageEnd(emitter, send) {
  const inbox = [];
  const waiting = [];
  emitter.on('message', (x) => (waiting.length ? waiting.shift()(x) : inbox.push(x)));
  return {
    send,
    recv: () => (inbox.length ? inbox.shift() : new Promise((r) => waiting.push(r))),
  };
}

// The child's side, the same protocol as pipe-child.js, run by a forkful
// Process (as a user would; its end flushes what a Queue still buffers).
async function startForkedChild(end) {
  const Process = m.forkfulExport('forkful/multiprocessing', 'Process');
  const proc = new Process({
    target: async () => {
      for (let i = 0; i < count; i++) {
        const x = await end.recv();
        if (mode === 'pingpong') await m.settle(end.send(x));
      }
      if (mode !== 'pingpong') await m.settle(end.send('ack'));
      await m.settle(end.flush?.());
    },
  });
  proc.start();
  startForkedChild.proc = proc;
}

(async () => {
  const open = openers[contender];
  if (!open) throw new Error(`unknown contender ${contender}`);
  const end = await open();
  const payload = Buffer.alloc(size, 7);
  const t0 = m.now();
  if (mode === 'pingpong') {
    for (let i = 0; i < count; i++) {
      await m.settle(end.send(['msg', i]));
      await end.recv();
    }
  } else {
    for (let i = 0; i < count; i++)
      await m.settle(end.send(mode === 'small' ? ['msg', i] : payload));
    const ack = await end.recv();
    if (ack !== 'ack') throw new Error(`expected ack, got ${ack}`);
  }
  const dt = m.now() - t0;
  const value =
    mode === 'small'
      ? count / (dt / 1000)
      : mode === 'pingpong'
        ? (dt * 1000) / count
        : (size * count) / (dt / 1000) / 1e6;
  const proc = startForkedChild.proc;
  if (proc) {
    await m.within(10000, m.settle(proc.join()), 'the child Process');
    if (proc.exitcode !== 0) throw new Error(`child exitcode ${proc.exitcode}`);
  }
  m.result({ value });
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
