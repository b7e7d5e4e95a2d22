// How objects that own a file descriptor (Connection, Queue) travel. A forked
// child inherits every fd under its own number, and threads share the
// process's fds, so by default an fd travels as its number. A spawned child
// gets only the fds its launcher hands over in stdio slots: while the spawn
// backend encodes a child's arguments it installs a collector, and each fd
// is swapped for the slot (= the fd number in the child) it will occupy.

type Collector = (fd: number) => number;

/** Where the virtual fds of the portable backend's pipes start (no process
 * has real fds this high): an end of a pipe held by the portable hub, which
 * travels as its number and is claimed on arrival (multiprocessing/portable). */
export const VIRTUAL_FD_BASE = 2 ** 30;

export function isVirtualFd(fd: number): boolean {
  return fd >= VIRTUAL_FD_BASE;
}

let collector: Collector | null = null;

/** The number `fd` will have where the value being encoded is decoded. */
export function transferFd(fd: number): number {
  return collector && !isVirtualFd(fd) ? collector(fd) : fd;
}

/** Runs `encode` while each fd it transfers becomes `ref(i)`, i its place
 * among the distinct fds met; returns its result and those fds in order. */
function collecting<T>(ref: (i: number) => number, encode: () => T): { value: T; fds: number[] } {
  const fds: number[] = [];
  const refs = new Map<number, number>();
  const previous = collector;
  collector = (fd: number) => {
    let r = refs.get(fd);
    if (r === undefined) {
      r = ref(fds.length);
      fds.push(fd);
      refs.set(fd, r);
    }
    return r;
  };
  try {
    return { value: encode(), fds };
  } finally {
    collector = previous;
  }
}

/** Runs `encode` while collecting the fds it transfers; returns its result
 * and the parent fds in child-slot order (slot `firstSlot + i` gets fds[i]). */
export function collectFds<T>(firstSlot: number, encode: () => T): { value: T; fds: number[] } {
  return collecting((i) => firstSlot + i, encode);
}

// A message sent on a Unix socket carries the fds it holds as SCM_RIGHTS
// (lib/multiprocessing/connection.ts): while it is encoded each fd becomes
// -(k + 1), k its place among the message's fds; while it is decoded the
// fds that came with it stand in that order, and each revived object claims
// its own (the rest are closed).

/** The fds that arrived with the message being decoded, and which of them
 * a revived object has taken. */
interface Arrival {
  fds: number[];
  claimed: boolean[];
}

let arrival: Arrival | null = null;

/** The fds a Connection received and no message has taken yet, in order,
 * while it decodes a message (receivingFds). */
interface Inbox {
  fds: number[];
  close: (fd: number) => void;
}

let inbox: Inbox | null = null;

/** Runs `decode` (of a message read from a socket) with `fds` (what came
 * with the bytes read so far) as the place its own fds are taken from. */
export function receivingFds<T>(fds: number[], close: (fd: number) => void, decode: () => T): T {
  const previous = inbox;
  inbox = { fds, close };
  try {
    return decode();
  } finally {
    inbox = previous;
  }
}

/** Decodes a message that holds `count` fds: takes them from the inbox,
 * runs `decode` with them (withArrivedFds). */
export function withMessageFds<T>(count: number, decode: () => T): T {
  // -1: the fds after those that came were lost (MSG_CTRUNC); the fds of
  // one message arrive together, so that group is this message's.
  const lost = inbox ? inbox.fds.indexOf(-1) : -1;
  if (inbox && lost >= 0 && lost < count) {
    for (const fd of inbox.fds.splice(0, lost + 1)) if (fd >= 0) inbox.close(fd);
    throw new Error(
      `${count - lost} of the message's ${count} file descriptor(s) were lost on the way ` +
        `(MSG_CTRUNC: this process may be out of file descriptors, see ulimit -n)`,
    );
  }
  if (!inbox || inbox.fds.length < count) {
    throw new Error(
      `the message holds ${count} file descriptor(s) that did not arrive with it: ` +
        `only a Connection on a Unix socket carries them (Pipe(), Listener/Client ` +
        `with family AF_UNIX)`,
    );
  }
  return withArrivedFds(inbox.fds.splice(0, count), inbox.close, decode);
}

/** Runs `encode` while collecting the fds it transfers as fds of the
 * message (transferFd gives -(k + 1)); returns its result and the fds. */
export function collectPassedFds<T>(encode: () => T): { value: T; fds: number[] } {
  return collecting((k) => -(k + 1), encode);
}

/** Runs `decode` with `fds` (the message's own, in order) to be claimed by
 * receivedFd(); closes the ones nothing claimed, even when decode throws. */
export function withArrivedFds<T>(fds: number[], close: (fd: number) => void, decode: () => T): T {
  const previous = arrival;
  const mine: Arrival = { fds, claimed: fds.map(() => false) };
  arrival = mine;
  try {
    return decode();
  } finally {
    arrival = previous;
    mine.fds.forEach((fd, k) => {
      if (!mine.claimed[k]) close(fd);
    });
  }
}

/** The fd a revived object owns: `fd` itself, or for -(k + 1) the k-th fd
 * that came with the message (each claimed once). */
export function receivedFd(fd: number): number {
  if (fd >= 0) return fd;
  const k = -fd - 1;
  if (!arrival || k >= arrival.fds.length || arrival.claimed[k]) {
    throw new TypeError(
      'a file descriptor that travels with a message can only be revived by the ' +
        'Connection that received it (it was read as bytes, or decoded twice)',
    );
  }
  arrival.claimed[k] = true;
  return arrival.fds[k];
}
