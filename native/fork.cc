// os.fork() of a running Node process. Three things make it work on current
// Node (see DESIGN.md, "How a real fork of Node works"):
//   1. V8 marks its heap MADV_DONTFORK: lift that around fork(), restore it
//      in the parent.
//   2. V8's platform workers sleep on a condition variable that a child would
//      inherit with phantom waiters: park every worker inside a task of ours
//      for the duration of fork(), so none waits on the platform's queue.
//   3. The child re-creates the event loop's kernel state (uv_loop_fork).
#include <node.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <uv.h>
#include <v8-platform.h>
#include <v8.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "addon.h"
#include "fd.h"

namespace forkful {
namespace {

// True in a process created by Fork(): its platform workers do not exist,
// so there is nothing to park in a nested fork.
bool g_in_forked_child = false;

// How long to wait for V8's workers to finish their current job and park.
constexpr auto kParkTimeout = std::chrono::seconds(30);

// ---- 2. parking V8's platform workers --------------------------------------

struct ParkingLot {
  std::mutex mu;
  std::condition_variable cv;
  int parked = 0;
  bool released = false;
};

class ParkTask : public v8::Task {
 public:
  explicit ParkTask(std::shared_ptr<ParkingLot> lot) : lot_(std::move(lot)) {}
  void Run() override {
    std::unique_lock<std::mutex> lock(lot_->mu);
    if (lot_->released) return;  // a surplus task that ran after the fork
    lot_->parked++;
    lot_->cv.notify_all();
    lot_->cv.wait(lock, [this] { return lot_->released; });
  }

 private:
  std::shared_ptr<ParkingLot> lot_;
};

// Holds every platform worker inside a ParkTask until destroyed.
class ParkedWorkers {
 public:
  ParkedWorkers(Napi::Env env, node::MultiIsolatePlatform* platform)
      : lot_(std::make_shared<ParkingLot>()) {
    // NumberOfWorkerThreads() counts Node's delayed-task scheduler thread
    // too, which never runs worker tasks: the workers are one fewer.
    int threads = platform->NumberOfWorkerThreads();
    int workers = threads > 1 ? threads - 1 : threads;
    for (int i = 0; i < threads; i++) {
      platform->CallOnWorkerThread(std::make_unique<ParkTask>(lot_));
    }
    std::unique_lock<std::mutex> lock(lot_->mu);
    bool all = lot_->cv.wait_for(lock, kParkTimeout, [&] { return lot_->parked >= workers; });
    if (!all) {
      int parked = lot_->parked;
      lot_->released = true;
      lot_->cv.notify_all();
      lock.unlock();
      ThrowTyped(env, "ForkError",
                 "V8's platform workers did not become idle within 30 s (" +
                     std::to_string(parked) + " of " + std::to_string(workers) +
                     " parked); fork() was not attempted. A long GC or compilation job "
                     "is running: try again, or fork earlier, before the heap grows.");
    }
  }
  ~ParkedWorkers() {
    std::lock_guard<std::mutex> lock(lot_->mu);
    lot_->released = true;
    lot_->cv.notify_all();
  }
  ParkedWorkers(const ParkedWorkers&) = delete;
  ParkedWorkers& operator=(const ParkedWorkers&) = delete;

 private:
  std::shared_ptr<ParkingLot> lot_;
};

// ---- 1. V8's MADV_DONTFORK mappings ----------------------------------------

struct Range {
  uintptr_t start;
  uintptr_t end;
};

bool HasFlag(const char* flags, const char* end, const char* flag) {
  size_t n = strlen(flag);
  for (const char* p = flags; p + n <= end; p++) {
    if ((p == flags || p[-1] == ' ') && memcmp(p, flag, n) == 0 &&
        (p + n == end || p[n] == ' ' || p[n] == '\n')) {
      return true;
    }
  }
  return false;
}

// Mappings whose VmFlags contain `dc` (VM_DONTCOPY), from /proc/self/smaps.
std::vector<Range> DontForkRanges(Napi::Env env) {
  std::string text;
  if (!ReadWholeFile("/proc/self/smaps", &text)) ThrowErrno(env, "open /proc/self/smaps");
  std::vector<Range> ranges;
  Range current{0, 0};
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    const char* eol = static_cast<const char*>(memchr(p, '\n', end - p));
    if (eol == nullptr) eol = end;
    if (strncmp(p, "VmFlags:", 8) == 0) {
      if (HasFlag(p + 8, eol, "dc")) ranges.push_back(current);
    } else if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')) {
      char* dash = nullptr;
      uintptr_t start = strtoull(p, &dash, 16);
      if (dash != nullptr && *dash == '-') {
        current = Range{start, static_cast<uintptr_t>(strtoull(dash + 1, nullptr, 16))};
      }
    }
    p = eol + 1;
  }
  return ranges;
}

void Advise(const std::vector<Range>& ranges, int advice) {
  for (const Range& r : ranges) {
    // A mapping can vanish between the scan and here (another thread unmapped
    // it); ENOMEM then only means there is nothing left to advise.
    madvise(reinterpret_cast<void*>(r.start), r.end - r.start, advice);
  }
}

// Lifts MADV_DONTFORK for the lifetime of the object (the parent's side).
class ForkableHeap {
 public:
  explicit ForkableHeap(Napi::Env env) : ranges_(DontForkRanges(env)) {
    Advise(ranges_, MADV_DOFORK);
  }
  ~ForkableHeap() {
    if (restore_) Advise(ranges_, MADV_DONTFORK);
  }
  void KeepInChild() { restore_ = false; }  // the child does not need it back
  size_t size() const { return ranges_.size(); }

