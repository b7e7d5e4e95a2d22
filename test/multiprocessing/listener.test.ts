// Listener and Client (forkful's own cases; CPython's are ported in
// test/conformance/_test_multiprocessing_listener.test.ts): authkeys across
// processes, AF_INET, close and abort of a pending accept, wait() on
// accepted Connections, argument errors. On the current backend: the start
// method of FORKFUL_START_METHOD, the portable one under FORKFUL_NO_NATIVE=1.
import '../conformance/helpers/spawn-shim';
import * as fs from 'node:fs';
import * as mp from '../../lib/multiprocessing';
import { AuthenticationError, OSError } from '../../lib/core/errors';
import { needsFork } from '../helpers/needs';
import {
  expectNoStrays,
  joinProcess,
  reap,
  settledTest,
  type Modules,
} from '../conformance/helpers/common';

jest.setTimeout(60000);
const test = settledTest(global.test);
const forkTest = settledTest(needsFork.test);
afterEach(() => expectNoStrays());

const { Listener, Client, ClientSync } = mp.connection;
const { Process } = mp;

describe('Listener and Client (forkful)', () => {
  test('a wrong authkey: AuthenticationError on both ends', async () => {
    const listener = new Listener({ authkey: 'right' });
    const p = new Process({
      target: (address: mp.Address) => {
        const m = (globalThis.__forkful?.mp ?? require('forkful/multiprocessing')) as Modules['mp'];
        try {
          m.connection.ClientSync(address, { authkey: 'wrong' });
        } catch (err) {
          process.exitCode = (err as Error).name === 'AuthenticationError' ? 7 : 8;
          return;
        }
        process.exitCode = 9;
      },
      args: [listener.address],
    });
    p.start();
    try {
      await expect(listener.accept()).rejects.toThrow(AuthenticationError);
      await joinProcess(p);
      expect(p.exitcode).toBe(7);
    } finally {
      listener.close();
      await reap(p);
    }
  });

  test('the same authkey across processes, both directions of the challenge', async () => {
    const key = Buffer.from('s3cret');
    const listener = new Listener(['127.0.0.1', 0], { authkey: key });
    expect(listener.address[0]).toBe('127.0.0.1');
    expect(listener.address[1]).toBeGreaterThan(0);
    const p = new Process({
      target: async (address: mp.Address, k: Uint8Array) => {
        const m = (globalThis.__forkful?.mp ?? require('forkful/multiprocessing')) as Modules['mp'];
        const conn = await m.connection.Client(address, { authkey: k });
        conn.send(['from', process.pid]);
        const reply = await conn.recv();
        conn.send(reply === 'ack' ? 'done' : `bad reply ${String(reply)}`);
        conn.close();
      },
      args: [listener.address, key],
    });
    p.start();
    try {
      const conn = await listener.accept();
      expect(await conn.recv()).toEqual(['from', p.pid]);
      expect(listener.lastAccepted).toEqual(['127.0.0.1', expect.any(Number)]);
      conn.send('ack');
      expect(await conn.recv()).toBe('done');
      conn.close();
      await joinProcess(p);
      expect(p.exitcode).toBe(0);
    } finally {
      listener.close();
      await reap(p);
    }
  });

  test('close() removes the socket file and ends a pending accept() with OSError', async () => {
    const l = new Listener();
    const file = l.address as string;
    expect(fs.statSync(file).isSocket()).toBe(true);
    const pending = l.accept();
    l.close();
    await expect(pending).rejects.toThrow(OSError);
    expect(fs.existsSync(file)).toBe(false);
    l.close(); // twice: nothing
  });

  test('accept({ signal }) is cancelled; a later accept() gets the client', async () => {
    const l = new Listener();
    try {
      const ac = new AbortController();
      const pending = l.accept({ signal: ac.signal });
      ac.abort();
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
      const c = await Client(l.address);
      const d = await l.accept();
      c.send('after abort');
      expect(await d.recv()).toBe('after abort');
      c.close();
      d.close();
    } finally {
      l.close();
    }
  });

  test('Client to an address nobody listens on: OSError', () => {
    const l = new Listener();
    const address = l.address;
    l.close();
    expect(() => ClientSync(address)).toThrow(OSError);
  });

  test('accepted Connections work with connection.wait()', async () => {
    const l = new Listener();
    try {
      const c = ClientSync(l.address);
      const d = l.acceptSync();
      expect(mp.connection.wait([d], 0)).toEqual([]);
      c.send('x');
      expect(mp.connection.wait([d], 5)).toEqual([d]);
      expect(d.recvSync()).toBe('x');
      c.close();
      d.close();
    } finally {
      l.close();
    }
  });

  test('addressType, arbitraryAddress and argument errors', () => {
    const { addressType, arbitraryAddress } = mp.connection;
    expect(addressType(['localhost', 0])).toBe('AF_INET');
    expect(addressType('/tmp/x')).toBe('AF_UNIX');
    expect(addressType('\0abstract')).toBe('AF_UNIX');
    expect(addressType('\\\\.\\pipe\\x')).toBe('AF_PIPE');
    expect(arbitraryAddress('AF_INET')).toEqual(['localhost', 0]);
    expect(typeof arbitraryAddress('AF_UNIX')).toBe('string');
    expect(() => new Listener({ family: 'AF_PIPE' })).toThrow(/not recognized/);
    expect(() => new Listener({ authkey: 42 as unknown as string })).toThrow(TypeError);
    expect(() => ClientSync('/nowhere', { authkey: {} as unknown as string })).toThrow(TypeError);
  });

  forkTest(
    "a forked child does not take the connection its parent's accept() waits for",
    async () => {
      const l = new Listener();
      const pending = l.accept();
      // The child's event loop runs (an async target) while the client connects.
      const p = new Process({ target: () => new Promise((r) => setTimeout(r, 1000)) });
      p.start();
      try {
        await new Promise((r) => setTimeout(r, 200));
        const c = ClientSync(l.address);
        c.send('to the parent');
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('the parent never accepted (5 s)')), 5000);
        });
        try {
          const d = await Promise.race([pending, bound]);
          expect(await d.recv()).toBe('to the parent');
          d.close();
        } finally {
          clearTimeout(timer);
          c.close();
        }
        await joinProcess(p);
      } finally {
        l.close();
        await reap(p);
      }
    },
  );
});
