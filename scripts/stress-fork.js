#!/usr/bin/env node
// npm run stress:fork [-- --forks N --heap-mb M]
// Forks N times in a row under GC pressure in parent and child: the parent
// churns garbage between forks, each child allocates and collects before it
// exits. Prints forks, failures and per-fork times (fork() call and
// fork+exit+wait). Exit status 1 on any failure.
const os = require('forkful/os');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const forks = arg('forks', 1000);
const heapMb = arg('heap-mb', 50);
const asJson = process.argv.includes('--json');

// Live heap that every fork must carry (strings in arrays: many V8 pages).
const live = [];
for (let mb = 0; mb < heapMb; mb++) {
  const chunk = new Array(8192);
  for (let i = 0; i < chunk.length; i++) chunk[i] = { i, s: `x${i}-${mb}` };
  live.push(chunk);
}

function churn(n) {
  let keep = null;
  for (let i = 0; i < n; i++) keep = { i, a: new Array(16).fill(i), s: String(i) };
  return keep;
}

const forkMs = [];
const roundMs = [];
let failures = 0;
const problems = [];
for (let k = 0; k < forks; k++) {
  churn(20000);
  const t0 = process.hrtime.bigint();
  const pid = os.fork();
  if (pid === 0) {
    // Child: allocate enough to trigger scavenges, check inherited memory.
    const ok = live.length === heapMb && live[heapMb - 1][8191].s === `x8191-${heapMb - 1}`;
    churn(50000);
    os._exit(ok ? 0 : 3);
  }
  const t1 = process.hrtime.bigint();
  const [, status] = os.waitpid(pid, 0);
  const t2 = process.hrtime.bigint();
  const code = os.waitstatusToExitcode(status);
  if (code !== 0) {
    failures++;
    if (problems.length < 5) problems.push(`fork ${k}: child exit code ${code}`);
  }
  forkMs.push(Number(t1 - t0) / 1e6);
  roundMs.push(Number(t2 - t0) / 1e6);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const p99 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)];
const summary = {
  forks,
  failures,
  heapMb,
  rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
  forkCallMedianMs: +median(forkMs).toFixed(3),
  roundTripMedianMs: +median(roundMs).toFixed(3),
  roundTripP99Ms: +p99(roundMs).toFixed(3),
  problems,
};
if (asJson) {
  console.log(JSON.stringify(summary));
} else {
  console.log(`forks:               ${summary.forks}`);
  console.log(`failures:            ${summary.failures}`);
  console.log(`live heap:           ~${heapMb} MB (rss ${summary.rssMb} MB)`);
  console.log(`fork() call median:  ${summary.forkCallMedianMs} ms`);
  console.log(
    `fork+exit+wait:      median ${summary.roundTripMedianMs} ms, p99 ${summary.roundTripP99Ms} ms`,
  );
  for (const p of problems) console.log(`problem: ${p}`);
}
process.exitCode = failures === 0 ? 0 : 1;
