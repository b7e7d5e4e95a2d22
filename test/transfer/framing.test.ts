// The one framing (lib/transfer/framing.ts): headers written and read back,
// incomplete headers, the 8-byte form, and the native sendFrame writing the
// same bytes.
import {
  HEADER_BIG,
  HEADER_LARGE,
  HEADER_SMALL,
  SMALL_MAX,
  bodySize,
  header,
  headerBytesMissing,
  headerFor,
  headerSize,
  writeHeader,
} from '../../lib/transfer/framing';
import { native } from '../../lib/core/native';
import { needsAddon } from '../helpers/needs';

test('a small body gets a 4-byte big-endian length', () => {
  const buf = Buffer.alloc(8, 0xaa);
  expect(writeHeader(buf, 2, 258)).toBe(HEADER_SMALL);
  expect([...buf.subarray(2, 6)]).toEqual([0, 0, 1, 2]);
  expect(headerSize(buf, 2, 6)).toBe(HEADER_SMALL);
  expect(bodySize(buf, 2, HEADER_SMALL)).toBe(258);
  expect(header(0)).toEqual(Buffer.from([0, 0, 0, 0]));
});

test("2 GiB and more: 0xffffffff, then the length in 8 bytes (Python's framing)", () => {
  const size = 2 ** 32 + 5;
  // Python reads the 4-byte length signed: 2 GiB - 1 is the largest it takes.
  expect(headerFor(SMALL_MAX)).toBe(HEADER_SMALL);
  expect(headerFor(SMALL_MAX + 1)).toBe(HEADER_LARGE);
  expect(header(SMALL_MAX + 1).readUInt32BE(0)).toBe(HEADER_BIG);
  expect(headerFor(HEADER_BIG)).toBe(HEADER_LARGE);
  const buf = header(size);
  expect(buf.length).toBe(HEADER_LARGE);
  expect(buf.readUInt32BE(0)).toBe(HEADER_BIG);
  expect(headerSize(buf, 0, HEADER_LARGE)).toBe(HEADER_LARGE);
  expect(bodySize(buf, 0, HEADER_LARGE)).toBe(size);
});

test('an incomplete header reads as 0 and says how many bytes are missing', () => {
  const small = header(7);
  expect(headerSize(small, 0, 3)).toBe(0);
  expect(headerBytesMissing(small, 0, 3)).toBe(1);
  expect(headerBytesMissing(small, 0, 4)).toBe(0);
  const large = header(HEADER_BIG + 1);
  expect(headerSize(large, 0, 4)).toBe(0);
  expect(headerSize(large, 0, 11)).toBe(0);
  expect(headerBytesMissing(large, 0, 4)).toBe(8);
  expect(headerBytesMissing(large, 0, 11)).toBe(1);
});

needsAddon.test("native sendFrame writes this framing's bytes", () => {
  const addon = native!;
  const [r, w] = addon.pipe();
  try {
    const body = Buffer.from('hello, frames');
    addon.sendFrame(w, body);
    addon.sendFrame(w, body, 7, 6);
    const got = addon.read(r, 1024);
    const first = headerSize(got, 0, got.length);
    expect(first).toBe(HEADER_SMALL);
    expect(bodySize(got, 0, first)).toBe(body.length);
    const next = first + body.length;
    expect(got.subarray(first, next).toString()).toBe('hello, frames');
    expect(bodySize(got, next, headerSize(got, next, got.length - next))).toBe(6);
    expect(got.subarray(next + HEADER_SMALL).toString()).toBe('frames');
  } finally {
    addon.close(r);
    addon.close(w);
  }
});
