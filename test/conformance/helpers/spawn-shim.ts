import * as path from 'node:path';
const childProcess = require('node:child_process') as typeof import('node:child_process');
const root = path.resolve(__dirname, '..', '..', '..');
const libBootstrap = path.join(root, 'lib', 'multiprocessing', 'start', 'spawn-bootstrap.js');
const distBootstrap = path.join(root, 'dist', 'multiprocessing', 'start', 'spawn-bootstrap.js');
const realFork = childProcess.fork as (
  ...a: unknown[]
) => import('node:child_process').ChildProcess;
childProcess.fork = ((modulePath: string, ...rest: unknown[]) =>
  realFork(
    modulePath === libBootstrap ? distBootstrap : modulePath,
    ...rest,
  )) as typeof childProcess.fork;
