// 11-pool-map in TypeScript: map<T, R> is typed by the function it runs.
import { withPool } from 'forkful/multiprocessing';

export function square(x: number): number {
  return x * x;
}

async function main(): Promise<void> {
  const squares: number[] = await withPool(5, (pool) =>
    pool.map(
      square,
      Array.from({ length: 10 }, (_, i) => i),
    ),
  );
  console.log(squares.join(' '));
}

void main();
