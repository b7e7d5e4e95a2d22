'use strict';
// Figure 5: the receiving side for child_process IPC and worker_threads.
const { isMainThread, parentPort, workerData } = require('node:worker_threads');

const port = isMainThread ? process : parentPort;
const { mode, count } = isMainThread ? JSON.parse(process.argv[2]) : workerData;
const send = isMainThread ? (x) => process.send(x) : (x) => parentPort.postMessage(x);
let got = 0;
port.on('message', (x) => {
  got++;
  if (mode === 'pingpong') send(x);
  else if (got === count) send('ack');
  if (got === count) {
    if (isMainThread) process.disconnect();
    else parentPort.close();
  }
});
