// 05-queue as an ES module: a writer process puts 100, a reader process
// gets it; the queue is passed to both as an argument.
import { Process, Queue } from 'forkful/multiprocessing';

async function writer_proc(q) {
  await q.put(100);
}

async function reader_proc(q) {
  console.log(await q.get());
}

const q = new Queue();
const reader = new Process({ target: reader_proc, args: [q] });
const writer = new Process({ target: writer_proc, args: [q] });
reader.start();
writer.start();
await reader.join();
await writer.join();
