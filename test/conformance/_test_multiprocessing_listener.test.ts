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
// spawned child). forkful's own cases are in
// test/multiprocessing/listener.test.ts (run on every backend).
import './helpers/spawn-shim';
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

const { Listener, ClientSync } = mp.connection;
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
