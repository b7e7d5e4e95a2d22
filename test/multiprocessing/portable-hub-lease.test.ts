// The hub's side of leases (lib/multiprocessing/portable/hub.ts), in
// process: grants ride on replies, another client's request waits for the
// lessee's hand-back, and a lessee that goes away loses its lease.
import {
  Hub,
  HubClient,
  type HubReply,
  type HubRequest,
} from '../../lib/multiprocessing/portable/hub';
import {
  LEASE_SLICE_MS,
  LeaseTable,
  MEMORY_AT,
  NO_LEASE,
  STATE,
  type Handback,
} from '../../lib/multiprocessing/portable/lease-table';

type Req = HubRequest extends infer R ? (R extends HubRequest ? Omit<R, 'id'> : never) : never;

class Client {
  readonly replies: HubReply[] = [];
  readonly revoked: number[] = [];
  readonly hub: HubClient = new HubClient(
    (r) => this.replies.push(r),
    (obj) => this.revoked.push(obj),
  );
  #next = 1;
  constructor(readonly h: Hub) {}
  send(req: Req): number {
    const id = this.#next++;
    this.h.handle(this.hub, { ...req, id } as HubRequest);
    return id;
  }
  reply(id: number): HubReply | undefined {
    return this.replies.find((r) => r.id === id);
  }
}

