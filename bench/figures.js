'use strict';
// What each figure measures: its panels (one unit each), the cases of a
// panel, and the contenders with the command that measures one sample.
// A contender's cmd() returns [program, args, options] or { skip: reason }.
const path = require('node:path');

const N = (file) => path.join(__dirname, 'node', file);
const P = (file) => path.join(__dirname, 'py', file);
const json = (o) => JSON.stringify(o);

const node = (file, params, flags = []) => [process.execPath, [...flags, N(file), json(params)]];
const py = (file, params) => ['python3', [P(file), json(params)]];

// piscina and workerpool send one message per task: their map is compared
// with forkful's at chunksize 1, like with like, not with chunked maps.
const NO_CHUNKING = 'no chunking: compared with forkful at chunksize 1 (the chunksize 1 column)';

// Families give the chart its colours.
const FORKFUL = 'forkful';
const C = 'C floor';
const PY = 'Python 3';
const NODE = 'Node built-in';
const NPM = 'npm peer';

function figures(opts) {
  const q = opts.quick;
  const KiB = 1024;
  const MiB = 1024 * KiB;
  const payloadSizes = q ? [64 * KiB, 16 * MiB] : [64 * KiB, MiB, 16 * MiB];
  const sizeLabel = (s) => (s >= MiB ? `${s / MiB} MiB` : `${s / KiB} KiB`);
  const payloadCount = (s) => Math.max(4, Math.floor(((q ? 16 : 64) * MiB) / s));

  return [
    {
      id: 'fig1',
      title: 'Figure 1. Process start + join, no-op target',
      panels: [
        {
          id: 'start',
          title: 'start + join (ms, lower is better)',
          unit: 'ms',
          better: 'lower',
          cases: [{ id: 'noop', label: 'no-op target', n: q ? 5 : 20 }],
        },
      ],
      contenders: [
        {
          id: 'forkful-process',
          label: 'forkful Process',
          family: FORKFUL,
          ref: true,
          cmd: (c) => node('start.js', { contender: 'forkful-process', n: c.n }),
        },
        {
          id: 'forkful-osfork',
          label: 'forkful os.fork+waitpid',
          family: FORKFUL,
          cmd: (c) => node('start.js', { contender: 'forkful-osfork', n: c.n * 2 }),
        },
        {
          id: 'cp-fork',
          label: 'child_process.fork',
          family: NODE,
          cmd: (c) => node('start.js', { contender: 'cp-fork', n: Math.ceil(c.n / 2) }),
        },
        {
          id: 'worker',
          label: 'new Worker',
          family: NODE,
          cmd: (c) => node('start.js', { contender: 'worker', n: c.n }),
        },
        {
          id: 'py-mp',
          label: 'Python mp.Process (fork)',
          family: PY,
          cmd: (c) => py('start.py', { contender: 'mp-process', n: c.n * 2 }),
        },
        {
          id: 'py-fork',
          label: 'Python os.fork+waitpid',
          family: PY,
          cmd: (c) => py('start.py', { contender: 'os-fork', n: c.n * 2 }),
        },
        {
          id: 'c-fork',
          label: 'C fork+_exit+waitpid',
          family: C,
          cmd: (c, ctx) => [ctx.c('fork_wait'), [String(c.n * 10)]],
        },
      ],
    },
    {
      id: 'fig2',
      title: 'Figure 2. Fork cost against live heap size',
      panels: [
        {
          id: 'heap',
          title: 'fork + _exit + waitpid (ms, lower is better)',
          unit: 'ms',
          better: 'lower',
          ordered: true, // C runs after forkful: it needs forkful's resident size
          cases: [50, 500, 2000]
            .filter((mb) => !(q && mb > 500))
            .map((mb) => ({
              id: `heap${mb}`,
              label: mb >= 1000 ? `${mb / 1000} GB heap` : `${mb} MB heap`,
              mb,
            })),
        },
      ],
      contenders: [
        {
          id: 'forkful-fork',
          label: 'forkful os.fork',
          family: FORKFUL,
          ref: true,
          cmd: (c) =>
            node('heap.js', { heapMB: c.mb, n: q ? 5 : 10 }, [
              `--max-old-space-size=${Math.max(1024, c.mb * 2)}`,
            ]),
        },
        {
          id: 'c-fork',
          label: 'C fork at the same RSS',
          family: C,
          cmd: (c, ctx) => {
            const rss = ctx.last(c, 'forkful-fork')?.rssMB;
            if (!rss) return { skip: 'needs the resident size of a forkful run of this case' };
            return [ctx.c('fork_wait'), [String(q ? 5 : 10), String(rss)]];
          },
        },
        {
          id: 'c-fork-sparse',
          label: 'C, same RSS in 256 KiB mappings',
          family: C,
          cmd: (c, ctx) => {
            const rss = ctx.last(c, 'forkful-fork')?.rssMB;
            if (!rss) return { skip: 'needs the resident size of a forkful run of this case' };
            return [ctx.c('fork_wait'), [String(q ? 5 : 10), String(rss), 'sparse']];
          },
        },
      ],
    },
    {
      id: 'fig3',
      title: `Figure 3. Pool of ${opts.cpus} workers, tiny tasks (x*x)`,
      panels: [
        {
          id: 'map',
          title: 'map of tiny tasks (tasks/s, higher is better)',
          unit: 'tasks/s',
          better: 'higher',
          cases: [
            {
              id: 'map-default',
              label: `default chunking, ${q ? '5,000' : '100,000'} tasks`,
              tasks: q ? 5000 : 100000,
            },
            {
              id: 'map-default-1m',
              mode: 'map-default',
              label: `default chunking, ${q ? '50,000' : '1,000,000'} tasks`,
              tasks: q ? 50000 : 1000000,
            },
            {
              id: 'map-chunk1',
              label: `chunksize 1, ${q ? '5,000' : '100,000'} tasks`,
              tasks: q ? 5000 : 100000,
            },
          ],
        },
        {
          id: 'apply',
          title: 'apply round trip (µs, lower is better)',
          unit: 'µs',
          better: 'lower',
          cases: [{ id: 'apply', label: 'apply(x*x)', calls: q ? 300 : 2000 }],
        },
      ],
      contenders: [
        {
          id: 'forkful-pool',
          label: 'forkful Pool',
          family: FORKFUL,
          ref: true,
          cmd: (c) =>
            node('pool.js', {
              contender: 'forkful-pool',
              mode: c.mode || c.id,
              tasks: c.tasks,
              calls: c.calls,
            }),
        },
        {
          id: 'py-pool',
          label: 'Python Pool (fork)',
          family: PY,
          cmd: (c) => py('pool.py', { mode: c.mode || c.id, tasks: c.tasks, calls: c.calls }),
        },
        {
          id: 'piscina',
          label: 'piscina (no chunking)',
          family: NPM,
          cmd: (c) =>
            (c.mode || c.id) === 'map-default'
              ? { skip: NO_CHUNKING }
              : node('pool.js', {
                  contender: 'piscina',
                  mode: c.mode || c.id,
                  tasks: c.tasks,
                  calls: c.calls,
                }),
        },
        {
          id: 'workerpool',
          label: 'workerpool (no chunking)',
          family: NPM,
          cmd: (c) =>
            (c.mode || c.id) === 'map-default'
              ? { skip: NO_CHUNKING }
              : node('pool.js', {
                  contender: 'workerpool',
                  mode: c.mode || c.id,
                  tasks: c.tasks,
                  calls: c.calls,
                }),
        },
      ],
    },
    {
      id: 'fig4',
      title: 'Figure 4. Locks: acquire + release',
      panels: [
        {
          id: 'lock',
          title: 'acquire + release (ns, lower is better)',
          unit: 'ns',
          better: 'lower',
          cases: [
            { id: 'uncontended', label: 'uncontended', n: q ? 200000 : 2000000 },
            { id: 'threads', label: '2 threads contending', n: q ? 100000 : 500000 },
            { id: 'processes', label: '2 processes contending', n: q ? 100000 : 500000 },
          ],
        },
      ],
      contenders: [
        {
          id: 'forkful-lock',
          label: 'forkful Lock',
          family: FORKFUL,
          ref: true,
          cmd: (c) => node('lock.js', { contender: 'forkful-lock', mode: c.id, n: c.n }),
        },
        {
          id: 'py-threading',
          label: 'Python threading.Lock',
          family: PY,
          cmd: (c) => py('lock.py', { contender: 'threading', mode: c.id, n: Math.ceil(c.n / 4) }),
        },
        {
          id: 'py-mp',
          label: 'Python multiprocessing.Lock',
          family: PY,
          cmd: (c) => py('lock.py', { contender: 'mp', mode: c.id, n: Math.ceil(c.n / 4) }),
        },
        {
          id: 'async-mutex',
          label: 'async-mutex',
          family: NPM,
          cmd: (c) =>
            node('lock.js', { contender: 'async-mutex', mode: c.id, n: Math.ceil(c.n / 10) }),
        },
        {
          id: 'atomics',
          label: 'Atomics lock (SharedArrayBuffer)',
          family: NODE,
          cmd: (c) => node('lock.js', { contender: 'atomics', mode: c.id, n: c.n }),
        },
        {
          id: 'c-mutex',
          label: 'C pthread_mutex',
          family: C,
          cmd: (c, ctx) => [ctx.c('mutex'), [c.id, String(c.n * 5)]],
        },
      ],
    },
    {
      id: 'fig5',
      title: 'Figure 5. Pipes and queues between two processes',
      panels: [
        {
          id: 'small',
          title: 'small messages one way (messages/s, higher is better)',
          unit: 'msg/s',
          better: 'higher',
          cases: [{ id: 'small', label: "['msg', i]", count: q ? 5000 : 50000 }],
        },
        {
          id: 'pingpong',
          title: 'ping-pong round trip (µs, lower is better)',
          unit: 'µs',
          better: 'lower',
          cases: [{ id: 'pingpong', label: "['msg', i] there and back", count: q ? 1000 : 5000 }],
        },
        {
          id: 'payload',
          title: 'large payloads one way (MB/s, higher is better)',
          unit: 'MB/s',
          better: 'higher',
          cases: payloadSizes.map((s) => ({
            id: `payload${s}`,
            label: sizeLabel(s),
            mode: 'payload',
            size: s,
            count: payloadCount(s),
          })),
        },
      ],
      contenders: [
        {
          id: 'forkful-pipe',
          label: 'forkful Pipe',
          family: FORKFUL,
          ref: true,
          cmd: (c) =>
            node('pipe.js', {
              contender: 'forkful-pipe',
              mode: c.mode || c.id,
              count: c.count,
              size: c.size,
            }),
        },
        {
          id: 'forkful-queue',
          label: 'forkful Queue',
          family: FORKFUL,
          cmd: (c) =>
            node('pipe.js', {
              contender: 'forkful-queue',
              mode: c.mode || c.id,
              count: c.count,
              size: c.size,
            }),
        },
        {
          id: 'py-pipe',
          label: 'Python Pipe',
          family: PY,
          cmd: (c) =>
            py('pipe.py', {
              contender: 'pipe',
              mode: c.mode || c.id,
              count: c.count,
              size: c.size,
            }),
        },
        {
          id: 'py-queue',
          label: 'Python Queue',
          family: PY,
          cmd: (c) =>
            py('pipe.py', {
              contender: 'queue',
              mode: c.mode || c.id,
              count: c.count,
              size: c.size,
            }),
        },
        {
          id: 'cp-ipc',
          label: 'child_process IPC (advanced)',
          family: NODE,
          cmd: (c) =>
            node('pipe.js', {
              contender: 'cp-ipc',
              mode: c.mode || c.id,
              count: c.count,
              size: c.size,
            }),
        },
        {
          id: 'worker-port',
          label: 'worker_threads MessagePort',
          family: NODE,
          cmd: (c) =>
            node('pipe.js', {
              contender: 'worker-port',
              mode: c.mode || c.id,
              count: c.count,
              size: c.size,
            }),
        },
        {
          id: 'c-pipe',
          label: 'C socketpair',
          family: C,
          cmd: (c, ctx) => {
            const mode = c.mode || c.id;
            const args =
              mode === 'payload'
                ? [mode, String(c.size), String(c.count * 4)]
                : [mode, String(c.count * 4)];
            return [ctx.c('pipe'), args];
          },
        },
      ],
    },
    {
      id: 'fig6',
      title: 'Figure 6. Child JIT: code first run hot in a child, child time / parent time',
      panels: [
        {
          id: 'jit',
          title: 'child time / parent time (×, lower is better; 1 = parent speed)',
          unit: '×',
          better: 'lower',
          cases: [
            {
              id: 'primes',
              label: `primes(${q ? '1e6' : '3e6'})`,
              workload: 'primes',
              n: q ? 1e6 : 3e6,
              pyN: q ? 1e5 : 3e5,
            },
            {
              id: 'smallCalls',
              label: 'small function × 3e7',
              workload: 'smallCalls',
              n: 3e7,
              pyN: 3e6,
            },
            { id: 'recursion', label: 'fib(35), no OSR', workload: 'recursion', n: 35, pyN: 28 },
          ],
        },
      ],
      contenders: [
        {
          id: 'forkful-osfork',
          label: 'forkful os.fork child',
          family: FORKFUL,
          ref: true,
          cmd: (c) =>
            node('child-jit.js', { contender: 'forkful-osfork', workload: c.workload, n: c.n }),
        },
        {
          id: 'forkful-nothreads',
          label:
            'forkful child without V8 threads (FORKFUL_CHILD_WORKERS=0: its compile jobs never run)',
          family: FORKFUL,
          cmd: (c) =>
            node('child-jit.js', {
              contender: 'forkful-osfork-nothreads',
              workload: c.workload,
              n: c.n,
            }),
        },
        {
          id: 'cp-fork',
          label: 'child_process.fork',
          family: NODE,
          cmd: (c) => node('child-jit.js', { contender: 'cp-fork', workload: c.workload, n: c.n }),
        },
        {
          id: 'worker',
          label: 'new Worker',
          family: NODE,
          cmd: (c) => node('child-jit.js', { contender: 'worker', workload: c.workload, n: c.n }),
        },
        {
          id: 'py-fork',
          label: 'Python os.fork child (smaller sizes: see docs/bench.md)',
          family: PY,
          cmd: (c) => py('child_jit.py', { workload: c.workload, n: c.pyN }),
        },
      ],
    },
    {
      id: 'cluster',
      title: 'Figure 7. forkful/cluster on Redis: two workers of one process, tiny tasks (x*x)',
      panels: [
        {
          id: 'map',
          title: `map of ${q ? '2,000' : '10,000'} tasks (tasks/s, higher is better)`,
          unit: 'tasks/s',
          better: 'higher',
          cases: [{ id: 'map', label: 'default chunking', tasks: q ? 2000 : 10000 }],
        },
        {
          id: 'apply',
          title: 'apply round trip (ms, lower is better)',
          unit: 'ms',
          better: 'lower',
          cases: [{ id: 'apply', label: 'apply(x*x)', calls: q ? 100 : 300 }],
        },
      ],
      contenders: [
        {
          id: 'forkful-cluster',
          label: 'forkful/cluster (2 workers)',
          family: FORKFUL,
          ref: true,
          cmd: (c) =>
            node('cluster.js', {
              contender: 'forkful-cluster',
              mode: c.id,
              tasks: c.tasks,
              calls: c.calls,
            }),
        },
        {
          id: 'forkful-pool',
          label: 'forkful Pool (local, 2 processes)',
          family: FORKFUL,
          cmd: (c) =>
            node('cluster.js', {
              contender: 'forkful-pool',
              mode: c.id,
              tasks: c.tasks,
              calls: c.calls,
            }),
        },
        {
          id: 'bullmq',
          label: 'raw BullMQ (2 workers, a job per task)',
          family: NPM,
          cmd: (c) =>
            node('cluster.js', { contender: 'bullmq', mode: c.id, tasks: c.tasks, calls: c.calls }),
        },
      ],
    },
    {
      id: 'thread',
      title: 'Figure 8. Thread start + join, no-op target',
      panels: [
        {
          id: 'start',
          title: 'start + join (ms, lower is better)',
          unit: 'ms',
          better: 'lower',
          cases: [{ id: 'noop', label: 'no-op target', n: q ? 20 : 100 }],
        },
      ],
      contenders: [
        {
          id: 'forkful-thread',
          label: 'forkful Thread',
          family: FORKFUL,
          ref: true,
          cmd: (c) => node('start.js', { contender: 'forkful-thread', n: c.n }),
        },
        {
          id: 'worker',
          label: 'new Worker',
          family: NODE,
          cmd: (c) => node('start.js', { contender: 'worker', n: Math.ceil(c.n / 5) }),
        },
        {
          id: 'py-thread',
          label: 'Python threading.Thread',
          family: PY,
          cmd: (c) => py('start.py', { contender: 'thread', n: c.n * 10 }),
        },
      ],
    },
  ];
}

const FAMILIES = [FORKFUL, C, PY, NODE, NPM];

module.exports = { figures, FAMILIES };
