'use strict';
// Helpers shared by the Node measurement scripts.

/** The measurement's parameters: a JSON object in argv[2]. */
function params() {
  return JSON.parse(process.argv[2] || '{}');
}

function now() {
  return Number(process.hrtime.bigint()) / 1e6; // ms
}

function result(obj) {
  process.stdout.write(`RESULT ${JSON.stringify(obj)}\n`);
}

function skip(reason) {
  process.stdout.write(`SKIP ${reason}\n`);
  process.exit(0);
}

/** Loads a forkful module, or null when it cannot load. */
function tryRequire(id) {
  try {
    return require(id);
  } catch (e) {
    return { __error: e };
  }
}

/** forkful export `name` of module `id`, or SKIP saying it is not there yet. */
function forkfulExport(id, name) {
  const mod = tryRequire(id);
  if (mod.__error) skip(`${id} does not load: ${mod.__error.message.split('\n')[0]}`);
  const value = mod[name];
  if (value === undefined) skip(`not available yet: ${id} has no ${name}`);
  return value;
}

/** Runs `fn`; a failure becomes SKIP with the reason (a feature that does not work yet). */
async function orSkip(what, fn) {
  try {
    return await fn();
  } catch (e) {
    skip(`${what} does not work yet: ${String(e && e.message).split('\n')[0]}`);
  }
  return undefined;
}

/** Resolves with `value` or rejects after ms (bounds every wait on a feature under test). */
function within(ms, promise, what) {
  let t;
  const timeout = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(t));
}

/** Awaits the value if it is a promise (APIs may be sync or async). */
async function settle(v) {
  return v && typeof v.then === 'function' ? await v : v;
}

module.exports = { params, now, result, skip, tryRequire, forkfulExport, orSkip, within, settle };