 private:
  std::vector<Range> ranges_;
  bool restore_ = true;
};

// ---- the child's event loop ----------------------------------------------
// The child inherits V8 worker tasks that will never complete (their threads
// are not copied). Node drains those tasks whenever its loop runs empty, so
// the child's loop must never run empty: a ref'd prepare handle keeps it
// alive and, each iteration, asks whether anything but itself would. When
// nothing would, JS is told (it emits 'beforeExit', then 'exit' and _exits).

uv_prepare_t g_child_keeper;
Napi::FunctionReference g_on_child_idle;
std::unique_ptr<Napi::AsyncContext> g_child_idle_context;

bool LoopAliveBesidesKeeper(uv_prepare_t* keeper) {
  uv_unref(reinterpret_cast<uv_handle_t*>(keeper));
  bool alive = uv_loop_alive(keeper->loop) != 0;
  uv_ref(reinterpret_cast<uv_handle_t*>(keeper));
  return alive;
}

void OnChildPrepare(uv_prepare_t* handle) {
  if (g_on_child_idle.IsEmpty() || LoopAliveBesidesKeeper(handle)) return;
  Napi::Env env = g_on_child_idle.Env();
  Napi::HandleScope scope(env);
  g_on_child_idle.MakeCallback(env.Global(), {Napi::String::New(env, "beforeExit")},
                               *g_child_idle_context);
  if (LoopAliveBesidesKeeper(handle)) return;
  g_on_child_idle.MakeCallback(env.Global(), {Napi::String::New(env, "exit")},
                               *g_child_idle_context);
}

void KeepChildLoopAlive(Napi::Env env, uv_loop_t* loop, Napi::Function on_idle) {
  g_on_child_idle = Napi::Persistent(on_idle);
  if (g_child_idle_context) return;  // a nested fork inherited a running keeper
  g_child_idle_context = std::make_unique<Napi::AsyncContext>(env, "forkful.ForkedChild");
  uv_prepare_init(loop, &g_child_keeper);
  uv_prepare_start(&g_child_keeper, OnChildPrepare);
}

// ---- fork() ----------------------------------------------------------------

using Clock = std::chrono::steady_clock;
double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct ForkTimings {
  double park_ms = 0;
  double scan_ms = 0;  // reading smaps and lifting DONTFORK
  double fork_ms = 0;  // the fork() system call, as the parent sees it
  size_t mappings = 0;
};
ForkTimings g_last_timings;

// fork(onChildIdle): onChildIdle runs in the child whenever its event loop
// has nothing left to do.
Napi::Value Fork(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "onChildIdle must be a function");
  if (!OnMainThread()) {
    ThrowTyped(env, "ForkError",
               "fork() can only be called from the main thread; a Worker or Thread cannot fork");
  }
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  node::Environment* node_env = node::GetCurrentEnvironment(isolate->GetCurrentContext());
  node::MultiIsolatePlatform* platform = node::GetMultiIsolatePlatform(node_env);
  uv_loop_t* loop = node::GetCurrentEventLoop(isolate);
  if (platform == nullptr || loop == nullptr) {
    ThrowTyped(env, "ForkError", "cannot reach Node's platform or event loop to prepare fork()");
  }

  std::unique_ptr<ParkedWorkers> parked;
  Clock::time_point t0 = Clock::now();
  if (!g_in_forked_child) parked = std::make_unique<ParkedWorkers>(env, platform);
  Clock::time_point t1 = Clock::now();
  ForkableHeap heap(env);
  Clock::time_point t2 = Clock::now();

  fflush(nullptr);  // nothing buffered in C stdio is written twice
  pid_t pid = fork();
  if (pid < 0) ThrowErrno(env, "fork");
  g_last_timings = {Ms(t1 - t0), Ms(t2 - t1), Ms(Clock::now() - t2), heap.size()};
  if (pid == 0) {
    g_in_forked_child = true;
    heap.KeepInChild();
    // The parked workers' condition variable has waiters that do not exist
    // here: signalling it would hang. Leave the lot untouched, forever.
    static_cast<void>(parked.release());
    int err = uv_loop_fork(loop);
    if (err != 0) {
      fprintf(stderr, "forkful: uv_loop_fork failed in the child: %s\n", uv_strerror(err));
      _exit(70);
    }
    KeepChildLoopAlive(env, loop, info[0].As<Napi::Function>());
  }
  return Napi::Number::New(env, pid);
}

// Where the time of the last fork() went: diagnostics for the benchmarks.
Napi::Value LastForkTimings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("parkMs", g_last_timings.park_ms);
  out.Set("scanMs", g_last_timings.scan_ms);
  out.Set("forkMs", g_last_timings.fork_ms);
  out.Set("dontForkMappings", static_cast<double>(g_last_timings.mappings));
  return out;
}

Napi::Value InForkedChild(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), g_in_forked_child);
}

// Count of mappings V8 marked DONTFORK (diagnostics and benchmarks).
Napi::Value CountDontForkMappings(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(DontForkRanges(info.Env()).size()));
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("fork", Napi::Function::New(env, Fork));
  exports.Set("inForkedChild", Napi::Function::New(env, InForkedChild));
  exports.Set("lastForkTimings", Napi::Function::New(env, LastForkTimings));
  exports.Set("countDontForkMappings", Napi::Function::New(env, CountDontForkMappings));
}

const Registration reg{"fork", Init};

}  // namespace
}  // namespace forkful
