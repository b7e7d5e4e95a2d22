// A consumer project's ESM file, compiled (not run) by test/types/types.test.ts
// with tsc --strict --module nodenext against the package's own types
// (forkful resolves to this package through its exports). No casts: each
// line states a type the API must give, and each @ts-expect-error a
// mistake the types must refuse.
import forkful, { AbortError, ValueError, type ForkfulError } from 'forkful';
import {
  Pool,
  Queue,
  JoinableQueue,
  SimpleQueue,
  Pipe,
  Process,
  Value,
  SharedArray,
  RawValue,
  SynchronizedValue,
  SynchronizedArray,
  Event,
  Lock,
  type AsyncResult,
  type Connection,
  type PoolStats,
  type MapOptions,
} from 'forkful/multiprocessing';
import { Thread, local } from 'forkful/threading';

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<A, B>(_proof: Equal<A, B>): void {}

// The default export is the module namespace, as at run time.
expectType<typeof forkful.multiprocessing.Pool, typeof Pool>(true);

async function queues(signal: AbortSignal): Promise<void> {
  const q = new Queue<number>();
  await q.put(1, { signal });
  // @ts-expect-error a Queue<number> takes numbers
  await q.put('one');
  const n = await q.get({ timeout: 1, signal });
  expectType<typeof n, number>(true);
  for await (const item of q) expectType<typeof item, number>(true);
  const jq = new JoinableQueue<{ id: string }>();
  expectType<Awaited<ReturnType<typeof jq.get>>, { id: string }>(true);
  const sq = new SimpleQueue<bigint>();
  expectType<Awaited<ReturnType<typeof sq.get>>, bigint>(true);
  // @ts-expect-error unknown option names are refused by the types too
  await q.get({ timout: 1 });
  using closing = new Queue<string>();
  closing.putSync('x');
}

async function pipes(): Promise<void> {
  const [parent, child] = Pipe<string, number>();
  expectType<typeof parent, Connection<string, number>>(true);
  parent.send('job');
  // @ts-expect-error this end sends strings
  parent.send(1);
  const reply = await parent.recv({ signal: AbortSignal.timeout(1000) });
  expectType<typeof reply, number>(true);
  for await (const job of child) expectType<typeof job, string>(true);
  const [a] = Pipe<Uint8Array>();
  expectType<typeof a, Connection<Uint8Array, Uint8Array>>(true);
}

async function pools(): Promise<void> {
  await using pool = new Pool({ processes: 2 });
  const options: MapOptions = { chunksize: 4, signal: AbortSignal.timeout(1000) };
  const squares = await pool.map((x: number) => x * x, [1, 2, 3], options);
  expectType<typeof squares, number[]>(true);
  const strings = await pool.map(async (x: number) => String(x), [1], {
    progress: (done, total) => expectType<[typeof done, typeof total], [number, number]>(true),
  });
  expectType<typeof strings, string[]>(true);
  const one: AsyncResult<number> = pool.applyAsync((a: number, b: number) => a + b, [1, 2], {
    callback: (value) => expectType<typeof value, number>(true),
  });
  expectType<Awaited<ReturnType<typeof one.get>>, number>(true);
  for await (const v of pool.imapUnordered((x: number) => [x], [1], { signal: null })) {
    expectType<typeof v, number[]>(true);
  }
  // @ts-expect-error chunkSize is not an option (chunksize is)
  await pool.map((x: number) => x, [1], { chunkSize: 2 });
  pool.on('workerExit', (pid, exitcode) => {
    expectType<typeof pid, number>(true);
    expectType<typeof exitcode, number | null>(true);
  });
  pool.on('drain', () => {});
  // @ts-expect-error no such event
  pool.on('workerExitt', () => {});
  const stats: PoolStats = pool.stats();
  expectType<typeof stats.runTime.p99, number>(true);
}

async function sharedValues(): Promise<void> {
  const d = Value('d', 1.5);
  expectType<typeof d, SynchronizedValue<'d'>>(true);
  expectType<typeof d.value, number>(true);
  const q = Value('q', 5n);
  expectType<typeof q.value, bigint>(true);
  q.value = 7; // an integer number fits a 64-bit value
  // @ts-expect-error a double is not a bigint
  d.value = 1n;
  const raw = Value('i', 0, { lock: false });
  expectType<typeof raw, RawValue<'i'>>(true);
  const arr = SharedArray('Q', 4);
  expectType<typeof arr, SynchronizedArray<'Q'>>(true);
  expectType<ReturnType<typeof arr.get>, bigint>(true);
  // The global Array is not shadowed.
  const plain = Array.from([1, 2]);
  expectType<typeof plain, number[]>(true);
}

function processArgs(): void {
  const p = new Process({ target: (n: number, s: string) => n + s.length, args: [1, 'x'] });
  void p;
  // @ts-expect-error args must match the target's parameters
  void new Process({ target: (n: number) => n, args: ['x'] });
  // A subclass overriding run() needs no target.
  class Worker extends Process {
    override run(): number {
      return 1;
    }
  }
  void new Worker();
}

async function waits(signal: AbortSignal): Promise<void> {
  const p = new Process({ target: () => 1 });
  p.start();
  await p.join(null, { signal });
  await using proc = p;
  const e = new Event();
  const set = await e.waitAsync(1, { signal });
  expectType<typeof set, boolean>(true);
  await new Lock().acquireAsync({ timeout: 1, signal });
  const t = new Thread({ target: () => 1 });
  t.start();
  await t.join(1, { signal });
  try {
    await e.waitAsync(null, { signal });
  } catch (err) {
    if (err instanceof AbortError) {
      expectType<typeof err.code, string>(true);
      const cause: unknown = err.cause;
      void cause;
    }
  }
  const v: ForkfulError = new ValueError('x');
  expectType<typeof v.code, string>(true);
}

function threadLocals(): void {
  // Typed attributes: unset in a thread until it sets them, so optional.
  const school = new local<{ student?: string }>();
  expectType<typeof school.student, string | undefined>(true);
  school.student = 'Alice';
  // @ts-expect-error a local<{ student?: string }> has no attribute grade
  school.grade = 3;
  // An init function sets them in every thread, typed by its arguments.
  const counter = new local<{ n: number }, [number]>((self, start) => {
    self.n = start;
  }, 10);
  expectType<typeof counter.n, number>(true);
  // @ts-expect-error the init function takes a number
  void new local<{ n: number }, [number]>((self, start) => void (self.n = start), 'ten');
  // Untyped: any attribute, as Python's threading.local.
  const loose = new local();
  loose.anything = 1;
  class Settings extends local {
    colour: string;
    constructor(colour: string) {
      super(colour);
      this.colour = colour;
    }
  }
  const settings = new Settings('red');
  expectType<typeof settings.colour, string>(true);
  const isLocal: boolean = settings instanceof local;
  void isLocal;
}

void queues;
void threadLocals;
void pipes;
void pools;
void sharedValues;
void waits;
void processArgs;
