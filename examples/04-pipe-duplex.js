// The article's Pipe example 2: two processes talk over the two ends of a
// duplex Pipe.
const mul = require('forkful/multiprocessing');

async function proc1(pipe) {
  pipe.send('hello');
  console.log('proc1 rec:', await pipe.recv());
}

async function proc2(pipe) {
  console.log('proc2 rec:', await pipe.recv());
  pipe.send('hello, too');
}

async function main() {
  // Build a pipe
  const pipe = mul.Pipe();
  // Pass an end of the pipe to process 1
  const p1 = new mul.Process({ target: proc1, args: [pipe[0]] });
  // Pass the other end of the pipe to process 2
  const p2 = new mul.Process({ target: proc2, args: [pipe[1]] });
  p1.start();
  p2.start();
  await p1.join();
  await p2.join();
}

main();
