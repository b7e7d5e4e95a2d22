'use strict';
// The performance goals, checked against a run's medians (printed after a
// run for developers; not part of the report).

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

/** The performance goals, checked against one Node line's figures (a
 * developers' checklist printed after a run; the report has the numbers). */
function goals(data) {
  const out = [];
  const ratioGoal = (figure, name, a, b, ok, text) =>
    out.push(
      check(figure, name, [a && b ? { ok: ok(a, b), text: text(a, b) } : { text: 'not measured' }]),
    );
  ratioGoal(
    'fig1',
    'Process start+join ≤ 0.8× Python mp.Process',
    v(cell(data, 'fig1', 'noop', 'forkful-process')),
    v(cell(data, 'fig1', 'noop', 'py-mp')),
    (ff, py) => ff <= 0.8 * py,
    (ff, py) => `forkful ${r(ff)} ms vs Python ${r(py)} ms (${r(ff / py)}×)`,
  );
  {
    const f2 = data.figures.find((x) => x.id === 'fig2');
    const parts = [];
    for (const c of f2 ? f2.panels[0].cases : []) {
      const ff = v(c.cells['forkful-fork']);
      const cf = v(c.cells['c-fork']);
      parts.push(
        ff && cf
          ? { ok: ff / cf <= 4, text: `${c.label}: ${r(ff / cf)}× C` }
          : { text: `${c.label}: not measured` },
      );
    }
    out.push(
      check(
        'fig2',
        'fork+exit+wait within 4× of C at the same resident size',
        parts.length ? parts : [{ text: 'not measured' }],
      ),
    );
  }
  for (const [caseId, size] of [
    ['map-default', '100k'],
    ['map-default-1m', '1M'],
  ]) {
    ratioGoal(
      'fig3',
      `Pool map of ${size} tiny tasks (default chunking) ≥ 1.5× Python Pool.map`,
      v(cell(data, 'fig3', caseId, 'forkful-pool')),
      v(cell(data, 'fig3', caseId, 'py-pool')),
      (ff, py) => ff >= 1.5 * py,
      (ff, py) => `${r(ff / py)}× (${r(ff)} vs ${r(py)} tasks/s)`,
    );
  }
  ratioGoal(
    'fig3',
    'apply round trip ≤ piscina',
    v(cell(data, 'fig3', 'apply', 'forkful-pool')),
    v(cell(data, 'fig3', 'apply', 'piscina')),
    (ff, pi) => ff <= pi,
    (ff, pi) => `forkful ${r(ff)} µs vs piscina ${r(pi)} µs`,
  );
  ratioGoal(
    'fig4',
    'uncontended Lock ≤ 40 ns',
    v(cell(data, 'fig4', 'uncontended', 'forkful-lock')),
    40,
    (ff) => ff <= 40,
    (ff) => `${r(ff)} ns`,
  );
  ratioGoal(
    'fig5',
    'Pipe small messages one way ≥ 3× Python Pipe',
    v(cell(data, 'fig5', 'small', 'forkful-pipe')),
    v(cell(data, 'fig5', 'small', 'py-pipe')),
    (ff, py) => ff >= 3 * py,
    (ff, py) => `${r(ff / py)}× (${r(ff)} vs ${r(py)} msg/s)`,
  );
  ratioGoal(
    'fig5',
    'Pipe ping-pong ≤ Python Pipe',
    v(cell(data, 'fig5', 'pingpong', 'forkful-pipe')),
    v(cell(data, 'fig5', 'pingpong', 'py-pipe')),
    (ff, py) => ff <= py,
    (ff, py) => `forkful ${r(ff)} vs Python ${r(py)}`,
  );
  {
    const f5 = data.figures.find((x) => x.id === 'fig5');
    const payload = f5?.panels.find((p) => p.id === 'payload');
    const parts = (payload?.cases ?? []).map((c) => {
      const pipe = v(c.cells['forkful-pipe']);
      const py = v(c.cells['py-pipe']);
      const queue = v(c.cells['forkful-queue']);
      return pipe && py && queue
        ? {
            ok: pipe >= py && queue >= 0.8 * pipe,
            text: `${c.label}: Pipe ${r(pipe)} MB/s vs Python ${r(py)}; Queue ${r(queue / pipe)}× Pipe`,
          }
        : { text: `${c.label}: not measured` };
    });
    out.push(
      check(
        'fig5',
        'Pipe payloads ≥ Python Pipe at every size; Queue ≥ 0.8× Pipe',
        parts.length ? parts : [{ text: 'not measured' }],
      ),
    );
  }
  {
    const f6 = data.figures.find((x) => x.id === 'fig6');
    const cases = f6 ? f6.panels[0].cases : [];
    out.push(
      check(
        'fig6',
        'code first run hot in a forked child within 1.2× of its parent',
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
  ratioGoal(
    'thread',
    'Thread start+join ≤ 1 ms',
    v(cell(data, 'thread', 'noop', 'forkful-thread')),
    1,
    (ff) => ff <= 1,
    (ff) => {
      const py = v(cell(data, 'thread', 'noop', 'py-thread'));
      return `${r(ff)} ms${py ? ` (Python threading.Thread ${r(py)} ms)` : ''}`;
    },
  );
  return out;
}

module.exports = { goals };
