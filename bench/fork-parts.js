#!/usr/bin/env node
'use strict';
// Where the time of os.fork()+_exit+waitpid goes, per live-heap size, next to
// a C fork+_exit+waitpid floor at the same resident size, in the same run:
// dense (one malloc) and sparse (256 KiB mappings at random addresses, the
// way V8 places heap pages, which costs the kernel more page tables).
//
//   node bench/fork-parts.js [--heap-mb 50,500,2000] [--rounds 9] [--forks 5] [--json]
//
// Each heap size runs in its own Node process (heaps never accumulate). That
// process builds the live heap, starts the C floor (compiled into the OS temp
// dir, never committed) with the same resident size, and alternates rounds:
// `forks` forkful forks, then `forks` forks of each C floor, `rounds` times. Medians over
// every fork. Parts come from native.lastForkTimings(): parkMs (V8 workers),
// scanMs (finding DONTFORK mappings and lifting them), forkMs (fork(2) as the
// parent sees it), restoreMs (DONTFORK back on in the parent); js is the rest
// of the os.fork() call, wait is fork return -> waitpid return.
const { execFileSync, spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const tmp = require('node:os').tmpdir();

const C_SOURCE = String.raw`
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
/* usage: floor MB [sparse]; then reads a count per line, answers one line
   of total:fork times (fork = until fork() returned in the parent).
   dense: one malloc of MB, touched. sparse: MB in 256 KiB mappings at
   random addresses, as V8 places its heap pages (one page-table page per
   mapping instead of one per 2 MiB of heap). */
int main(int argc, char** argv) {
  size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
  int sparse = argc > 2 && strcmp(argv[2], "sparse") == 0;
  if (mb > 0 && !sparse) {
    char* heap = malloc(mb << 20);
    if (!heap) return 1;
    memset(heap, 1, mb << 20);
  }
  srandom(12345);
  for (size_t i = 0; sparse && i < mb * 4; i++) {
    uintptr_t hint = (((uintptr_t)random() << 31) ^ (uintptr_t)random()) & 0x3fffffc0000ULL;
    char* p = mmap((void*)hint, 256 << 10, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    memset(p, 1, 256 << 10);
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready\n");
  int n;
  while (scanf("%d", &n) == 1) {
    for (int i = 0; i < n; i++) {
      double t0 = now_ms();
      pid_t pid = fork();
      if (pid < 0) return 2;
      if (pid == 0) _exit(0);
      double t1 = now_ms();
      int status;
      if (waitpid(pid, &status, 0) != pid || status != 0) return 3;
      printf("%s%.4f:%.4f", i ? " " : "", now_ms() - t0, t1 - t0);
    }
    printf("\n");
  }
  return 0;
}
`;

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

function cFloorBinary() {
  const bin = path.join(tmp, 'forkful-fork-floor');
  const src = `${bin}.c`;
  if (!fs.existsSync(bin) || fs.readFileSync(src, 'utf8') !== C_SOURCE) {
    fs.writeFileSync(src, C_SOURCE);
    execFileSync('cc', ['-O2', '-o', bin, src]);
  }
  return bin;
}

const median = (xs) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// ---- one heap size, in its own process ------------------------------------

function buildHeap(mb) {
  // Same shape as bench/node/heap.js: small objects and strings, and a third
  // large arrays of doubles, all reachable.
  const v8 = require('node:v8');
  const keep = [];
  const target = mb * 1024 * 1024;
  let i = 0;
  while (v8.getHeapStatistics().used_heap_size < target) {
    if (i % 3 === 2) {
      keep.push(new Array(262144).fill(i + 0.5));
    } else {
      const chunk = new Array(16384);
      for (let j = 0; j < chunk.length; j++) chunk[j] = { id: j, v: j * 0.5, s: `s${i}:${j}` };
      keep.push(chunk);
    }
    i++;
  }
  return keep;
}

function lineReader(stream) {
  let buf = '';
  const waiting = [];
  const lines = [];
  stream.setEncoding('utf8');
  stream.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (waiting.length) waiting.shift()(line);
      else lines.push(line);
    }
  });
  return () =>
    new Promise((resolve, reject) => {
      if (lines.length) return resolve(lines.shift());
      const t = setTimeout(() => reject(new Error('C floor did not answer within 120 s')), 120000);
      waiting.push((line) => {
        clearTimeout(t);
        resolve(line);
      });
    });
}

