// The addon's byte-slice arguments (buffer, offset, length): one check for
// sendFrame, queueFrame, readInto and writeSome, a RangeError naming them
// before any byte moves, and the named slice is what is written or filled.
import { native } from '../../lib/core/native';
import { needsAddon } from '../helpers/needs';

needsAddon.describe('native byte slices', () => {
  test('outside the buffer, NaN or negative: RangeError, nothing written', () => {
    const [r, w] = native!.pipe();
    try {
      const buf = Buffer.from('abcdefgh');
      for (const [offset, length] of [
        [5, 4],
        [-1, 2],
        [NaN, 1],
        [0, 9],
      ]) {
        expect(() => native!.writeSome(w, buf, offset, length)).toThrow(
          /offset and length must lie inside the buffer/,
        );
        expect(() => native!.sendFrame(w, buf, offset, length)).toThrow(
          /offset and size must lie inside the buffer/,
        );
        expect(() => native!.queueFrame(w, buf, offset, length)).toThrow(
          /must lie inside the buffer/,
        );
        expect(() => native!.readInto(r, buf, offset, length)).toThrow(
          /must lie inside the buffer/,
        );
      }
      // The slice named is the slice moved.
      expect(native!.writeSome(w, buf, 2, 3)).toBe(3);
      const into = Buffer.alloc(8, 0x2e);
      expect(native!.readInto(r, into, 4, 3)).toBe(3);
      expect(into.toString()).toBe('....cde.');
    } finally {
      native!.close(r);
      native!.close(w);
    }
  });
});
