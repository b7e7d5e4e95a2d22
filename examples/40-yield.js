// The article's yield example: a generator consumer driven with send().
// Python primes the generator with c.next(); coroutine() does that here and
// gives the generator Python's send protocol (send, next, throw, close).
// The consumer sleeps like the article's time.sleep(1), but without blocking
// the event loop, so it is an async generator and send() returns a Promise.
'use strict';
const { coroutine, sleep } = require('forkful/coroutine');

// The article sleeps 1 s per item; 0.1 s keeps the tour short.
const WORK_SECONDS = 0.1;

async function* consumer() {
  let r = '';
  while (true) {
    const n = yield r;
    if (!n) return;
    console.log(`[CONSUMER] Consuming ${n}...`);
    await sleep(WORK_SECONDS);
    r = '200 OK';
  }
}

async function produce(c) {
  await c.initial; // Python: c.next(), done by coroutine()
  let n = 0;
  while (n < 5) {
    n = n + 1;
    console.log(`[PRODUCER] Producing ${n}...`);
    const r = await c.send(n);
    console.log(`[PRODUCER] Consumer return: ${r}`);
  }
  await c.close();
}

if (require.main === module) {
  const c = coroutine(consumer);
  produce(c).catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
