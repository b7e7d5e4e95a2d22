'use strict';
// A plain BullMQ worker for the cluster figure's raw-BullMQ contender: one
// job per task, the processor computes x*x in the worker process itself.
// argv: <port> <queue> <concurrency>
const { Worker } = require('bullmq');

const [port, queue, concurrency] = process.argv.slice(2);
const worker = new Worker(queue, async (job) => job.data.x * job.data.x, {
  connection: { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null },
  concurrency: Number(concurrency),
  removeOnComplete: { count: 0 },
});
worker.on('error', () => {});
worker.waitUntilReady().then(() => process.stdout.write('READY\n'));
process.on('SIGTERM', () => worker.close().then(() => process.exit(0)));
