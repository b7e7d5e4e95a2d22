'use strict';
// The cost of Python-style indexing on a shared Array (docs/synchronize.md):
// `node bench/node/array-index.js` prints ns per item for the typed array
// itself (view[i]), get(i), arr[i] (the Proxy below the prototype) and the
// synchronized forms. Not a figure of `npm run bench`: a one-off comparison.
const { RawArray, Array: SharedArray } = require('../../dist/multiprocessing');

const N = 1000;
const raw = new RawArray('i', N);
const sync = SharedArray('i', N);
const view = raw.view;

function time(label, rounds, fn) {
  for (let w = 0; w < 3; w++) fn(rounds);
  const start = process.hrtime.bigint();
  const sink = fn(rounds);
  const ns = Number(process.hrtime.bigint() - start) / (N * rounds);
  if (!Number.isFinite(sink)) throw new Error(`${label}: no result`);
  console.log(`${label.padEnd(26)} ${ns.toFixed(2).padStart(8)} ns/item`);
}

// One loop per form, written out: a shared helper taking a closure would
// measure the closure call as much as the access.
time('view[i]', 2000, (rounds) => {
  let s = 0;
  for (let r = 0; r < rounds; r++) for (let i = 0; i < N; i++) s += view[i];
  return s;
});
time('raw.get(i)', 2000, (rounds) => {
  let s = 0;
  for (let r = 0; r < rounds; r++) for (let i = 0; i < N; i++) s += raw.get(i);
  return s;
});
time('raw[i]', 2000, (rounds) => {
  let s = 0;
  for (let r = 0; r < rounds; r++) for (let i = 0; i < N; i++) s += raw[i];
  return s;
});
time('raw[i] = v', 2000, (rounds) => {
  for (let r = 0; r < rounds; r++) for (let i = 0; i < N; i++) raw[i] = i;
  return 0;
});
time('sync.get(i) (lock)', 200, (rounds) => {
  let s = 0;
  for (let r = 0; r < rounds; r++) for (let i = 0; i < N; i++) s += sync.get(i);
  return s;
});
time('sync[i] (lock)', 200, (rounds) => {
  let s = 0;
  for (let r = 0; r < rounds; r++) for (let i = 0; i < N; i++) s += sync[i];
  return s;
});
