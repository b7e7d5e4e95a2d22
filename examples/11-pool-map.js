// The article's second Pool program: map(Pri, range(10)) on a pool of 5.
const { Pool } = require('forkful/multiprocessing');
const os = require('forkful/os');

function Pri(x) {
  console.log(x * x);
  console.log(os.getpid());
}

async function main() {
  const p = new Pool(5);
  await p.map(
    Pri,
    Array.from({ length: 10 }, (_, i) => i),
  );
  p.close();
  await p.join();
}

// Exported so the spawn start method finds Pri in its workers.
module.exports = { Pri };
if (require.main === module) main();
