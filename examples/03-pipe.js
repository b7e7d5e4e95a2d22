// The article's Pipe example 1: a child sends a list through a Pipe.
const { Process, Pipe } = require('forkful/multiprocessing');

function f(conn) {
  conn.send([42, null, 'hello']);
  conn.close();
}

async function main() {
  const [parentConn, childConn] = Pipe();
  const p = new Process({ target: f, args: [childConn] });
  p.start();
  console.log(await parentConn.recv()); // prints "[ 42, null, 'hello' ]"
  await p.join();
}

main();
