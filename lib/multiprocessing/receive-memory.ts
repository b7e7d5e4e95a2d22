// Memory for received messages (Connection's read buffer, a Queue
// reader's large items). Fresh memory is what receiving costs: every page
// of a message the user keeps is a page fault, and one fault per 2 MiB
// huge page costs far less than 512 of 4 KiB (measured on a VM: 64 MiB of
// fresh 4 KiB pages 540 ms, of huge pages 24 ms). The addon's recvSlab
// gives huge pages, and recycles them: once V8 has freed a slab's last
// ArrayBuffer, the next slab of its size is that memory again, its pages
// already there (native/recv_slabs.cc). Without the addon (or where the
// embedder keeps ArrayBuffers in a V8 sandbox) it is plain memory.
import type { NativeAddon } from '../core/addon';

type SlabSource = Partial<Pick<NativeAddon, 'recvSlab'>>;

/** `size` bytes of memory of their own (a view of a slab of huge pages
 * rounded up to 2 MiB, when the addon is there). */
export function receiveMemory(native: SlabSource, size: number): Buffer {
  const slab = native.recvSlab?.(size);
  return slab ? Buffer.from(slab, 0, size) : Buffer.allocUnsafeSlow(size);
}

/** Messages from this size on (a Node stream's read chunk) are received
 * into shared slabs and handed out as views; a kept one then pins at most
 * 64 times its size. Smaller ones get memory of their own: cheap, and they
 * pin nothing. */
export const LEND_MIN = 64 * 1024;

/** Hands out memory for messages from slabs of SLAB bytes, one after the
 * other, never twice (each piece is its message's own memory; a kept
 * message keeps its slab alive, as Node's pooled Buffers keep their pool).
 * A piece larger than a quarter of a slab gets memory of its own. */
export class ReceiveSlabs {
  static readonly SLAB = 4 * 1024 * 1024;
  #slab: Buffer | null = null;
  #at = 0;
  readonly #native: SlabSource;

  constructor(native: SlabSource) {
    this.#native = native;
  }

  take(size: number): Buffer {
    if (size < LEND_MIN) return Buffer.allocUnsafe(size);
    if (size > ReceiveSlabs.SLAB / 4) return receiveMemory(this.#native, size);
    if (!this.#slab || this.#slab.length - this.#at < size) {
      this.#slab = receiveMemory(this.#native, ReceiveSlabs.SLAB);
      this.#at = 0;
    }
    const piece = this.#slab.subarray(this.#at, this.#at + size);
    this.#at += size;
    return piece;
  }
}
