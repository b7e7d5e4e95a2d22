// Connections and Queues sent inside messages to a running process (fds as
// SCM_RIGHTS), reduction.sendHandle/recvHandle, and the typed error of a
// channel that cannot carry fds. Without the addon (portable backend) the
// objects travel through the hub, which needs no fds, and handles are
// refused with NotSupportedError.
import { backends, results, runFixture } from '../helpers/fixture';

describe.each(backends)('fds inside messages (%s backend)', (name, env) => {
  const native = name !== 'portable';
  const run = runFixture('mp-fd-passing.js', [], { timeoutMs: 90000, env });
  const r = results(run.stdout);

  test('the fixture completes', () => {
    expect(run.stderr).not.toMatch(/FIXTURE ERROR/);
    expect(r.done).toBe(true);
    expect(run.status).toBe(0);
  });

  test('a Queue, SimpleQueue, JoinableQueue and Connection made after the child started reach it in a message', () => {
    expect(r.queuesInMessage).toEqual([['from q', 21], 'from sq', 'from jq', 'jq joined']);
    expect(r.childExit).toBe(0);
  });

  test('one Connection held three times arrives as one object on its own fd; no fd is left', () => {
    expect(r.sameObject).toEqual({ same: true, text: 'through the copy', newFd: native });
    expect(r.fdsLeft).toBe(0);
  });

  test('a pipe, a Queue and a TCP connection refuse a message holding fds (NotSupportedError, nothing sent)', () => {
    // The portable backend's objects need no fds: every channel carries them.
    const refused = native ? 'NotSupportedError' : 'none';
    expect(r.cannotCarry).toMatchObject({
      pipe: refused,
      queue: refused,
      simple: refused,
      queueInPipe: refused,
      tcp: refused,
      tcpAsync: refused,
      tcpAfter: 'still works',
    });
    if (native) expect(r.cannotCarry).toMatchObject({ pipeNothingSent: true, queueEmpty: true });
  });

  test('reduction.sendHandle / recvHandle pass an fd; recvHandle rejects with EOFError at the end', () => {
    expect(r.handle).toEqual(
      native
        ? { text: 'via the handle', otherFd: true, next: 'after the handle', eof: 'EOFError' }
        : { error: 'NotSupportedError', eof: 'NotSupportedError' },
    );
  });

  test('out of fds while receiving (MSG_CTRUNC): that message fails, the fds that came are closed, the stream goes on', () => {
    // Without the addon no fd travels; with it, measured where prlimit(1) exists.
    if (!native || r.ctrunc === undefined) return expect(r.ctrunc).toBeUndefined();
    expect(r.ctrunc).toEqual({ first: 'SerializationError', said: true, next: 'next', fdsLeft: 0 });
  });
});
