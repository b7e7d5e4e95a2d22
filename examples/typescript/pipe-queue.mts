// 03-pipe and 05-queue in TypeScript: the channels are typed by what they carry.
import { Pipe, Process, Queue, type Connection } from 'forkful/multiprocessing';

type Reading = { sensor: string; value: number };

function measure(conn: Connection<Reading, never>): void {
  conn.send({ sensor: 'a', value: 42 });
  conn.close();
}

async function writer(q: Queue<number>): Promise<void> {
  await q.put(100);
}

async function main(): Promise<void> {
  const [parentConn, childConn] = Pipe<never, Reading>();
  const p = new Process({ target: measure, args: [childConn] });
  p.start();
  const reading: Reading = await parentConn.recv();
  console.log(`${reading.sensor} = ${reading.value}`);
  await p.join();

  const q = new Queue<number>();
  const w = new Process({ target: writer, args: [q] });
  w.start();
  const n: number = await q.get({ timeout: 30 });
  console.log(n);
  await w.join();
}

void main();
