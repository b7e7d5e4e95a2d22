// gevent's IdentRegistry (Greenlet.minimal_ident): the smallest non-negative
// integer no live object holds, given on first request and free again once
// the object is garbage-collected (gevent: a weak reference's callback).

const taken = new Set<number>();
// The smallest number that may be free (every number below it is taken).
let lowest = 0;
const idents = new WeakMap<object, number>();
const release = new FinalizationRegistry<number>((ident) => {
  taken.delete(ident);
  if (ident < lowest) lowest = ident;
});

/** `owner`'s minimal ident, assigned on the first call. */
export function minimalIdentOf(owner: object): number {
  let ident = idents.get(owner);
  if (ident === undefined) {
    ident = lowest;
    while (taken.has(ident)) ident++;
    taken.add(ident);
    lowest = ident + 1;
    idents.set(owner, ident);
    release.register(owner, ident);
  }
  return ident;
}
