#!/usr/bin/env node
'use strict';
// `npm run bench` [-- --quick] [--node 24,20] [--only fig1,fig4] [--rounds N] [--render] [figure ids...]
// (`npm run bench -- cluster` runs that figure and writes bench/results/cluster.*)
// Runs every figure: each contender in the same run, in alternating order,
// several rounds; each sample is one bounded process. Writes
// bench/results/latest.{json,md,svg} (--quick: quick.{json,md,svg}).
// --node: the majors whose pinned Node (scripts/node-versions.json) runs the
// Node contenders, one table per major (default: the current LTS, then 20);
// the peers that do not depend on Node (Python, C) run once, in the first
// major's pass, and their figures are shown in every table.
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const { execFileSync } = require('node:child_process');
const { runMeasurement } = require('./lib/harness');
const { compileC } = require('./lib/cbuild');
const { median } = require('./lib/stats');
const { figures } = require('./figures');
const { renderMarkdown } = require('./lib/report');
const { renderSvg } = require('./lib/svg');

function parseArgs(argv) {
  const opts = {
    quick: false,
    only: null,
    rounds: null,
    render: false,
    named: false,
    nodes: null,
    pass: null, // set by the orchestrator: { out, peers } (internal)
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.quick = true;
    else if (a === '--render') opts.render = true;
    else if (a === '--only') opts.only = argv[++i].split(',');
    else if (a.startsWith('--only=')) opts.only = a.slice(7).split(',');
    else if (a === '--rounds') opts.rounds = Number(argv[++i]);
    else if (a.startsWith('--rounds=')) opts.rounds = Number(a.slice(9));
    else if (a === '--node') opts.nodes = argv[++i].split(',');
    else if (a.startsWith('--node=')) opts.nodes = a.slice(7).split(',');
    else if (a === '--pass-out') opts.pass = { ...opts.pass, out: argv[++i] };
    else if (a === '--pass-no-peers') opts.pass = { ...opts.pass, noPeers: true };
    else if (a === '--help' || a === '-h') {
      console.log(
        'usage: node bench/run.js [--quick] [--node 24,20] [--only fig1,fig2] [--rounds N] ' +
          '[--render] [figure ids]',
      );
      process.exit(0);
    } else if (/^[a-z][\w-]*$/.test(a)) {
      opts.only = [...(opts.only ?? []), a]; // a figure id
      opts.named = true;
    } else {
      console.error(`unknown option ${a} (try --help)`);
      process.exit(2);
    }
  }
  return opts;
}

function version(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 10000, stdio: 'pipe' })
      .trim()
      .split('\n')[0];
  } catch {
    return null;
  }
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    memGB: Math.round(os.totalmem() / 1e9),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    python: version('python3', ['-c', 'import sys; print(sys.version.split()[0])']),
    cc: version('cc', ['--version']),
    loadAtStart: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const outDir = path.join(__dirname, 'results');
  // Figures named on the command line write <ids>.* beside latest.*, which
  // stays the full run's.
  const base = path.join(
    outDir,
    opts.quick ? 'quick' : opts.named ? opts.only.join('-') : 'latest',
  );
  if (opts.render) {
    const data = JSON.parse(fs.readFileSync(`${base}.json`, 'utf8'));
    await write(base, data);
    printGoals(data);
    return;
  }
  if (!opts.pass) {
    await runMajors(opts, base);
    return;
  }
  const data = await measure(opts);
  fs.writeFileSync(opts.pass.out, JSON.stringify(data));
}

/** The default majors: the current LTS, then the oldest supported line. */
function defaultMajors() {
  const pins = require('../scripts/node-versions.json');
  const oldest = Object.keys(pins.majors).sort((a, b) => a - b)[0];
  return [...new Set([String(pins.current), oldest])];
}

/** One measuring pass per major, each under that major's pinned Node, then
 * one report. Python and C are measured in the first pass only. */
