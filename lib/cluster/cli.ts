#!/usr/bin/env node
// `forkful worker --connection redis://host:6379 --name jobs --processes 4`:
// a cluster worker as a command. SIGTERM or SIGINT closes it gracefully
// (running jobs finish, or go back to the queue after --grace seconds); a
// second signal hands the running jobs back at once.
import { Worker, type WorkerOptions } from './worker';

const USAGE = `usage: forkful worker --connection redis://HOST:PORT --name QUEUE [options]

Runs the jobs of forkful/cluster pools on the queue QUEUE in a local pool.

options:
  --connection URL        Redis URL (redis://[:password@]host:port[/db], rediss:// for TLS)
  --name QUEUE            the queue the pools use (their \`name\` option)
  --processes N           processes of the local pool (default: the CPU count)
  --concurrency N         jobs taken at once (default: 2 x processes)
  --cwd DIR               where { module } targets and require() resolve (default: .)
  --prefix P              BullMQ key prefix, the same as the pools' (default: bull)
  --start-method M        'fork' or 'spawn' for the local pool (default: fork on Linux)
  --lock-duration S       seconds before a dead worker's jobs are retried (default: 30)
  --stalled-interval S    seconds between stalled-job checks (default: lock duration)
  --max-stalled N         times a job may lose its worker before it fails (default: 3)
  --grace S               seconds running jobs may finish on SIGTERM (default: 30)
  --sweep-interval S      seconds between sweeps of callers that are gone (default: 30)
  --quiet                 print nothing but errors
`;

function fail(message: string): never {
  process.stderr.write(`forkful: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function number(flag: string, text: string | undefined, integer: boolean): number {
  const n = Number(text);
  if (text === undefined || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    fail(`${flag} needs ${integer ? 'an integer' : 'a number'}, not ${text ?? 'nothing'}`);
  }
  return n;
}

export function parseWorkerArgs(argv: string[]): WorkerOptions & { quiet: boolean } {
  const opts: Partial<WorkerOptions> & { quiet: boolean } = { quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s) : [arg];
    const value = (): string | undefined => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--connection':
        opts.connection = value();
        break;
      case '--name':
        opts.name = value();
        break;
      case '--processes':
        opts.processes = number(flag, value(), true);
        break;
      case '--concurrency':
        opts.concurrency = number(flag, value(), true);
        break;
      case '--cwd':
        opts.cwd = value();
        break;
      case '--prefix':
        opts.prefix = value();
        break;
      case '--start-method': {
        const m = value();
        if (m !== 'fork' && m !== 'spawn') fail(`--start-method is 'fork' or 'spawn', not ${m}`);
        opts.startMethod = m;
        break;
      }
      case '--lock-duration':
        opts.lockDuration = number(flag, value(), false);
        break;
      case '--stalled-interval':
        opts.stalledInterval = number(flag, value(), false);
        break;
      case '--max-stalled':
        opts.maxStalledCount = number(flag, value(), true);
        break;
      case '--grace':
        opts.grace = number(flag, value(), false);
        break;
      case '--sweep-interval':
        opts.sweepInterval = number(flag, value(), false);
        break;
      case '--quiet':
        opts.quiet = true;
        break;
      default:
        fail(`unknown option ${arg}`);
    }
  }
  if (!opts.connection) fail('--connection is required');
  if (!opts.name) fail('--name is required');
  return opts as WorkerOptions & { quiet: boolean };
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (command !== 'worker') fail(`unknown command ${command}`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const { quiet, ...options } = parseWorkerArgs(rest);
  const stamp = (): string => new Date().toISOString();
  const worker = new Worker({
    ...options,
    log: quiet ? undefined : (line) => process.stdout.write(`${stamp()} ${line}\n`),
  });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      if (!quiet)
        process.stdout.write(`${stamp()} ${signal}: closing (again to hand jobs back now)\n`);
      void worker.close(); // main() exits once it is done
    } else {
      worker.handBackAll();
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await worker.ready;
  } catch (err) {
    process.stderr.write(`forkful worker: cannot start: ${(err as Error).message}\n`);
    await worker.close(0.001);
    process.exit(1);
  }
  await worker.done;
  if (worker.error) process.stderr.write(`forkful worker: ${worker.error.message}\n`);
  process.exit(worker.error ? 1 : 0);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`forkful: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
}