/** A hub, two clients holding one object of `kind`. */
function setup(kind: 'Lock' | 'RLock' | 'Memory') {
  const h = new Hub();
  const a = new Client(h);
  const b = new Client(h);
  const made = a.send({
    op: 'new',
    kind,
    bytes: kind === 'Memory' ? new Uint8Array(4) : undefined,
  });
  const obj = a.reply(made)!.obj!;
  const t = a.send({ op: 'ticket', end: obj });
  b.send({ op: 'claim', ticket: a.reply(t)!.ticket! });
  return { h, a, b, obj };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('an uncontended acquire that asks for a lease gets it; one that does not ask, none', () => {
  const { a, b, obj } = setup('Lock');
  const plain = a.send({ op: 'acquire', obj, ms: -1 });
  expect(a.reply(plain)).toEqual({ id: plain, ok: true, recovered: false });
  a.send({ op: 'release', obj });
  const leased = b.send({ op: 'acquire', obj, ms: -1, lease: true });
  expect(b.reply(leased)).toEqual({
    id: leased,
    ok: true,
    recovered: false,
    lease: { obj, count: 1 },
  });
});

test('another client parks until the lessee hands back; the lessee is revoked once', async () => {
  const { a, b, obj } = setup('Lock');
  a.send({ op: 'acquire', obj, ms: -1, lease: true });
  const asked = b.send({ op: 'acquire', obj, ms: -1, lease: true });
  const state = b.send({ op: 'state', obj });
  expect(b.reply(asked)).toBeUndefined();
  expect(b.reply(state)).toBeUndefined();
  expect(a.revoked).toEqual([obj]);
  // The lessee released under its lease, then hands back a free lock.
  a.send({ op: 'handback', obj, count: 0 });
  expect(b.reply(asked)).toMatchObject({ ok: true, recovered: false, lease: { obj, count: 1 } });
  // The state request waited behind it: the grant came with a revoke.
  await tick();
  expect(b.revoked).toEqual([obj]);
  b.send({ op: 'handback', obj, count: 1 }); // handed back held
  expect(b.reply(state)).toMatchObject({ ok: true, n: 1 });
  const late = a.send({ op: 'acquire', obj, ms: 0 });
  expect(a.reply(late)).toEqual({ id: late, ok: false });
});

test('a lessee that goes away: its lock is recovered (the next acquirer is told)', () => {
  const { h, a, b, obj } = setup('Lock');
  a.send({ op: 'acquire', obj, ms: -1, lease: true });
  const asked = b.send({ op: 'acquire', obj, ms: -1 });
  h.drop(a.hub);
  expect(b.reply(asked)).toEqual({ id: asked, ok: true, recovered: true });
});

test('a parked acquire keeps its timeout, and a cancel ends it', async () => {
  const { a, b, obj } = setup('Lock');
  a.send({ op: 'acquire', obj, ms: -1, lease: true });
  const timed = b.send({ op: 'acquire', obj, ms: 20 });
  const forever = b.send({ op: 'acquire', obj, ms: -1 });
  await new Promise((resolve) => setTimeout(resolve, 60));
  expect(b.reply(timed)).toEqual({ id: timed, ok: false });
  b.send({ op: 'cancel', wait: forever });
  expect(b.reply(forever)).toEqual({ id: forever, ok: false });
});

test('RLock: handed back held at level 2 by its lessee, only that client releases it', () => {
  const { a, b, obj } = setup('RLock');
  a.send({ op: 'acquire', obj, ms: -1, lease: true });
  const other = b.send({ op: 'release', obj });
  a.send({ op: 'handback', obj, count: 2 });
  expect(b.reply(other)?.error?.code).toBe('RuntimeError');
  a.send({ op: 'release', obj });
  const st = a.send({ op: 'state', obj });
  expect(a.reply(st)).toMatchObject({ ok: true, n: 1 });
});

test('Memory: bytes written under a lease are what the next client reads; a lost lessee keeps the last hand-back', () => {
  const { h, a, b, obj } = setup('Memory');
  const w = a.send({
    op: 'vwrite',
    obj,
    offset: 0,
    bytes: new Uint8Array([1, 0, 0, 0]),
    lease: true,
  });
  expect(a.reply(w)?.lease).toEqual({ obj, memory: Buffer.from([1, 0, 0, 0]) });
  const r = b.send({ op: 'vread', obj, offset: 0, n: 4, lease: true });
  expect(b.reply(r)).toBeUndefined();
  a.send({ op: 'handback', obj, memory: new Uint8Array([42, 0, 0, 0]) });
  expect(b.reply(r)).toMatchObject({ bytes: Buffer.from([42, 0, 0, 0]) });
  expect(b.reply(r)?.lease).toEqual({ obj, memory: Buffer.from([42, 0, 0, 0]) });
  // b holds the lease (what it writes now stays in its thread) and goes away.
  const r2 = a.send({ op: 'vread', obj, offset: 0, n: 1 });
  h.drop(b.hub);
  expect(a.reply(r2)).toMatchObject({ bytes: Buffer.from([42]) });
});

test('a stale hand-back (not the lessee) changes nothing', () => {
  const { a, b, obj } = setup('Lock');
  b.send({ op: 'handback', obj, count: 1 });
  const got = a.send({ op: 'acquire', obj, ms: 0 });
  expect(a.reply(got)).toEqual({ id: got, ok: true, recovered: false });
});

test("a lessee's request sent before its grant reached it waits for its hand-back (not served on the hub's stale state)", () => {
  const { a, obj } = setup('Lock');
  a.send({ op: 'acquire', obj, ms: -1, lease: true });
  const release = a.send({ op: 'release', obj }); // in flight when the grant arrived
  expect(a.reply(release)).toBeUndefined();
  expect(a.revoked).toEqual([obj]);
  a.send({ op: 'handback', obj, count: 1 });
  expect(a.reply(release)).toEqual({ id: release });
  const state = a.send({ op: 'state', obj });
  expect(a.reply(state)).toMatchObject({ ok: false, n: 0 });
});

test("a grant to one of a client's waiters is revoked after the reply when its other waiter waits too", async () => {
  const { a, b, obj } = setup('RLock');
  b.send({ op: 'acquire', obj, ms: -1 });
  const first = a.send({ op: 'acquire', obj, ms: -1, lease: true });
  const second = a.send({ op: 'acquire', obj, ms: -1, lease: true });
  b.send({ op: 'release', obj });
  expect(a.reply(first)).toMatchObject({ ok: true, lease: { obj, count: 1 } });
  expect(a.reply(second)).toBeUndefined(); // not served on the lessee's state
  await tick();
  expect(a.revoked).toEqual([obj]);
  a.send({ op: 'handback', obj, count: 1 });
  expect(a.reply(second)).toMatchObject({ ok: true, lease: { obj, count: 2 } });
});

// The I/O thread's side (lease-table.ts): a revoke that crossed the
// thread's own hand-back on the way is stale, and must not take the next
// grant, which may arrive in the same read as that revoke.
describe('LeaseTable', () => {
  test('a revoke of a lease already handed back leaves the next grant alone', async () => {
    const sent: Handback[] = [];
    const table = new LeaseTable((h) => sent.push(h));
    const words = new SharedArrayBuffer(MEMORY_AT);
    const w = new Int32Array(words, 0, 2);
    w[STATE] = NO_LEASE;
    table.register(7, words, false);
    table.granted({ obj: 7, count: 0 });
    await new Promise((resolve) => setTimeout(resolve, LEASE_SLICE_MS + 5));
    table.handBack(7); // the thread's own request took it back
    expect(sent).toEqual([{ id: 0, op: 'handback', obj: 7, count: 0 }]);
    table.revoke(7); // the hub's revoke of that lease, still on its way
    table.granted({ obj: 7, count: 1 }); // the next grant, in the same read
    await new Promise((resolve) => setTimeout(resolve, LEASE_SLICE_MS + 5));
    expect(Atomics.load(w, STATE)).toBe(1);
    expect(sent).toHaveLength(1);
    table.revoke(7); // a revoke of this lease is honoured
    await new Promise((resolve) => setTimeout(resolve, LEASE_SLICE_MS + 5));
    expect(sent).toEqual([
      { id: 0, op: 'handback', obj: 7, count: 0 },
      { id: 0, op: 'handback', obj: 7, count: 1 },
    ]);
    expect(Atomics.load(w, STATE)).toBe(NO_LEASE);
  });
});
