// How objects that own a file descriptor (Connection, Queue) travel. A forked
// child inherits every fd under its own number, and threads share the
// process's fds, so by default an fd travels as its number. A spawned child
// gets only the fds its launcher hands over in stdio slots: while the spawn
// backend encodes a child's arguments it installs a collector, and each fd
// is swapped for the slot (= the fd number in the child) it will occupy.

type Collector = (fd: number) => number;

let collector: Collector | null = null;

/** The number `fd` will have where the value being encoded is decoded. */
export function transferFd(fd: number): number {
  return collector ? collector(fd) : fd;
}

/** Runs `encode` while collecting the fds it transfers; returns its result
 * and the parent fds in child-slot order (slot `firstSlot + i` gets fds[i]). */
export function collectFds<T>(firstSlot: number, encode: () => T): { value: T; fds: number[] } {
  const fds: number[] = [];
  const slots = new Map<number, number>();
  const previous = collector;
  collector = (fd: number) => {
    let slot = slots.get(fd);
    if (slot === undefined) {
      slot = firstSlot + fds.length;
      fds.push(fd);
      slots.set(fd, slot);
    }
    return slot;
  };
  try {
    return { value: encode(), fds };
  } finally {
    collector = previous;
  }
}
