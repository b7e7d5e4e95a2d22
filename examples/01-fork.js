// The article's first program: os.fork() copies the running process; the
// child gets 0, the parent gets the child's pid.
//
//   import os
//   print 'Process (%s) start...' % os.getpid()
//   pid = os.fork()
//   if pid==0:
//       print 'I am child process (%s) and my parent is %s.' % (os.getpid(), os.getppid())
//   else:
//       print 'I (%s) just created a child process (%s).' % (os.getpid(), pid)
const os = require('forkful/os');

console.log(`Process (${os.getpid()}) start...`);
const pid = os.fork();
if (pid === 0) {
  console.log(`I am child process (${os.getpid()}) and my parent is ${os.getppid()}.`);
} else {
  console.log(`I (${os.getpid()}) just created a child process (${pid}).`);
  os.waitpid(pid, 0); // reap it (the article leaves a zombie behind)
}
