// Port of CPython's Lib/test/_test_multiprocessing.py cases on
// multiprocessing.connection.Listener and Client (_TestListener,
// _TestListenerClient, OtherTest's challenge cases, and 3.12's
// test_empty_authkey), kept apart from _test_multiprocessing.test.ts for
// its size. Documented form: accept() and Client() return Promises,
// acceptSync() and ClientSync() block as Python's do; addresses of the
// AF_INET family are [host, port] arrays (Python's tuples).
//
// Process targets are self-contained (see _test_multiprocessing.test.ts):
// forkful comes from globalThis.__forkful (a forked child) or require() (a
// spawned child).
import './helpers/spawn-shim';
import * as fs from 'node:fs';
import * as mp from '../../lib/multiprocessing';
import { AuthenticationError, OSError } from '../../lib/core/errors';
import {
  expectNoStrays,
  joinProcess,
  reap,
  settledTest,
  sleep,
  type Modules,
} from './helpers/common';

jest.setTimeout(60000);
const test = settledTest(global.test);
afterEach(() => expectNoStrays());

const { Listener, Client, ClientSync } = mp.connection;
const { Process } = mp;

/** _TestListenerClient._test: connects, sends 'hello', closes. */
async function sendHello(address: mp.Address): Promise<void> {
  const m = (globalThis.__forkful?.mp ?? require('forkful/multiprocessing')) as Modules['mp'];
  const conn = m.connection.ClientSync(address);
  conn.send('hello');
  conn.close();
}

describe('_TestListener', () => {
  test('_TestListener.test_multiple_bind', () => {
    for (const family of mp.connection.families) {
      const l = new Listener({ family });
      try {
        let err: unknown = null;
        try {
          new Listener(l.address, { family }).close();
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(OSError);
        expect((err as OSError).code).toBe('EADDRINUSE');
      } finally {
        l.close();
      }
    }
  });

  test('_TestListener.test_context', async () => {
    const l = new Listener();
    try {
      const c = ClientSync(l.address);
      try {
        const d = l.acceptSync();
        try {
          c.send(1729);
          expect(await d.recv()).toBe(1729);
        } finally {
          d[Symbol.dispose]();
        }
      } finally {
        c[Symbol.dispose]();
      }
    } finally {
      l[Symbol.dispose]();
    }
    expect(() => l.acceptSync()).toThrow(OSError);
    await expect(l.accept()).rejects.toThrow(OSError);
  });

  test('_TestListener.test_abstract_socket', async () => {
    const listener = new Listener(`\0forkful-abstract-${process.pid}`);
    try {
      expect(listener.address).toBe(`\0forkful-abstract-${process.pid}`);
      const client = ClientSync(listener.address);
      try {
        const d = listener.acceptSync();
        try {
          client.send(1729);
          expect(await d.recv()).toBe(1729);
        } finally {
          d.close();
        }
      } finally {
        client.close();
      }
    } finally {
      listener.close();
    }
    expect(() => listener.acceptSync()).toThrow(OSError);
  });

  // bpo-43952 (Python 3.12): an empty authkey authenticates (with b'').
  test('_TestListener.test_empty_authkey', async () => {
    const listener = new Listener({ authkey: Buffer.alloc(0) });
    const p = new Process({
      target: (address: mp.Address) => {
        const m = (globalThis.__forkful?.mp ?? require('forkful/multiprocessing')) as Modules['mp'];
        const client = m.connection.ClientSync(address, { authkey: Buffer.alloc(0) });
        client.send(1729);
        client.close();
      },
      args: [listener.address],
    });
    p.start();
    try {
      const d = await listener.accept();
      expect(await d.recv()).toBe(1729);
      d.close();
      await joinProcess(p);
      expect(p.exitcode).toBe(0);
    } finally {
      listener.close();
      await reap(p);
    }
  });
});

describe('_TestListenerClient', () => {
  test('_TestListenerClient.test_listener_client', async () => {
    for (const family of mp.connection.families) {
      const l = new Listener({ family });
      const p = new Process({ target: sendHello, args: [l.address] });
      p.daemon = true;
      p.start();
      try {
        const conn = await l.accept();
        expect(await conn.recv()).toBe('hello');
        conn.close();
        await joinProcess(p);
      } finally {
        l.close();
        await reap(p);
      }
    }
  });

  test('_TestListenerClient.test_issue14725', async () => {
    const l = new Listener();
    const p = new Process({ target: sendHello, args: [l.address] });
    p.daemon = true;
    p.start();
    try {
      await sleep(1);
      // The client has connected, written and closed by now.
      const conn = await l.accept();
      expect(await conn.recv()).toBe('hello');
      conn.close();
      await joinProcess(p);
    } finally {
      l.close();
      await reap(p);
    }
  });

  test('_TestListenerClient.test_issue16955', () => {
    for (const family of mp.connection.families) {
      const l = new Listener({ family });
      const c = ClientSync(l.address);
      const a = l.acceptSync();
      a.sendBytes(Buffer.from('hello'));
      expect(c.poll(1)).toBe(true);
      a.close();
      c.close();
      l.close();
    }
  });
});

describe('OtherTest', () => {
  test('OtherTest.test_deliver_challenge_auth_failure', () => {
    const fake = {
      recvBytesSync: () => Buffer.from('something bogus'),
      sendBytes: () => {},
    };
    expect(() => mp.connection.deliverChallengeSync(fake, Buffer.from('abc'))).toThrow(
      AuthenticationError,
    );
  });

  test('OtherTest.test_answer_challenge_auth_failure', () => {
    let count = 0;
    const fake = {
      recvBytesSync: () => {
        count += 1;
        if (count === 1) return mp.connection.CHALLENGE;
        if (count === 2) return Buffer.from('something bogus');
        return Buffer.alloc(0);
      },
      sendBytes: () => {},
    };
    expect(() => mp.connection.answerChallengeSync(fake, Buffer.from('abc'))).toThrow(
      AuthenticationError,
    );
  });
});

// forkful's own cases, next to the ported ones.
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
});
