// 11-pool-map as an ES module, with the Node-style additions: `withPool`
// closes and joins the pool however the callback ends, and the map takes an
// AbortSignal (here a deadline) and reports progress.
import { withPool } from 'forkful/multiprocessing';

export function square(x) {
  return x * x;
}

const squares = await withPool(5, (pool) =>
  pool.map(
    square,
    Array.from({ length: 10 }, (_, i) => i),
    { signal: AbortSignal.timeout(30_000) },
  ),
);
console.log(squares.join(' '));
