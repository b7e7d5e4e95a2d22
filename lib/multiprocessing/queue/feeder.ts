// Python's Queue feeder thread, on the event loop: put() hands an encoded
// item to its queue's Feeder, which writes items in order under the
// channel's writer lock, batching the items of one event-loop turn into one
// lock round trip and one write(2), and waiting for room in the pipe
// without blocking. A child flushes its feeders before it ends (as Python
// joins the feeder thread), unless cancelJoinThread() was called; a forked
// child forgets the copies of its parent's.
import { requireNative } from '../../core/native';
import type { FdWatch } from '../../core/addon';
import { setPendingWrites } from '../../core/pending-writes';
import { procStat } from '../start/proc-stat';
import { afterFork, beforeChildExit, Order } from '../../runtime/lifecycle';
import { headerFor, writeHeader } from '../../transfer/framing';
import { BYTES_LEAD, scratch, writeBytesLead } from '../../transfer/wire';
import { beginBatch, endBatch, type Channel } from './channel';

/** Feeders with items still to write (or a write under way). */
const active = new Set<Feeder>();

/** A feeder holds items: the blocking waits of this thread write them
 * between their slices (lib/core/pending-writes.ts). */
function activate(feeder: Feeder): void {
  if (active.size === 0) setPendingWrites(flushFeedersSync);
  active.add(feeder);
}

function deactivate(feeder: Feeder): void {
  active.delete(feeder);
  if (active.size === 0) setPendingWrites(null);
}

// The event-loop turns, as put() sees them: the first put of a turn writes
// at once, the others of that turn wait for the next (batching). One shared
// immediate advances the count and flushes the feeders that batched, so an
// idle feeder is referenced by nothing but its Queue (a pending immediate
// per feeder kept every Queue put in a loop that never yields alive, with
// its arena blocks and buffers).
let turn = 0;
let turnTick: NodeJS.Immediate | null = null;
/** Feeders with items batched for the next turn. */
const batched = new Set<Feeder>();

function nextTurn(): void {
  turnTick = null;
  turn++;
  const due = [...batched];
  batched.clear();
  for (const feeder of due) feeder.onTurn();
}

// A forked child's copy of a feeder holds the parent's items: the parent
// writes them, the copy forgets them. The parent's pending immediate does
// not run here.
// prettier-ignore
afterFork("queue: feeders forget the parent's items", Order.multiprocessing, (function forgetParentItems() {
  for (const feeder of active) feeder.forget();
  active.clear();
  setPendingWrites(null);
  batched.clear();
  turnTick = null;
  turn++;
}));
// prettier-ignore
beforeChildExit('queue: feeders write what they hold', Order.multiprocessing, (function drainAtExit() {
  return Promise.all([...active].filter((f) => f.joinAtExit).map((feeder) => feeder.drain(true)));
}));

/** True when `p` settles within `ms`. */
function settlesWithin(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, ms, false)));
  return Promise.race([p.then(() => true), late]).finally(() => clearTimeout(timer));
}

/** Small frames are copied into one buffer and go out in one write. */
const ACC_SIZE = 64 * 1024;
/** A body this large is written from its own buffer rather than copied. */
const OWN_SEGMENT = 8 * 1024;
/** Queued bytes that make put() write at once rather than at the next turn. */
const HIGH_WATER = 32 * 1024;
/** A Buffer or Uint8Array put this large is written from the caller's
 * memory (see push): always at once, since it reaches HIGH_WATER. */
export const BORROW_MIN = HIGH_WATER;
/** Copies of borrowed bodies are made in buffers of at least this size,
 * which the feeder reuses once written (a fresh buffer costs a page fault
 * per 4 KiB on first use, more than the copy); SPARE_MAX bytes of them are
 * kept while the feeder is busy, none once it is idle. */
