'use strict';
// The goals of issue 8 (and issue 11's child JIT), checked against a run's medians.

function cell(data, fig, caseId, contender) {
  const f = data.figures.find((x) => x.id === fig);
  if (!f) return undefined;
  for (const p of f.panels) {
    const c = p.cases.find((x) => x.id === caseId);
    if (c) return c.cells[contender];
  }
  return undefined;
}

const v = (c) => c?.median;
const r = (x) =>
  x >= 1e6
    ? `${(x / 1e6).toFixed(2)}M`
    : x >= 1e4
      ? `${(x / 1e3).toFixed(1)}k`
      : x >= 100
        ? x.toFixed(0)
        : x.toPrecision(3);

function check(figure, name, parts) {
  // parts: [{ ok: bool|undefined, text }]
  const known = parts.filter((p) => p.ok !== undefined);
  const status =
    known.length < parts.length ? 'not measured' : known.every((p) => p.ok) ? 'met' : 'missed';
  return { figure, goal: name, status, detail: parts.map((p) => p.text).join('; ') };
}

function goals(data) {
  const out = [];
  {
    const ff = v(cell(data, 'fig1', 'noop', 'forkful-process'));
    const py = v(cell(data, 'fig1', 'noop', 'py-mp'));
    const cp = v(cell(data, 'fig1', 'noop', 'cp-fork'));
    out.push(
      check(
        'fig1',
        'Process start+join at most Python mp.Process, and ≥ 10× faster than child_process.fork',
        [
          ff && py
            ? { ok: ff <= py, text: `forkful ${r(ff)} ms vs Python ${r(py)} ms` }
            : { text: 'forkful Process or Python not measured' },
          ff && cp
            ? {
                ok: cp / ff >= 10,
                text: `${r(cp / ff)}× faster than child_process.fork (${r(cp)} ms)`,
              }
            : { text: 'child_process.fork ratio not measured' },
        ],
      ),
    );
  }
  {
    const f2 = data.figures.find((x) => x.id === 'fig2');
    const cases = f2 ? f2.panels[0].cases : [];
    const parts = [];
    const pts = [];
    for (const c of cases) {
      const ff = c.cells['forkful-fork'];
      const cf = c.cells['c-fork'];
      if (v(ff) && v(cf)) {
        const sp = v(c.cells['c-fork-sparse']);
        const sparse = sp ? ` (${r(ff.median / sp)}× C in 256 KiB mappings)` : '';
        parts.push({
          ok: ff.median / cf.median <= 4,
          text: `${c.label}: ${r(ff.median / cf.median)}× C${sparse}`,
        });
        pts.push({
          rss: ff.extra?.rssMB,
          ff: ff.median,
          crss: cf.extra?.rssMB,
          c: cf.median,
          sp: v(c.cells['c-fork-sparse']),
        });
      } else parts.push({ text: `${c.label}: not measured` });
    }
    if (pts.length >= 2) {
      const [a, b] = [pts[0], pts[pts.length - 1]];
      const sf = ((b.ff - a.ff) / (b.rss - a.rss)) * 1000;
      const sc = ((b.c - a.c) / (b.crss - a.crss)) * 1000;
      const ss = a.sp && b.sp ? ((b.sp - a.sp) / (b.crss - a.crss)) * 1000 : undefined;
      const sparse = ss !== undefined ? ` (C in 256 KiB mappings ${r(ss)} ms/GB)` : '';
      parts.push({
        ok: sf <= sc * 1.1,
        text: `growth ${r(sf)} ms/GB vs C ${r(sc)} ms/GB${sparse}`,
      });
    }
    out.push(
      check(
        'fig2',
        'fork+exit+wait within 4× of C at the same resident size, growing no faster',
        parts,
      ),
    );
  }
  {
    const ff = v(cell(data, 'fig3', 'map-default', 'forkful-pool'));
    const py = v(cell(data, 'fig3', 'map-default', 'py-pool'));
    const pi = v(cell(data, 'fig3', 'map-default', 'piscina'));
    out.push(
      check('fig3', 'Pool tiny-task map ≥ Python Pool.map (default chunking) and ≥ 5× piscina', [
        ff && py
          ? { ok: ff >= py, text: `forkful ${r(ff)} tasks/s vs Python ${r(py)} tasks/s` }
          : { text: 'forkful Pool or Python not measured' },
        ff && pi
          ? { ok: ff / pi >= 5, text: `${r(ff / pi)}× piscina` }
          : { text: 'piscina ratio not measured' },
      ]),
    );
  }
  {
    const ff = v(cell(data, 'fig4', 'uncontended', 'forkful-lock'));
    out.push(
      check('fig4', 'Uncontended Lock at most 40 ns', [
        ff ? { ok: ff <= 40, text: `${r(ff)} ns` } : { text: 'forkful Lock not measured' },
      ]),
    );
  }
  {
    const ff = v(cell(data, 'fig5', 'small', 'forkful-pipe'));
    const py = v(cell(data, 'fig5', 'small', 'py-pipe'));
    const f5 = data.figures.find((x) => x.id === 'fig5');
    const big = f5?.panels.find((p) => p.id === 'payload')?.cases.at(-1);
    const fb = v(big?.cells['forkful-pipe']);
    out.push(
      check('fig5', 'Pipe small messages ≥ 3× Python Pipe; large payloads ≥ 1 GB/s', [
        ff && py
          ? { ok: ff / py >= 3, text: `${r(ff / py)}× Python Pipe (${r(ff)} vs ${r(py)} msg/s)` }
          : { text: 'forkful Pipe or Python Pipe not measured' },
        fb
          ? { ok: fb >= 1000, text: `${r(fb)} MB/s at ${big.label}` }
          : { text: 'large payload not measured' },
      ]),
    );
  }
  {
    const f6 = data.figures.find((x) => x.id === 'fig6');
    const cases = f6 ? f6.panels[0].cases : [];
    out.push(
      check(
        'fig6',
        'Code first run hot in a forked child within 1.2× of its parent (issue 11)',
        cases.length
          ? cases.map((c) => {
              const ff = v(c.cells['forkful-osfork']);
              return ff
                ? { ok: ff <= 1.2, text: `${c.label}: ${r(ff)}×` }
                : { text: `${c.label}: not measured` };
            })
          : [{ text: 'not measured' }],
      ),
    );
  }
  return out;
}

module.exports = { goals };
