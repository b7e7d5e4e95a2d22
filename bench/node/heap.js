'use strict';
// Figure 2: forkful fork+exit+wait with a live JS heap of about heapMB.
// params: { heapMB, n }  RESULT value = ms per fork+_exit+waitpid, plus the
// resident size (for the C floor at the same size) and the parts of the fork
// path that can be timed from outside native/fork.cc.
const m = require('./measure');
const os = require('forkful/os');
const { native } = require('../../dist/core/native');

const { heapMB = 50, n = 10 } = m.params();

// A live heap of small objects and strings (many pages, like an application)
// and large arrays of doubles (a third of it), kept reachable to the end.
function buildHeap(mb) {
  const keep = [];
  const target = mb * 1024 * 1024;
  const v8 = require('node:v8');
  let i = 0;
  while (v8.getHeapStatistics().used_heap_size < target) {
    if (i % 3 === 2) {
      keep.push(new Array(262144).fill(i + 0.5)); // 2 MiB of doubles
    } else {
      const chunk = new Array(16384);
      for (let j = 0; j < chunk.length; j++) chunk[j] = { id: j, v: j * 0.5, s: `s${i}:${j}` };
      keep.push(chunk);
    }
    i++;
  }
  return keep;
}

function rssMB() {
  return process.memoryUsage().rss / (1024 * 1024);
}

const heap = buildHeap(heapMB);
global.gc?.();
const forkOnce = () => {
  const pid = os.fork();
  if (pid === 0) os._exit(0);
  const [, status] = os.waitpid(pid, 0);
  if (status !== 0) throw new Error(`child status ${status}`);
};
forkOnce(); // warm-up
const times = [];
// Where each fork's time went, as native/fork.cc measures it (when it can).
const parts = { parkMs: [], scanMs: [], forkMs: [], restoreMs: [], fullScan: [] };
for (let i = 0; i < n; i++) {
  const t0 = m.now();
  forkOnce();
  times.push(m.now() - t0);
  if (typeof native.lastForkTimings === 'function') {
    const t = native.lastForkTimings();
    for (const k of Object.keys(parts)) if (t[k] !== undefined) parts[k].push(Number(t[k]));
  }
}
// The /proc/self/smaps scan alone (the addon's own scan, without madvise).
const scans = [];
let mappings = 0;
for (let i = 0; i < 3; i++) {
  const t0 = m.now();
  mappings = native.countDontForkMappings();
  scans.push(m.now() - t0);
}
const mid = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const v8 = require('node:v8');
const nativeParts = {};
for (const [k, xs] of Object.entries(parts)) {
  if (!xs.length) continue;
  // fullScan: the share of forks that had to read /proc/self/smaps.
  nativeParts[k] = k === 'fullScan' ? xs.reduce((a, b) => a + b, 0) / xs.length : mid(xs);
}
m.result({
  value: mid(times),
  rssMB: Math.round(rssMB()),
  heapUsedMB: Math.round(v8.getHeapStatistics().used_heap_size / 1048576),
  dontForkMappings: mappings,
  smapsScanMs: mid(scans),
  ...nativeParts,
  kept: heap.length,
});