const COPY_MIN = 64 * 1024;
const SPARE_MAX = 1024 * 1024;
/** Copies of bodies this large are made in slabs of the addon's pool of
 * receive memory (native/recv_slabs.cc), given back to it as soon as they
 * are written (or dropped): the next large copy, of this queue or any
 * other, finds its pages there (huge pages, recycled) instead of faulting
 * in fresh ones (issue 17: a 16 MiB put spent a third of its time in the
 * kernel zeroing the copy's fresh pages). Not smaller ones: a slab is a
 * whole number of 2 MiB huge pages, and a burst of puts that the reader has
 * not drained needs a fresh one per copy (a 1 MiB copy in a 2 MiB huge page
 * zeroed twice its size: measured, the writer of a burst of 1 MiB items
 * spent 31% of its time in clear_page); from 8 MiB on, at most a quarter
 * more than the copy is zeroed. */
const SLAB_COPY_MIN = 8 * 1024 * 1024;
/** Accumulation buffers of idle feeders, for the next feeder of this
 * thread: a Queue made, used and closed leaves none of its own behind
 * (each was 64 KiB of malloc'd memory held until the Queue was collected,
 * and the process's heap kept the high-water mark of them: issue 14,
 * item 11). */
const idleAccs: Buffer[] = [];
const IDLE_ACCS_MAX = 4;

function takeAcc(need: number): Buffer {
  if (need <= ACC_SIZE) {
    const acc = idleAccs.pop();
    if (acc) return acc;
  }
  return Buffer.allocUnsafeSlow(Math.max(ACC_SIZE, need));
}
/** How often a feeder looks again whether a reader dropped the torn end of
 * a batch whose writer died (nothing may be written after it before). */
const TORN_RETRY_MS = 20;
/** How often a feeder waiting for the writer lock checks that its holder
 * lives (as the lock's own blocking wait, native/sync.cc). */
const HOLDER_CHECK_MS = 50;
/** At exit, how long a feeder waits for a writer lock whose holder is
 * stopped (SIGSTOP, a debugger) before it gives up on its items (ms). A
 * running holder is waited for without limit, as Python joins its feeder
 * thread; a stopped one would hold the exit forever. */
const STOPPED_HOLDER_GIVE_UP_MS = 2000;

/**
 * Before this thread blocks, and between the slices of its blocking waits
 * (lib/core/pending-writes.ts): every feeder writes what it can now,
 * waiting neither for the writer lock nor for room in the pipe (the lock
 * may be held by a writer that waits for this very thread to read, or by
 * a stopped process: a wait for it could last forever, issue 14). A batch
 * the pipe took in part keeps the lock, as Python's feeder thread keeps it
 * while its write waits for room; the next slice writes more. True while
 * some items are still unwritten: the caller looks again soon, as those
 * may be the items someone waits for (getSync: perhaps its own).
 */
export function flushFeedersSync(): boolean {
  let unwritten = false;
  for (const feeder of active) {
    feeder.flushSome();
    if (feeder.holdsItems()) unwritten = true;
  }
  return unwritten;
}

/** Before a read that looks without waiting (empty(), a get that finds
 * nothing buffered): this thread's items for `ch` go into the pipe now, as
 * far as it takes them without waiting, so that a thread sees what it put
 * itself (queue.Queue has no delay; the batch would wait for the next turn). */
export function flushFeedersOf(ch: Channel): void {
  for (const feeder of active) if (feeder.feeds(ch)) feeder.flushSome();
}

/**
 * Python's feeder thread, on the event loop. put() appends the framed item
 * (lib/transfer/framing.ts) to a buffer; the first put of an event-loop turn writes at once
 * when the writer lock is free (low latency), later ones in the same turn
 * are batched and written together at the next turn (setImmediate) or when
 * HIGH_WATER bytes are queued: one lock round trip and one write(2) for many
 * items. The writer lock is held from the first byte of a batch to its
 * last, so items from several processes never interleave; when the pipe is
 * full or the lock is taken, the feeder waits on the event loop.
 */