async function one(heapMb, rounds, forks) {
  const os = require('forkful/os');
  const { native } = require(path.join(__dirname, '../dist/core/native'));
  const heap = buildHeap(heapMb);
  global.gc?.();
  const rssMb = Math.round(process.memoryUsage().rss / 2 ** 20);
  const startFloor = async (mode) => {
    const proc = spawn(cFloorBinary(), [String(rssMb), mode], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const nextLine = lineReader(proc.stdout);
    if ((await nextLine()) !== 'ready') throw new Error(`C floor (${mode}) did not start`);
    const total = [];
    const forkOnly = [];
    const round = async (n) => {
      proc.stdin.write(`${n}\n`);
      for (const pair of (await nextLine()).trim().split(' ')) {
        const [t, f] = pair.split(':').map(Number);
        total.push(t);
        forkOnly.push(f);
      }
    };
    return { proc, total, forkOnly, round };
  };
  const dense = await startFloor('dense');
  const sparse = await startFloor('sparse');

  const parts = { total: [], park: [], scan: [], fork: [], restore: [], js: [], wait: [] };
  let mappings = 0;
  let fullScans = 0;
  const forkOnce = (record) => {
    const t0 = process.hrtime.bigint();
    const pid = os.fork();
    if (pid === 0) os._exit(0);
    const t1 = process.hrtime.bigint();
    const [, status] = os.waitpid(pid, 0);
    const t2 = process.hrtime.bigint();
    if (status !== 0) throw new Error(`child status ${status}`);
    if (!record) return;
    const t = native.lastForkTimings();
    const call = Number(t1 - t0) / 1e6;
    parts.total.push(Number(t2 - t0) / 1e6);
    parts.park.push(t.parkMs);
    parts.scan.push(t.scanMs);
    parts.fork.push(t.forkMs);
    parts.restore.push(t.restoreMs ?? NaN);
    parts.js.push(call - t.parkMs - t.scanMs - t.forkMs - (t.restoreMs ?? 0));
    parts.wait.push(Number(t2 - t1) / 1e6);
    mappings = t.dontForkMappings;
    fullScans += t.fullScan ? 1 : 0;
  };
  forkOnce(false); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < forks; i++) forkOnce(true);
    await dense.round(forks);
    await sparse.round(forks);
  }
  dense.proc.stdin.end();
  sparse.proc.stdin.end();
  const out = {
    heapMb,
    rssMb,
    kept: heap.length,
    dontForkMappings: mappings,
    fullScans: `${fullScans}/${rounds * forks}`,
    cMs: median(dense.total),
    cForkMs: median(dense.forkOnly),
    cSparseMs: median(sparse.total),
    cSparseForkMs: median(sparse.forkOnly),
  };
  for (const [k, xs] of Object.entries(parts)) out[`${k}Ms`] = median(xs);
  out.ratio = out.totalMs / out.cMs;
  out.ratioSparse = out.totalMs / out.cSparseMs;
  process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
}

// ---- driver ----------------------------------------------------------------

function main() {
  if (process.argv[2] === '--one') {
    const [, , , mb, rounds, forks] = process.argv;
    one(Number(mb), Number(rounds), Number(forks)).catch((e) => {
      console.error(e);
      process.exit(1);
    });
    return;
  }
  const sizes = String(arg('heap-mb', '50,500,2000')).split(',').map(Number);
  const rounds = Number(arg('rounds', 9));
  const forks = Number(arg('forks', 5));
  const rows = [];
  for (const mb of sizes) {
    const oldSpace = Math.max(4096, mb * 2 + 1024);
    const run = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        `--max-old-space-size=${oldSpace}`,
        __filename,
        '--one',
        String(mb),
        String(rounds),
        String(forks),
      ],
      { encoding: 'utf8', timeout: 600000, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const line = (run.stdout || '').split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) {
      console.error(`heap ${mb} MB: no result (status ${run.status}, signal ${run.signal})`);
      process.exitCode = 1;
      continue;
    }
    rows.push(JSON.parse(line.slice(7)));
  }
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(rows));
    return;
  }
  const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');
  console.log(
    `load average: ${require('node:os')
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    '| heap MB | RSS MB | DONTFORK maps | smaps scans | total ms | park | scan | fork(2) | restore ' +
      '| js | wait | C ms | C fork(2) | ×C | C sparse ms | C sparse fork(2) | ×C sparse |',
  );
  console.log(`|${'---|'.repeat(17)}`);
  for (const r of rows) {
    console.log(
      `| ${r.heapMb} | ${r.rssMb} | ${r.dontForkMappings} | ${r.fullScans} | ${f(r.totalMs)} | ` +
        `${f(r.parkMs)} | ${f(r.scanMs)} | ${f(r.forkMs)} | ${f(r.restoreMs)} | ${f(r.jsMs)} | ` +
        `${f(r.waitMs)} | ${f(r.cMs)} | ${f(r.cForkMs)} | ${f(r.ratio)} | ` +
        `${f(r.cSparseMs)} | ${f(r.cSparseForkMs)} | ${f(r.ratioSparse)} |`,
    );
  }
}

main();
