// Closing must end even when Redis is gone for good: commands wait for Redis
// to come back (maxRetriesPerRequest: null), so every wait on it at close is
// bounded, and what is left undone there is left to the TTL and the sweeps.

/** Resolves true when `work` settled within `ms`, false when it did not
 * (`work` goes on; its failure is ignored either way). */
export function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    work.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}
