// threading.local: one object, each thread its own attributes.
// Python's article version keeps `local_school` as a global that every thread
// reads. A forkful Thread has its own isolate, so the local travels in the
// thread's args (by handle: each thread gets its own copy of the attributes)
// and the helper is defined inside the thread's function.
const { Thread, local } = require('forkful/threading');

// Create a global ThreadLocal object:
const localSchool = new local();

function processThread(localSchool, name) {
  const { currentThread } = require('forkful/threading');

  function processStudent() {
    // Get the student bound to the current thread:
    const std = localSchool.student;
    console.log(`Hello, ${std} (in ${currentThread().name})`);
  }

  // Bind the student to this thread's view of the ThreadLocal:
  localSchool.student = name;
  processStudent();
}

async function main() {
  const t1 = new Thread({ target: processThread, args: [localSchool, 'Alice'], name: 'Thread-A' });
  const t2 = new Thread({ target: processThread, args: [localSchool, 'Bob'], name: 'Thread-B' });
  t1.start();
  t2.start();
  await t1.join();
  await t2.join();
}

main();