export class Feeder {
  joinAtExit = true;
  readonly #native = requireNative('Queue');
  // Sealed segments, oldest first, from #head on (#headOff bytes of the
  // first already written); then #acc[#accOff, #accLen), the newest bytes.
  #segs: Buffer[] = [];
  #head = 0;
  #headOff = 0;
  #acc: Buffer | null = null;
  #accOff = 0;
  #accLen = 0;
  #queued = 0; // bytes not yet written
  #running: Promise<void> | null = null;
  #holding = false; // this feeder holds the writer lock
  /** The turn of this feeder's last first-put (see `turn`). */
  #turn = -1;
  /** When the holder of the writer lock was last checked for life, or
   * first found holding it (ms); 0 after the lock was taken. */
  #checked = 0;
  #keepAlive: NodeJS.Timeout | null = null;
  #room: FdWatch | null = null;
  #onRoom: (() => void) | null = null;
  /** Segments that are copies of borrowed bodies, and written copies' buffers to reuse. */
  #copies = new Set<Buffer>();
  /** The copies made in slabs of the addon's pool (see SLAB_COPY_MIN). */
  #slabCopies = new Set<Buffer>();
  #spare: Buffer[] = [];
  #spareBytes = 0;

  constructor(private readonly ch: Channel) {}

  /** Queues one item: `body` (its own buffer), or scratch[0, n) when body
   * is null (valid only until the next encodeFast: copied now). With a
   * `lead` (wire.ts's bytesLead), body is the bytes of a Buffer or
   * Uint8Array, framed behind that lead. `borrowed`: body is the caller's
   * memory, which may change once put() returns: written at once as far as
   * the pipe takes it, and what is left is copied. */
  push(body: Buffer | null, n: number, lead = -1, borrowed = false): void {
    const leadBytes = lead >= 0 ? BYTES_LEAD : 0;
    const size = (body ? body.length : n) + leadBytes;
    const header = headerFor(size);
    if (body && size >= OWN_SEGMENT) {
      this.#seal();
      const head = Buffer.allocUnsafe(header + leadBytes);
      writeHeader(head, 0, size);
      if (lead >= 0) writeBytesLead(head, header, lead);
      this.#segs.push(head, body);
    } else {
      const need = header + size;
      let acc = this.#acc;
      if (!acc || acc.length - this.#accLen < need) {
        this.#seal();
        acc = this.#acc = takeAcc(need);
      }
      writeHeader(acc, this.#accLen, size);
      if (lead >= 0) writeBytesLead(acc, this.#accLen + header, lead);
      if (body) body.copy(acc, this.#accLen + header + leadBytes);
      else scratch.copy(acc, this.#accLen + header, 0, n);
      this.#accLen += need;
    }
    this.#queued += header + size;
    activate(this);
    if (this.#running) {
      // The run waits for room or for the lock: a run holding the lock
      // writes what the pipe takes now too, so a loop of puts that never
      // yields keeps the reader fed (and borrows rather than copies).
      if (this.#holding) this.#writeNow();
    } else if (this.#turn !== turn) {
      this.#turn = turn;
      turnTick ??= setImmediate(nextTurn);
      this.flushSome();
    } else if (this.#queued >= HIGH_WATER) {
      this.flushSome();
    } else {
      batched.add(this);
    }
    if (borrowed && body) this.#ownRest(body);
  }

  /** With the lock held by the run: what the pipe takes now. A failed
   * write is the run's to report (its next write meets the same error). */
  #writeNow(): void {
    try {
      this.#writeOut(this.ch.writer.fileno());
    } catch {
      // (reported by the run)
    }
  }

  /** The part of a borrowed body not written yet becomes a copy. */
  #ownRest(body: Buffer): void {
    const segs = this.#segs;
    const i = segs.length - 1;
    if (i < this.#head || segs[i] !== body) return; // all written
    const from = i === this.#head ? this.#headOff : 0;
    const need = body.length - from;
    let copy: Buffer | undefined;
    if (need >= SLAB_COPY_MIN) {
      // (Sized by the whole body: the slabs of a stream of equal items
      // have one size, so each finds the last one's in the pool.)
      const slab = this.#native.recvSlab(body.length);
      if (slab) {
        copy = Buffer.from(slab, 0, need);
        this.#slabCopies.add(copy);
      }
    }
    if (!copy) {
      copy = this.#spare.pop();
      if (copy) this.#spareBytes -= copy.length;
      if (!copy || copy.length < need) copy = Buffer.allocUnsafeSlow(Math.max(COPY_MIN, need));
    }
    body.copy(copy, 0, from);
    segs[i] = copy.subarray(0, need);
    this.#copies.add(segs[i]);
    if (i === this.#head) this.#headOff = 0;
  }

  /** A copy in a slab is never used again: the slab goes back to the pool. */
  #releaseSlabCopies(): void {
    for (const copy of this.#slabCopies) this.#native.releaseSlab(copy.buffer as ArrayBuffer);
    this.#slabCopies.clear();
  }

  /** A copy written out: its buffer serves the next copy. */
  #written(seg: Buffer): void {
    if (!this.#copies.delete(seg)) return;
    if (this.#slabCopies.size > 0) {
      for (const copy of this.#slabCopies) {
        if (copy.buffer !== seg.buffer) continue;
        this.#slabCopies.delete(copy);
        this.#native.releaseSlab(copy.buffer as ArrayBuffer);
        return;
      }
    }
    const whole = Buffer.from(seg.buffer as ArrayBuffer);
    if (this.#spareBytes + whole.length > SPARE_MAX) return;
    this.#spare.push(whole);
    this.#spareBytes += whole.length;
  }

  /** The next turn: what this feeder batched goes out. */
  onTurn(): void {
    if (this.#queued > 0 && !this.#running) this.flushSome();
  }

  /** Moves the accumulated bytes into #segs (a later large item or a fresh
   * accumulation buffer must come after them). */
  #seal(): void {
    const acc = this.#acc;
    if (!acc || this.#accLen === this.#accOff) {
      this.#accOff = this.#accLen = 0;
      return;
    }
    this.#segs.push(acc.subarray(this.#accOff, this.#accLen));
    this.#acc = null;
    this.#accOff = this.#accLen = 0;
  }

  /** Writes what the pipe takes; true when everything queued is written. */
  #writeOut(fd: number): boolean {
    const native = this.#native;
    const segs = this.#segs;
    while (this.#head < segs.length) {
      const seg = segs[this.#head];
      const n = native.writeSome(fd, seg, this.#headOff, seg.length - this.#headOff);
      if (n < 0) return false;
      this.#queued -= n;
      this.#headOff += n;
      if (this.#headOff === seg.length) {
        this.#head++;
        this.#headOff = 0;
        if (this.#copies.size > 0) this.#written(seg);
      }
    }
    if (this.#head > 0) {
      segs.length = 0;
      this.#head = 0;
    }
    while (this.#accLen > this.#accOff) {
      const acc = this.#acc as Buffer;
      const n = native.writeSome(fd, acc, this.#accOff, this.#accLen - this.#accOff);
      if (n < 0) return false;
      this.#queued -= n;
      this.#accOff += n;
    }
    this.#accOff = this.#accLen = 0; // the accumulation buffer is reused
    return true;
  }

  /** Lets the writer lock go; the batch ends with it when all of it was
   * written (a failed write leaves it torn, for a reader to drop). */
  #unlock(): void {
    this.#holding = false;
    if (this.#queued === 0) endBatch(this.ch);
    this.ch.wlock.release();
  }

  /** Takes the writer lock if it is free, or, at most every
   * HOLDER_CHECK_MS, from a dead holder, and begins a batch: 'busy' when
   * another writer holds it, 'torn' when its last holder died in the middle
   * of a batch (given back: a reader drops that batch's torn end first).
   * Never waits. */
  #take(): 'taken' | 'busy' | 'torn' {
    const { wlock } = this.ch;
    if (!wlock.acquire(false) && !(this.#holderCheckDue() && wlock._tryAcquireOrRecover())) {
      return 'busy';
    }
    this.#checked = 0;
    if (beginBatch(this.ch)) return 'taken';
    wlock.release();
    return 'torn';
  }

  /** True every HOLDER_CHECK_MS while the writer lock is busy, from the
   * first time it was found busy: time to check that its holder lives (a
   * read of /proc; acquire(false) never does). */
  #holderCheckDue(): boolean {
    const now = Date.now();
    if (this.#checked === 0) this.#checked = now;
    if (now - this.#checked < HOLDER_CHECK_MS) return false;
    this.#checked = now;
    return true;
  }

  /**
   * Writes what the pipe takes now, waiting neither for the writer lock nor
   * for room; what is left is written by the run on the event loop (a batch
   * left half written keeps the lock), or by this thread's next blocking
   * wait (flushFeedersSync). put() writes this way, and so does a thread
   * about to block: a writer holding the lock may be waiting for this very
   * thread to read, or be stopped, so a wait for the lock could last
   * forever (an item larger than the pipe, got by the process that put it).
   */
  flushSome(): void {
    if (this.#queued === 0) return;
    if (!this.#holding) {
      if (this.#take() !== 'taken') {
        if (!this.#running) this.#start();
        return;
      }
      this.#holding = true;
    }
    let done: boolean;
    try {
      done = this.#writeOut(this.ch.writer.fileno());
    } catch (err) {
      this.#unlock();
      this.#failed(err);
      return;
    }
    if (!done) {
      if (!this.#running) this.#start();
      return;
    }
    this.#unlock();
    if (!this.#running) this.#idle();
  }

  /** Items put and not yet written. */
  holdsItems(): boolean {
    return this.#queued > 0;
  }

  /** True when this feeder writes into `ch`'s pipe (the same shared block,
   * whichever Queue object of this process holds it). */
  feeds(ch: Channel): boolean {
    return this.ch.shared.view.byteOffset === ch.shared.view.byteOffset;
  }

  #start(): void {
    if (!this.#keepAlive) {
      // A lock wait does not hold the event loop open by itself: this does,
      // so a process never ends with items unwritten.
      this.#keepAlive = setTimeout(() => {}, 0x7fffffff);
      if (!this.joinAtExit) this.#keepAlive.unref();
    }
    const run = this.#run().then(
      () => {
        if (this.#running !== run) return; // forgotten (forked copy)
        this.#running = null;
        // Items put after the run's last look (before this callback) go now.
        if (this.#queued > 0) this.flushSome();
        else this.#idle();
      },
      (err) => {
        if (this.#running !== run) return;
        this.#running = null;
        this.#failed(err);
      },
    );
    this.#running = run;
  }

  async #run(): Promise<void> {
    const pid = process.pid;
    const { writer } = this.ch;
    while (this.#queued > 0) {
      if (!this.#holding) {
        // Retried on the event loop rather than awaited with acquireAsync: an
        // acquire completing in the background while this thread blocks in
        // putSync()/getSync() would leave the lock held by nobody running.
        // A holder that keeps it past HOLDER_CHECK_MS may have died: a try
        // every HOLDER_CHECK_MS also checks its life (a read of /proc). A
        // torn batch ahead waits for a reader: retried less often. A
        // blocking wait of this thread (flushFeedersSync) may take the lock
        // meanwhile and leave it held, the batch written in part: that
        // batch is this run's to go on with.
        for (
          let tries = 0, got;
          !this.#holding && this.#queued > 0 && (got = this.#take()) !== 'taken';
          tries++
        ) {
          const ms = got === 'torn' ? TORN_RETRY_MS : 1;
          await new Promise<void>((resolve) => {
            if (tries < 4 && got === 'busy') setImmediate(resolve);
            else if (this.joinAtExit) setTimeout(resolve, ms);
            else setTimeout(resolve, ms).unref();
          });
          if (process.pid !== pid) return;
        }
        if (process.pid !== pid) return; // a forked copy: the items are the parent's
        if (!this.#holding && this.#queued === 0) break; // written, or given up
        this.#holding = true;
      }
      try {
        while (this.#holding && !this.#writeOut(writer.fileno())) {
          await this.#roomToWrite();
          if (process.pid !== pid) return;
        }
      } finally {
        // (a blocking wait may have finished the batch and let go meanwhile)
        if (this.#holding && process.pid === pid) this.#unlock();
      }
    }
  }

  #roomToWrite(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (!this.#room) {
        const room = new this.#native.FdWatch(
          this.ch.writer.fileno(),
          () => {
            room.stop();
            const wake = this.#onRoom;
            this.#onRoom = null;
            wake?.();
          },
          true,
        );
        if (!this.joinAtExit) room.unref();
        this.#room = room;
      }
      this.#onRoom = resolve;
      this.#room.start();
    });
  }

  /** Everything written: stop holding the loop. */
  #idle(): void {
    if (this.#queued > 0) return;
    if (this.#keepAlive) clearTimeout(this.#keepAlive);
    this.#keepAlive = null;
    this.#room?.close();
    this.#room = null;
    this.#spare = [];
    this.#spareBytes = 0;
    this.#giveAccBack();
    deactivate(this);
  }

  /** Nothing queued: the accumulation buffer serves the next feeder. */
  #giveAccBack(): void {
    const acc = this.#acc;
    this.#acc = null;
    this.#accOff = this.#accLen = 0;
    if (acc && acc.length === ACC_SIZE && idleAccs.length < IDLE_ACCS_MAX) idleAccs.push(acc);
  }

  /** A write failed (the reading ends are all closed, or the queue was
   * closed): the queued items cannot be delivered. Python's feeder thread
   * reports the error and goes on; so does this one. */
  #failed(err: unknown): void {
    this.#drop();
    this.#idle();
    process.emitWarning(
      `a Queue's feeder could not write queued items, which are lost: ${
        err instanceof Error ? err.message : String(err)
      }`,
      { code: 'FORKFUL_QUEUE_FEEDER' },
    );
  }

  #drop(): void {
    this.#segs = [];
    this.#copies.clear();
    this.#releaseSlabCopies();
    this.#spare = [];
    this.#spareBytes = 0;
    this.#head = this.#headOff = 0;
    this.#accOff = this.#accLen = 0;
    this.#queued = 0;
  }

  /** Resolves when every queued item is written; `atExit`, also once the
   * writer lock has been held by a stopped process for
   * STOPPED_HOLDER_GIVE_UP_MS: the items are then dropped and reported (a
   * warning), as this thread ends. (joinThread() waits as long as it takes,
   * as Python's join_thread.) */
  async drain(atExit = false): Promise<void> {
    let stoppedSince = -1;
    while (this.#queued > 0 || this.#running) {
      if (!this.#running) this.flushSome();
      const running = this.#running;
      if (!running) continue;
      if (!atExit) {
        await running;
        continue;
      }
      if (await settlesWithin(running, HOLDER_CHECK_MS)) continue;
      const holder = this.#holding ? 0 : this.ch.wlock._holder();
      const state = holder === 0 ? null : procStat(holder)?.state;
      if (state !== 'T' && state !== 't') {
        stoppedSince = -1; // running: waited for as long as it takes
      } else if (stoppedSince < 0) {
        stoppedSince = Date.now();
      } else if (Date.now() - stoppedSince >= STOPPED_HOLDER_GIVE_UP_MS) {
        this.#giveUp(holder);
        // (a warning is emitted on the next tick: out before the thread ends)
        await new Promise((resolve) => setImmediate(resolve));
        return;
      }
    }
  }

  /** At exit, the writer lock held by a stopped process: this thread's
   * items for the queue cannot be written; said, rather than hanging. */
  #giveUp(holder: number): void {
    const bytes = this.#queued;
    this.#running = null; // its lock retries end with this thread
    this.#drop();
    this.#idle();
    process.emitWarning(
      `a Queue's feeder gave up ${bytes} bytes of queued items at exit, which are lost: ` +
        `the queue's writer lock is held by thread ${holder}, which is stopped (SIGSTOP?)`,
      { code: 'FORKFUL_QUEUE_FEEDER' },
    );
  }

  cancelJoin(): void {
    this.joinAtExit = false;
    this.#keepAlive?.unref();
    this.#room?.unref();
  }

  forget(): void {
    this.#drop();
    this.#holding = false;
    this.#running = null;
    this.#turn = -1;
    this.#keepAlive = null;
    this.#room?.close();
    this.#room = null;
    this.#onRoom = null;
  }
}
