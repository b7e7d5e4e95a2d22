// V8's background work in a forked child (see child_workers.cc): the child
// gets worker threads of its own, so TurboFan, concurrent OSR, Maglev,
// WebAssembly compilation and concurrent GC run there as in the parent.
#pragma once

#include <napi.h>
#include <node.h>

#include <string>

namespace forkful {

class WorkerPool;

// Whether a forked child of this process routes V8's worker tasks to a pool
// of its own (checked once per process tree: the first fork checks,
// children inherit the answer).
struct ChildWorkersSupport {
  bool available = false;
  bool turned_off = false;  // by FORKFUL_CHILD_WORKERS=0 (no warning then)
  std::string why;          // when not available: what did not match this Node
};
const ChildWorkersSupport& CheckChildWorkers(node::MultiIsolatePlatform* platform);

// In a process that already runs V8's worker tasks on its own pool (a forked
// child forking again): holds that pool idle, no task running and its lock
// taken, from construction until fork() has returned. Does nothing where
// there is no such pool. Throws ForkError when a task does not finish in
// time.
class ChildPoolHold {
 public:
  explicit ChildPoolHold(Napi::Env env);
  ~ChildPoolHold();  // the parent's side: the pool runs again
  ChildPoolHold(const ChildPoolHold&) = delete;
  ChildPoolHold& operator=(const ChildPoolHold&) = delete;

  // The child's side: the held pool's threads do not exist here; its queued
  // tasks move to the child's pool and the old pool is never touched again.
  WorkerPool* TakeInChild();

 private:
  WorkerPool* pool_ = nullptr;
};

// In the child, right after fork() and while it is single-threaded: V8's
// worker tasks from now on run on threads of this process (started on
// demand), with `held`'s queued tasks if a pool was held across the fork.
// Call only when CheckChildWorkers() found them available.
void StartChildWorkers(node::MultiIsolatePlatform* platform, WorkerPool* held);

// Node's DrainTasks for a forked child, whose loop must not call Node's own
// (it would wait for tasks parked in Node's queue forever): waits until this
// process's pool has no task queued or running, runs the foreground tasks
// they posted (a WebAssembly.compile's result, say), and repeats while there
// were some. Returns whether any ran. Does nothing without a pool.
bool DrainChildWorkers(node::MultiIsolatePlatform* platform, v8::Isolate* isolate);

}  // namespace forkful
