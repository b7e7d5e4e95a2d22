// A forkful Listener/Client and a real Python one talk to each other: the
// same challenge (Python 3.12+'s `{sha256}` one, and the bare HMAC-MD5 of
// Python up to 3.11) and the same framing of send_bytes/recv_bytes (a
// 4-byte big-endian length, then the bytes). Runs with every Python found:
// `python3` on PATH, and pyenv's 3.12+ where installed (their shims may
// refuse to run). Skipped where no Python runs. On the current backend
// (FORKFUL_NO_NATIVE=1: the portable one).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as mp from '../../lib/multiprocessing';
import { AuthenticationError } from '../../lib/core/errors';

const BOUND_MS = 20000;

function pythonVersion(exe: string): string | null {
  const r = spawnSync(exe, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
    encoding: 'utf8',
    timeout: 10000,
  });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** [version, executable] of each Python found, one per version. */
function pythons(): [string, string][] {
  const candidates = ['python3'];
  const pyenv = path.join(process.env.PYENV_ROOT ?? path.join(os.homedir(), '.pyenv'), 'versions');
  try {
    for (const v of fs.readdirSync(pyenv)) {
      if (/^3\.(1[2-9]|[2-9]\d)/.test(v)) candidates.push(path.join(pyenv, v, 'bin', 'python3'));
    }
  } catch {
    // no pyenv
  }
  const found = new Map<string, string>();
  for (const exe of candidates) {
    const version = pythonVersion(exe);
    if (version && !found.has(version)) found.set(version, exe);
  }
  return [...found];
}

const found = pythons();

interface PythonRun {
  /** Resolves once the script printed `ready`. */
  ready: Promise<void>;
  /** Resolves with [exit code, stdout, stderr]; the script is killed after BOUND_MS. */
  done: Promise<[number | null, string, string]>;
  child: ChildProcess;
}

function runPython(exe: string, code: string, args: string[]): PythonRun {
  const child = spawn(exe, ['-c', code, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const timer = setTimeout(() => child.kill('SIGKILL'), BOUND_MS);
  const done = new Promise<[number | null, string, string]>((resolve) =>
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve([status, out, err]);
    }),
  );
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    void done.then(([status]) =>
      reject(new Error(`python ended (${status}) before ready: ${err}`)),
    );
  });
  ready.catch(() => {});
  return { ready, done, child };
}

const SERVER = `
import sys
from multiprocessing.connection import Listener
with Listener(sys.argv[1], authkey=sys.argv[2].encode()) as l:
    print('ready', flush=True)
    try:
        with l.accept() as c:
            m = c.recv_bytes()
            c.send_bytes(m.upper())
            c.send_bytes(b'x' * 1000000)
            print('served', flush=True)
    except Exception as e:
        print(type(e).__name__, flush=True)
`;

const CLIENT = `
import sys
from multiprocessing.connection import Client
try:
    with Client(sys.argv[1], authkey=sys.argv[2].encode()) as c:
        c.send_bytes(b'ping')
        print(c.recv_bytes().decode(), len(c.recv_bytes()), flush=True)
except Exception as e:
    print(type(e).__name__, flush=True)
`;

(found.length > 0 ? describe.each(found) : describe.skip.each([['none', '']]))(
  'Listener/Client against Python %s',
  (_version, exe) => {
    test('a Python Listener with an authkey accepts a forkful Client', async () => {
      const address = path.join(os.tmpdir(), `forkful-py-${process.pid}-${Date.now()}`);
      const py = runPython(exe, SERVER, [address, 'secret']);
      try {
        await py.ready;
        const c = await mp.connection.Client(address, { authkey: 'secret' });
        c.sendBytes(Buffer.from('hello python'));
        expect((await c.recvBytes()).toString()).toBe('HELLO PYTHON');
        expect((await c.recvBytes()).equals(Buffer.alloc(1000000, 'x'))).toBe(true);
        c.close();
        const [status, out] = await py.done;
        expect(out).toContain('served');
        expect(status).toBe(0);
      } finally {
        py.child.kill('SIGKILL');
        await py.done;
      }
    });

    test('a forkful Listener with an authkey accepts a Python Client', async () => {
      const l = new mp.connection.Listener({ authkey: Buffer.from('secret') });
      const py = runPython(exe, CLIENT, [l.address as string, 'secret']);
      try {
        const d = await l.accept();
        expect((await d.recvBytes()).toString()).toBe('ping');
        d.sendBytes(Buffer.from('pong'));
        d.sendBytes(Buffer.alloc(70000, 'y'));
        const [status, out] = await py.done;
        expect(out.trim()).toBe('pong 70000');
        expect(status).toBe(0);
        d.close();
      } finally {
        l.close();
        py.child.kill('SIGKILL');
        await py.done;
      }
    });

    test('different authkeys: AuthenticationError on both sides, either way', async () => {
      const l = new mp.connection.Listener({ authkey: 'mine' });
      const client = runPython(exe, CLIENT, [l.address as string, 'theirs']);
      try {
        await expect(l.accept()).rejects.toThrow(AuthenticationError);
        const [, out] = await client.done;
        expect(out.trim()).toBe('AuthenticationError');
      } finally {
        l.close();
        client.child.kill('SIGKILL');
        await client.done;
      }
      const address = path.join(os.tmpdir(), `forkful-py-${process.pid}-${Date.now()}-2`);
      const server = runPython(exe, SERVER, [address, 'theirs']);
      try {
        await server.ready;
        await expect(mp.connection.Client(address, { authkey: 'mine' })).rejects.toThrow(
          AuthenticationError,
        );
        const [, out] = await server.done;
        expect(out).toContain('AuthenticationError');
      } finally {
        server.child.kill('SIGKILL');
        await server.done;
      }
    });
  },
);