async function runMajors(opts, base) {
  const majors = opts.nodes ?? defaultMajors();
  const started = Date.now();
  const passArgs = process.argv.slice(2).filter((a, i, all) => {
    if (a === '--node' || a.startsWith('--node=')) return false;
    return all[i - 1] !== '--node';
  });
  const runs = [];
  for (const [i, major] of majors.entries()) {
    const out = path.join(os.tmpdir(), `forkful-bench-${process.pid}-${major}.json`);
    process.stderr.write(`--- Node ${major} (pass ${i + 1} of ${majors.length})\n`);
    const args = [path.join(__dirname, '..', 'scripts', 'node.js'), major, 'node', __filename];
    args.push(...passArgs, '--pass-out', out, ...(i > 0 ? ['--pass-no-peers'] : []));
    const r = require('node:child_process').spawnSync(process.execPath, args, {
      stdio: 'inherit',
    });
    if (r.status !== 0) {
      throw new Error(`the Node ${major} pass failed (exit ${r.status ?? r.signal})`);
    }
    runs.push(JSON.parse(fs.readFileSync(out, 'utf8')));
    fs.rmSync(out);
  }
  for (const run of runs.slice(1)) borrowPeers(run, runs[0]);
  const data = {
    mode: opts.quick ? 'quick' : 'full',
    rounds: runs[0].rounds,
    date: new Date(started).toISOString(),
    durationS: Math.round((Date.now() - started) / 1000),
    machine: runs[0].machine,
    runs: runs.map((run) => ({ node: run.machine.node, figures: run.figures })),
  };
  await write(base, data);
  printGoals(data);
  process.stderr.write(`wrote ${base}.md and ${base}.svg in ${data.durationS} s\n`);
}

/** The Python and C cells of `from` copied into `run` (measured once), with
 * their ratios against `run`'s own forkful reference. */
function borrowPeers(run, from) {
  for (const fig of run.figures) {
    const source = from.figures.find((f) => f.id === fig.id);
    if (!source) continue;
    const peers = fig.contenders.filter((k) => PEER_FAMILIES.has(k.family)).map((k) => k.id);
    for (const [pi, panel] of fig.panels.entries()) {
      for (const [ci, c] of panel.cases.entries()) {
        const theirs = source.panels[pi]?.cases[ci];
        if (!theirs) continue;
        const ref = c.ref ? c.cells[c.ref].median : undefined;
        for (const id of peers) {
          const cell = { ...theirs.cells[id], measuredUnder: from.machine.node };
          if (cell.median !== undefined && ref !== undefined) {
            cell.forkfulSpeedup = panel.better === 'lower' ? cell.median / ref : ref / cell.median;
          }
          c.cells[id] = cell;
        }
      }
    }
  }
}

// Contenders that do not run on Node: measured in the first pass only.
const PEER_FAMILIES = new Set(['Python 3', 'C floor']);

function printGoals(data) {
  const { goals } = require('./lib/goals');
  for (const run of data.runs ?? [data]) {
    process.stderr.write(`\ngoals, ${run.node ?? data.machine.node} (developers' checklist):\n`);
    for (const g of goals(run))
      process.stderr.write(`  ${g.status.padEnd(12)} ${g.goal}: ${g.detail}\n`);
  }
}

/** One pass: every figure under this Node. */
async function measure(opts) {
  const rounds = opts.rounds || (opts.quick ? 3 : 5);
  const started = Date.now();
  const figs = figures({ quick: opts.quick, cpus: os.availableParallelism() }).filter(
    (f) => !opts.only || opts.only.includes(f.id),
  );
  const cache = {};
  const ctx = {
    c(name) {
      if (!(name in cache)) {
        try {
          cache[name] = compileC(name);
        } catch (e) {
          cache[name] = e;
        }
      }
      if (cache[name] instanceof Error) throw cache[name];
      return cache[name];
    },
    last: (c, contender) => c.cells[contender].lastResult,
  };

  for (const fig of figs) {
    for (const panel of fig.panels) {
      for (const c of panel.cases) {
        c.cells = {};
        for (const k of fig.contenders) c.cells[k.id] = { samples: [], extras: [], errors: [] };
      }
    }
  }

  for (let round = 0; round < rounds; round++) {
    for (const fig of figs) {
      for (const panel of fig.panels) {
        for (const c of panel.cases) {
          // Alternate: each round starts with a different contender.
          const order = fig.contenders.map(
            (_, i) => fig.contenders[(i + round) % fig.contenders.length],
          );
          for (const k of panel.ordered ? fig.contenders : order) {
            const cell = c.cells[k.id];
            if (cell.skip || cell.errors.length >= 2) continue;
            if (k.stopped && !cell.samples.length) {
              cell.skip = k.stopped;
              continue;
            }
            if (opts.pass.noPeers && PEER_FAMILIES.has(k.family)) {
              cell.skip = 'measured once, in the first pass';
              continue;
            }
            let cmd;
            try {
              cmd = k.cmd(c, ctx);
            } catch (e) {
              cell.skip = e.message;
              continue;
            }
            if (cmd.skip) {
              if (round === rounds - 1 || !cell.samples.length) cell.pendingSkip = cmd.skip;
              continue;
            }
            const [prog, args, o = {}] = cmd;
            const timeoutMs = o.timeoutMs || (opts.quick ? 60000 : 180000);
            const t0 = Date.now();
            const r = await runMeasurement(prog, args, { timeoutMs });
            const secs = ((Date.now() - t0) / 1000).toFixed(1);
            let note;
            if (r.skip) {
              cell.skip = r.skip;
              note = `skipped: ${r.skip}`;
            } else if (r.error) {
              cell.errors.push(r.error);
              note = `FAILED: ${r.error}`;
              // A hang is rarely specific to one case: spare the others its time bound.
              if (r.timedOut) k.stopped = `not run: it timed out in "${c.label}" (${r.error})`;
            } else {
              cell.samples.push(r.result.value);
              cell.extras.push(r.result);
              cell.lastResult = r.result;
              note = fmt(r.result.value);
            }
            process.stderr.write(
              `[Node ${process.versions.node.split('.')[0]}, round ${round + 1}/${rounds}] ` +
                `${fig.id} ${c.id} ${k.id}: ${note} (${secs} s)\n`,
            );
          }
        }
      }
    }
  }

  return {
    mode: opts.quick ? 'quick' : 'full',
    rounds,
    date: new Date(started).toISOString(),
    durationS: Math.round((Date.now() - started) / 1000),
    machine: machine(),
    figures: figs.map((fig) => summarize(fig)),
  };
}

