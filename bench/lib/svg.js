'use strict';
// bench/results/*.svg, hand-written: one block per figure, one axis per panel
// (a log axis when values spread over more than ~30×), bars grouped by case,
// coloured by family, each labelled with contender, value and ratio.
const { FAMILIES } = require('../figures');
const { goals } = require('./goals');

const COLORS = {
  forkful: '#e8590c',
  'C floor': '#495057',
  'Python 3': '#1c7ed6',
  'Node built-in': '#2f9e44',
  'npm peer': '#9c36b5',
};
const W = 1000;
const LABEL_X = 290; // labels end here
const X0 = 300; // bars start here
const X1 = 800; // longest bar ends here
const ROW = 17;

const esc = (s) =>
  String(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

function short(x) {
  const a = Math.abs(x);
  if (a >= 1e9) return `${+(x / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(x / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(x / 1e3).toPrecision(3)}k`;
  if (a >= 100) return x.toFixed(0);
  return `${+x.toPrecision(3)}`;
}

function scaleFor(values) {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  if (lo > 0 && hi / lo > 30) {
    const a = Math.floor(Math.log10(lo));
    const b = Math.ceil(Math.log10(hi * 1.0001));
    const ticks = [];
    for (let e = a; e <= b; e++) ticks.push(10 ** e);
    const x = (v) => X0 + ((Math.log10(v) - a) / (b - a)) * (X1 - X0);
    return { log: true, x, ticks, base: X0 };
  }
  const step = niceStep(hi / 5);
  const top = Math.ceil(hi / step) * step;
  const ticks = [];
  for (let t = 0; t <= top + step / 2; t += step) ticks.push(t);
  return { log: false, x: (v) => X0 + (v / top) * (X1 - X0), ticks, base: X0 };
}

function niceStep(raw) {
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

function renderSvg(data) {
  const out = [];
  let y = 0;
  const text = (x, yy, s, attrs = '') =>
    out.push(`<text x="${x}" y="${yy}" ${attrs}>${esc(s)}</text>`);

  y += 30;
  text(20, y, 'forkful against its peers', 'class="h1"');
  y += 20;
  const m = data.machine;
  text(
    20,
    y,
    `${data.mode} run, ${data.date.slice(0, 10)}: medians of ${data.rounds} alternating rounds · ` +
      `${m.cores} cores (${m.cpu}) · Node ${m.node} · Python ${m.python ?? 'absent'}`,
    'class="sub"',
  );
  y += 22;
  let lx = 20;
  for (const fam of FAMILIES) {
    out.push(`<rect x="${lx}" y="${y - 10}" width="12" height="12" rx="2" fill="${COLORS[fam]}"/>`);
    text(lx + 17, y, fam, 'class="legend"');
    lx += 40 + fam.length * 7.5;
  }
  text(
    W - 20,
    y,
    'ratio = how many times faster forkful is (★ = forkful reference)',
    'class="note" text-anchor="end"',
  );
  y += 14;

  for (const fig of data.figures) {
    y += 30;
    out.push(`<line x1="20" x2="${W - 20}" y1="${y - 20}" y2="${y - 20}" class="sep"/>`);
    text(20, y, fig.title, 'class="h2"');
    for (const g of goals(data).filter((x) => x.figure === fig.id)) {
      const cls = g.status === 'met' ? 'met' : g.status === 'missed' ? 'missed' : 'unknown';
      y += 17;
      text(20, y, `goal ${g.status}: ${g.goal}`, `class="${cls}"`);
      // The figures behind the verdict, wrapped at '; ' to fit the width.
      const lines = [''];
      for (const part of g.detail.split('; ')) {
        const last = lines.length - 1;
        if (lines[last] && lines[last].length + part.length > 150) lines.push(part);
        else lines[last] = lines[last] ? `${lines[last]}; ${part}` : part;
      }
      for (const l of lines) {
        y += 15;
        text(32, y, l, `class="${cls} detail"`);
      }
    }
    const famOf = Object.fromEntries(fig.contenders.map((k) => [k.id, k.family]));
    for (const panel of fig.panels) {
      y += 24;
      text(20, y, panel.title, 'class="h3"');
      const values = [];
      for (const c of panel.cases)
        for (const cell of Object.values(c.cells))
          if (cell.median > 0) values.push(cell.median, cell.max);
      y += 8;
      if (!values.length) {
        y += 14;
        text(X0, y, 'nothing measured', 'class="skip"');
        continue;
      }
      const s = scaleFor(values);
      // Axis with ticks; grid lines are drawn once the panel height is known.
      y += 12;
      const axisY = y;
      const gridStart = out.length;
      for (const t of s.ticks) text(s.x(t), axisY, short(t), 'class="tick" text-anchor="middle"');
      text(X1 + 40, axisY, `${panel.unit}${s.log ? ' (log)' : ''}`, 'class="tick"');
      y += 6;
      for (const c of panel.cases) {
        y += ROW;
        text(20, y, c.label, 'class="case"');
        for (const k of fig.contenders) {
          const cell = c.cells[k.id];
          y += ROW;
          const star = c.ref === k.id ? ' ★' : '';
          text(LABEL_X, y - 4, k.label + star, 'class="label" text-anchor="end"');
          if (cell.median === undefined) {
            const why =
              cell.skip && cell.skip.length > 78 ? `${cell.skip.slice(0, 76)}…` : cell.skip;
            text(X0 + 4, y - 4, `skipped: ${why}`, 'class="skip"');
            continue;
          }
          const end = Math.max(s.x(cell.median), X0 + 2);
          out.push(
            `<rect x="${X0}" y="${y - 14}" width="${(end - X0).toFixed(1)}" height="${ROW - 4}" rx="2" fill="${COLORS[famOf[k.id]]}"><title>${esc(
              `${k.label}: median ${short(cell.median)} ${panel.unit}, min ${short(cell.min)}, max ${short(cell.max)}, ${cell.n} rounds`,
            )}</title></rect>`,
          );
          // The spread of the rounds as a thin whisker.
          if (cell.max > cell.min) {
            const a = Math.max(s.x(cell.min), X0);
            const b = s.x(cell.max);
            out.push(
              `<line x1="${a.toFixed(1)}" x2="${b.toFixed(1)}" y1="${y - 7.5}" y2="${y - 7.5}" class="whisker"/>`,
            );
          }
          let label = `${short(cell.median)} ${panel.unit}`;
          if (c.ref && c.ref !== k.id && cell.forkfulSpeedup !== undefined) {
            const r = cell.forkfulSpeedup;
            label += `  ·  forkful ${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;
          }
          text(Math.max(end, s.x(cell.max)) + 6, y - 4, label, 'class="value"');
        }
      }
      const grid = s.ticks.map((t) => {
        const x = s.x(t).toFixed(1);
        return `<line x1="${x}" x2="${x}" y1="${axisY + 4}" y2="${y + 2}" class="grid"/>`;
      });
      out.splice(gridStart, 0, ...grid);
    }
  }
  y += 30;
  const style = `<style>
text { font-family: 'DejaVu Sans', Verdana, Arial, sans-serif; fill: #212529; }
.h1 { font-size: 22px; font-weight: bold; }
.h2 { font-size: 16px; font-weight: bold; }
.h3 { font-size: 13px; fill: #343a40; font-weight: bold; }
.sub, .note { font-size: 12px; fill: #495057; }
.legend { font-size: 12px; }
.case { font-size: 12px; font-style: italic; fill: #495057; }
.label { font-size: 12px; }
.value { font-size: 11px; fill: #343a40; }
.tick { font-size: 10px; fill: #868e96; }
.skip { font-size: 11px; fill: #adb5bd; font-style: italic; }
.met { font-size: 11px; fill: #2b8a3e; }
.missed { font-size: 11px; fill: #c92a2a; }
.unknown { font-size: 11px; fill: #868e96; }
.met, .missed, .unknown { font-weight: bold; }
.detail { font-weight: normal; }
.grid { stroke: #e9ecef; stroke-width: 1; }
.sep { stroke: #ced4da; stroke-width: 1; }
.whisker { stroke: #000; stroke-opacity: 0.45; stroke-width: 1.5; }
</style>`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}">\n` +
    `<rect width="100%" height="100%" fill="#fff"/>\n${style}\n${out.join('\n')}\n</svg>\n`
  );
}

module.exports = { renderSvg };
