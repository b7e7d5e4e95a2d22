// The spawner thread of the spawn start method without the addon (a
// Worker; see spawner.ts). A thread blocked in joinSync() cannot learn that
// its child ended when the event loop that reaps the child is the blocked
// one, and Node has no waitpid: so without the addon children are started
// and reaped here, on a loop of its own. Each start, failure and exit is
// posted to the thread that asked, then the counter bumped and notified, so
// that thread can block in Atomics.wait and take it with
// receiveMessageOnPort (joinSync), or receive it as a message (join).
import * as childProcess from 'node:child_process';
import * as os from 'node:os';
import { workerData, type MessagePort } from 'node:worker_threads';

/** One child to start: child_process.fork's arguments and the payload its
 * bootstrap waits for on the IPC channel. */
export interface SpawnRequest {
  key: number;
  modulePath: string;
  execArgv: string[];
  /** The Node executable to run (setExecutable()). */
  execPath: string;
  env: NodeJS.ProcessEnv;
  fds: number[];
  payload: unknown;
}

/** What the spawner reports about the child of request `key`. */
export type SpawnEvent =
  { key: number; pid: number } | { key: number; error: string } | { key: number; exitcode: number };

export interface SpawnerData {
  port: MessagePort;
  /** Word 0 is bumped at each event (lib/core/recorded-worker.ts's words). */
  counter: Int32Array;
}

const { port, counter } = workerData as SpawnerData;

function post(event: SpawnEvent): void {
  port.postMessage(event);
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
}

function signalNumberOf(signal: NodeJS.Signals): number {
  return (os.constants.signals as Record<string, number>)[signal] ?? 0;
}

port.on('message', (req: SpawnRequest) => {
  let child: childProcess.ChildProcess;
  try {
    child = childProcess.fork(req.modulePath, [], {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc', ...req.fds],
      env: req.env,
      execArgv: req.execArgv,
      execPath: req.execPath,
      serialization: 'advanced',
    });
  } catch (err) {
    post({ key: req.key, error: (err as Error).message });
    return;
  }
  // The child hangs up the channel once it has its payload; an error on it
  // (the child died first) is reported through 'exit'.
  child.on('error', () => {});
  if (child.pid === undefined) {
    post({ key: req.key, error: `could not start a spawned process (${req.execPath})` });
    return;
  }
  child.on('exit', (code, signal) => {
    post({ key: req.key, exitcode: code ?? (signal ? -signalNumberOf(signal) : 255) });
  });
  child.send(req.payload as childProcess.Serializable);
  post({ key: req.key, pid: child.pid });
});