function fmt(v) {
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
}

// Medians, spreads, extras and ratios against the figure's forkful reference.
function summarize(fig) {
  return {
    id: fig.id,
    title: fig.title,
    contenders: fig.contenders.map(({ id, label, family, ref }) => ({
      id,
      label,
      family,
      ref: !!ref,
    })),
    panels: fig.panels.map((panel) => ({
      id: panel.id,
      title: panel.title,
      unit: panel.unit,
      better: panel.better,
      cases: panel.cases.map((c) => {
        const cells = {};
        for (const [id, cell] of Object.entries(c.cells)) {
          const out = { n: cell.samples.length };
          if (cell.samples.length) {
            out.median = median(cell.samples);
            out.min = Math.min(...cell.samples);
            out.max = Math.max(...cell.samples);
            const extra = {};
            for (const key of Object.keys(cell.extras[0])) {
              if (key !== 'value' && typeof cell.extras[0][key] === 'number') {
                extra[key] = median(cell.extras.map((e) => e[key]));
              }
            }
            if (Object.keys(extra).length) out.extra = extra;
          } else if (cell.skip || cell.pendingSkip) {
            out.skip = cell.skip || cell.pendingSkip;
          } else if (cell.errors.length) {
            out.skip = `failed: ${cell.errors[0]}`;
          }
          if (cell.errors.length) out.errors = cell.errors;
          cells[id] = out;
        }
        const refId =
          fig.contenders.find((k) => k.ref && cells[k.id].median !== undefined)?.id ??
          fig.contenders.find((k) => k.family === 'forkful' && cells[k.id].median !== undefined)
            ?.id;
        if (refId) {
          const ref = cells[refId].median;
          for (const cell of Object.values(cells)) {
            if (cell.median === undefined) continue;
            // How many times faster forkful is than this contender.
            cell.forkfulSpeedup = panel.better === 'lower' ? cell.median / ref : ref / cell.median;
          }
        }
        return { id: c.id, label: c.label, params: strip(c), ref: refId ?? null, cells };
      }),
    })),
  };
}

function strip(c) {
  const { cells, id, label, ...rest } = c;
  return rest;
}

/** base.json and base.md; one chart per major: base.svg for the first,
 * base-node<major>.svg for the others. */
async function write(base, data) {
  fs.mkdirSync(path.dirname(base), { recursive: true });
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(data, null, 2)}\n`);
  const runs = data.runs ?? [{ node: data.machine.node, figures: data.figures }];
  const charts = runs.map((run, i) => {
    const name = `${path.basename(base)}${i === 0 ? '' : `-node${run.node.slice(1).split('.')[0]}`}.svg`;
    fs.writeFileSync(
      path.join(path.dirname(base), name),
      renderSvg({ ...data, figures: run.figures }),
    );
    return name;
  });
  fs.writeFileSync(`${base}.md`, renderMarkdown(data, charts));
  await prettify(`${base}.json`);
  await prettify(`${base}.md`);
}

// The repository's lint checks bench/ with prettier: format the results the
// same way when prettier is installed (the bench itself does not need it).
async function prettify(file) {
  let prettier;
  try {
    prettier = require('prettier');
  } catch {
    return;
  }
  const options = (await prettier.resolveConfig(file)) ?? {};
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, await prettier.format(text, { ...options, filepath: file }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
