// packRange (lib/multiprocessing/pool/protocol.ts): a map chunk's items, as
// they travel. All numbers (and enough of them): one Float64Array, which
// keeps -0, NaN and every double; anything else: a plain copy, holes kept.
import {
  ItemRange,
  PACK_MIN,
  packRange,
  packValues,
} from '../../lib/multiprocessing/pool/protocol';
import { isFloat64Array } from 'node:util/types';

const ints = (n: number) => Array.from({ length: n }, (_, i) => i);

test('numbers pack into a Float64Array that keeps every value', () => {
  const edges = [-0, NaN, Infinity, -Infinity, 2 ** 53 + 2, -(2 ** 31), 5e-324, 1.5];
  const items = [...edges, ...ints(PACK_MIN)];
  const packed = packRange(items, 0, items.length);
  expect(isFloat64Array(packed)).toBe(true);
  expect(Array.from(packed).every((v, i) => Object.is(v, items[i]))).toBe(true);
  // A range of it, and packValues passes a packed chunk through.
  const part = packRange(items, 3, 3 + PACK_MIN);
  expect(Array.from(part)).toEqual(items.slice(3, 3 + PACK_MIN));
  expect(packValues(part)).toBe(part);
  // A chunk queued as a range of the call's copy is packed when sent.
  const range = new ItemRange(items, 3, 3 + PACK_MIN);
  expect(range.length).toBe(PACK_MIN);
  expect(Array.from(packValues(range))).toEqual(items.slice(3, 3 + PACK_MIN));
});

test('anything but numbers, or too few, is a plain copy', () => {
  const holes = ints(100);
  delete holes[50];
  for (const odd of ['7', 7n, undefined, null, { x: 1 }, [1]]) {
    const items: unknown[] = ints(100);
    items[99] = odd;
    const copy = packRange(items, 0, 100);
    expect(Array.isArray(copy)).toBe(true);
    expect(copy).toEqual(items);
    expect(copy).not.toBe(items);
  }
  const holey = packRange(holes, 0, 100) as unknown[];
  expect(Array.isArray(holey) && !(50 in holey) && holey.length === 100).toBe(true);
  const few = packRange(ints(10), 0, PACK_MIN - 1);
  expect(Array.isArray(few)).toBe(true);
});
