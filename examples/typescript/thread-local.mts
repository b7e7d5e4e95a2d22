// 30-thread-local in TypeScript: a typed threading.local shared by threads,
// each thread seeing only the attributes it set.
import { Thread, local } from 'forkful/threading';

const school = new local<{ student?: string }>();

// Runs in each thread (its own isolate): what it needs comes through args.
function processStudent(school: { student?: string }, name: string, thread: string): void {
  school.student = name;
  console.log(`Hello, ${school.student} (in ${thread})`);
}

async function main(): Promise<void> {
  const threads = ['Alice', 'Bob'].map(
    (name, i) => new Thread({ target: processStudent, args: [school, name, `Thread-${'AB'[i]}`] }),
  );
  for (const t of threads) t.start();
  for (const t of threads) await t.join();
  console.log(`main thread's student: ${school.student}`);
}

void main();
