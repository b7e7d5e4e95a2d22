// The one framing of messages on a pipe or socket, shared by Connection
// (multiprocessing/connection.ts), the Queue's shared reader and feeder
// (multiprocessing/queue/) and the native sendFrame (native/connection.cc,
// which writes the same header in C++): each message is a 4-byte big-endian
// length and its bytes; a message of 2 GiB or more has the length
// 0xffffffff followed by its real length in 8 bytes. That is Python's
// multiprocessing framing (a signed 4-byte length, -1 announcing an 8-byte
// one), so send_bytes/recv_bytes of a Python peer read and write the same.
//
// Readers call headerSize() on the bytes they have, and bodySize() once the
// header is whole. Neither allocates: they run once per message.

/** The 4-byte length that announces an 8-byte one. */
export const HEADER_BIG = 0xffffffff;
/** The largest body a 4-byte header announces (Python reads it signed). */
export const SMALL_MAX = 0x7fffffff;
/** Header sizes: the usual one, and the one of a 2 GiB+ message. */
export const HEADER_SMALL = 4;
export const HEADER_LARGE = 12;

/** The header size a body of `size` bytes gets. */
export function headerFor(size: number): number {
  return size > SMALL_MAX ? HEADER_LARGE : HEADER_SMALL;
}

/** Writes the header of a `size`-byte body at `buf[at]`; returns its size. */
export function writeHeader(buf: Buffer, at: number, size: number): number {
  if (size <= SMALL_MAX) {
    buf.writeUInt32BE(size, at);
    return HEADER_SMALL;
  }
  buf.writeUInt32BE(HEADER_BIG, at);
  buf.writeBigUInt64BE(BigInt(size), at + 4);
  return HEADER_LARGE;
}

/** A header on its own, for a body written separately. */
export function header(size: number): Buffer {
  const out = Buffer.allocUnsafe(headerFor(size));
  writeHeader(out, 0, size);
  return out;
}

/** With `avail` bytes at `buf[start]`: the size of the header there once
 * it is whole, 0 while more bytes must come first. */
export function headerSize(buf: Buffer, start: number, avail: number): number {
  if (avail < HEADER_SMALL) return 0;
  if (buf.readUInt32BE(start) !== HEADER_BIG) return HEADER_SMALL;
  return avail >= HEADER_LARGE ? HEADER_LARGE : 0;
}

/** The body size a whole header (of size `headerBytes`) at `buf[start]` announces. */
export function bodySize(buf: Buffer, start: number, headerBytes: number): number {
  return headerBytes === HEADER_SMALL
    ? buf.readUInt32BE(start)
    : Number(buf.readBigUInt64BE(start + 4));
}

/** With `avail` bytes of a header read so far: how many more make it whole
 * (for readers that must not read past a message: see Connection's exact
 * mode). Assumes a 4-byte header until those bytes say otherwise. */
export function headerBytesMissing(buf: Buffer, start: number, avail: number): number {
  if (avail < HEADER_SMALL) return HEADER_SMALL - avail;
  return buf.readUInt32BE(start) === HEADER_BIG ? HEADER_LARGE - avail : 0;
}
