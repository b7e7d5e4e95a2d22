// V8's background work in a forked child.
//
// fork() copies only the calling thread: a child has none of the platform's
// worker threads, so every task V8 posts to them (concurrent TurboFan and
// OSR jobs, Maglev, WebAssembly compilation, concurrent marking and
// sweeping) would wait in Node's queue forever. Code first run hot in a
// child ran 15-75x slower than in its parent on Node 24 and 26, where
// --no-concurrent-osr cannot help (Maglev tiers up to TurboFan only by
// concurrent OSR).
//
// So the child gets a pool of its own. V8 posts every worker task through
// the platform's virtual functions (V8 12+: PostTaskOnWorkerThreadImpl and
// PostDelayedTaskOnWorkerThreadImpl; V8 11: CallOnWorkerThread, its blocking
// and low-priority variants, and CallDelayedOnWorkerThread), and jobs post
// their tasks through the same functions (NodePlatform creates them with
// v8::platform::NewDefaultJobHandle). Right after fork(), while the child is
// single-threaded, the platform object gets a copy of its vtable whose
// posting slots point here, and DrainTasks too (Node's waits for its own
// queue, whose parked tasks never finish here). Nothing else of the object
// changes, and the parent is never touched. The pool's threads start on
// demand; a nested fork holds them idle across fork() and the grandchild
// takes over their queue with a pool of its own; the child's event loop
// drains them as Node's would.
//
// What this relies on, checked before the first fork (CheckChildWorkers;
// when a check fails, children compile on their main thread as before and
// the parent warns once, with the Node version and the check that failed):
//   * the platform object is a node::NodePlatform: its vtable pointer points
//     two words (offset-to-top, RTTI) into the exported symbol
//     _ZTVN4node12NodePlatformE, whose size (dladdr1) is the vtable's size;
//   * the slot numbers come from member-function pointers of the public
//     header classes (Itanium C++ ABI), and each such slot holds the function
//     of that name (NodePlatform's override or v8::Platform's default), looked
//     up by dladdr.
#include "child_workers.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <uv.h>
#include <v8-platform.h>
#include <v8-version.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "addon.h"

namespace forkful {

// An untimed condition_variable::wait() links to a symbol versioned
// GLIBCXX_3.4.30 (GCC 12), above the prebuilds' libstdc++ floor; a timed
// wait is inline (pthread_cond_clockwait, glibc 2.30). Callers loop on their
// predicate, so a day-long timeout is the same as no timeout.
static void WaitUntimed(std::condition_variable& cv, std::unique_lock<std::mutex>& lock) {
  cv.wait_for(lock, std::chrono::hours(24));
}

// ---- the child's pool ------------------------------------------------------
// Threads start on demand (a child that compiles nothing costs no thread),
// up to as many as the parent's platform has. Ready tasks run highest
// priority first, FIFO within a priority (Node 22+ orders its queue by
// priority too). The pool and its threads live until the process _exits.

class WorkerPool {
  using Clock = std::chrono::steady_clock;

 public:
  explicit WorkerPool(int max_threads) : max_threads_(max_threads) {}
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Post(v8::TaskPriority priority, std::unique_ptr<v8::Task> task) {
    std::lock_guard<std::mutex> lock(mu_);
    ready_[Rank(priority)].push_back(std::move(task));
    queued_++;
    WakeForReadyLocked();
  }

  void PostDelayed(v8::TaskPriority priority, std::unique_ptr<v8::Task> task, double seconds) {
    Clock::time_point due =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(std::max(0.0, seconds)));
    std::lock_guard<std::mutex> lock(mu_);
    delayed_.emplace(due, Delayed{Rank(priority), std::move(task)});
    WakeForDelayedLocked();
  }

  // Returns with the lock taken and no task running (true), or, when a task
  // still ran after `timeout`, with nothing held (false; *running says how
  // many). Idle threads wait without a deadline meanwhile.
  bool Hold(std::chrono::seconds timeout, int* running) {
    std::unique_lock<std::mutex> lock(mu_);
    held_ = true;
    bool idle = none_running_.wait_for(lock, timeout, [&] { return running_ == 0; });
    if (!idle) {
      *running = running_;
      held_ = false;
      WakeAllLocked();
      return false;
    }
    lock.release();  // stays locked across fork()
    return true;
  }

  // Node's BlockingDrain: returns once no task is queued or running
  // (delayed ones are not waited for, as in Node).
  // Several threads may drain at once (the main thread's keeper, a Worker
  // ending).
  void Drain() {
    std::unique_lock<std::mutex> lock(mu_);
    drainers_++;
    while (queued_ != 0 || running_ != 0) WaitUntimed(none_running_, lock);
    drainers_--;
  }

  // The parent's side of Hold().
  void Release() {
    held_ = false;
    WakeAllLocked();
    mu_.unlock();
  }

  // The child's side: `old` was held across fork() (its lock taken, none of
  // its threads exist here). Its queued tasks become this pool's; `old` is
  // abandoned as it is: its condition variables have waiters that do not
  // exist here, and signalling them would hang.
  void Adopt(WorkerPool* old) {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < kRanks; i++) ready_[i] = std::move(old->ready_[i]);
    queued_ = old->queued_;
    delayed_ = std::move(old->delayed_);
    adopted_ = queued_ + static_cast<int>(delayed_.size());
    if (queued_ > 0) WakeForReadyLocked();
    if (!delayed_.empty()) WakeForDelayedLocked();
  }

  int threads() {
    std::lock_guard<std::mutex> lock(mu_);
    return threads_;
  }
  int max_threads() const { return max_threads_; }
  int adopted() const { return adopted_; }
  double tasks_run() const { return static_cast<double>(tasks_run_.load()); }

 private:
  static constexpr size_t kRanks = 3;  // kBestEffort, kUserVisible, kUserBlocking
  struct Delayed {
    size_t rank;
    std::unique_ptr<v8::Task> task;
  };

  static size_t Rank(v8::TaskPriority priority) {
    return std::min(static_cast<size_t>(priority), kRanks - 1);
  }

  void WakeForReadyLocked() {
    if (queued_ > idle_ && threads_ < max_threads_) StartThreadLocked();
    if (idle_ > 0) work_.notify_one();
  }

  void WakeForDelayedLocked() {
    // An idle thread recomputes its deadline; a busy one sees the task when
    // it finishes its own.
    if (threads_ == 0) StartThreadLocked();
    if (idle_ > 0) work_.notify_one();
  }

  void WakeAllLocked() {
    if (queued_ > 0 || !delayed_.empty()) work_.notify_all();
  }

  void StartThreadLocked() {
    // The pool's threads never take the process's signals (Node's main
    // thread handles them), so block all of them for the new thread.
    sigset_t all;
    sigset_t old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    // libuv's default stack size, as Node's own V8 workers have.
    uv_thread_t thread;
    int err = uv_thread_create(&thread, ThreadMain, this);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (err != 0) {
      if (threads_ == 0 && !start_failure_reported_) {
        start_failure_reported_ = true;
        fprintf(stderr,
                "forkful: cannot start a thread for V8's background work in forked child %d "
                "(%s: %s); its compile and GC tasks wait until one starts.\n",
                static_cast<int>(getpid()), uv_err_name(err), uv_strerror(err));
      }
      return;
    }
    pthread_detach(thread);  // never joined: the child ends with _exit
    threads_++;
  }

  static void ThreadMain(void* arg) {
    pthread_setname_np(pthread_self(), "V8WorkerChild");
    static_cast<WorkerPool*>(arg)->Work();
  }

  void Work() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      PromoteDueLocked();
      if (!held_ && queued_ > 0) {
        std::unique_ptr<v8::Task> task = PopLocked();
        running_++;
        lock.unlock();
        task->Run();
        task.reset();
        tasks_run_.fetch_add(1, std::memory_order_relaxed);
        lock.lock();
        if (--running_ == 0 && (held_ || (drainers_ > 0 && queued_ == 0))) {
          none_running_.notify_all();
        }
        continue;
      }
      idle_++;
      if (!held_ && !delayed_.empty()) {
        work_.wait_until(lock, delayed_.begin()->first);
      } else {
        WaitUntimed(work_, lock);
      }
      idle_--;
    }
  }

  // Moves the delayed tasks that are due to the ready queues (the calling
  // thread takes one; another thread is woken or started for the rest).
  void PromoteDueLocked() {
    Clock::time_point now = Clock::now();
    int promoted = 0;
    while (!delayed_.empty() && delayed_.begin()->first <= now) {
      Delayed& d = delayed_.begin()->second;
      ready_[d.rank].push_back(std::move(d.task));
      queued_++;
      promoted++;
      delayed_.erase(delayed_.begin());
    }
    if (promoted > 1) WakeForReadyLocked();
  }

  std::unique_ptr<v8::Task> PopLocked() {
    for (size_t i = kRanks; i-- > 0;) {
      if (!ready_[i].empty()) {
        std::unique_ptr<v8::Task> task = std::move(ready_[i].front());
        ready_[i].pop_front();
        queued_--;
        return task;
      }
    }
    return nullptr;  // unreachable while queued_ > 0
  }

  const int max_threads_;
  std::mutex mu_;
  std::condition_variable work_;          // idle threads wait here
  std::condition_variable none_running_;  // Hold() and Drain() wait here
  std::deque<std::unique_ptr<v8::Task>> ready_[kRanks];
  std::multimap<Clock::time_point, Delayed> delayed_;
  int queued_ = 0;    // tasks in ready_
  int threads_ = 0;   // started (they never end)
  int idle_ = 0;      // waiting on work_
  int running_ = 0;   // inside a task's Run()
  int adopted_ = 0;   // tasks taken over from a pool held across fork()
  int drainers_ = 0;  // threads in Drain()
  bool held_ = false;
  bool start_failure_reported_ = false;
  std::atomic<uint64_t> tasks_run_{0};
};

namespace {

// How long a nested fork waits for the running V8 tasks of its pool to end
// (as ParkedWorkers waits for Node's workers).
constexpr auto kHoldTimeout = std::chrono::seconds(30);

// The pool V8's worker tasks go to in this process; null where V8's own
// workers run them (the first process, or a child whose check failed).
std::atomic<WorkerPool*> g_pool{nullptr};

WorkerPool* Pool() { return g_pool.load(std::memory_order_acquire); }

// ---- the replaced vtable slots ---------------------------------------------
// Each has the signature of the virtual it replaces, with `this` (the
// platform) as first parameter, as the Itanium C++ ABI passes it.

// Node's DrainTasks waits for Node's worker queue, whose parked tasks never
// finish in a child: a Worker started in a child hung as it ended.
void HookDrainTasks(node::MultiIsolatePlatform* platform, v8::Isolate* isolate) {
  DrainChildWorkers(platform, isolate);
}

#if V8_MAJOR_VERSION >= 12
void HookPostTask(v8::Platform*, v8::TaskPriority priority, std::unique_ptr<v8::Task> task,
                  const v8::SourceLocation&) {
  Pool()->Post(priority, std::move(task));
}
void HookPostDelayedTask(v8::Platform*, v8::TaskPriority priority, std::unique_ptr<v8::Task> task,
                         double delay_in_seconds, const v8::SourceLocation&) {
  Pool()->PostDelayed(priority, std::move(task), delay_in_seconds);
}
#else
void HookCallOnWorkerThread(v8::Platform*, std::unique_ptr<v8::Task> task) {
  Pool()->Post(v8::TaskPriority::kUserVisible, std::move(task));
}
void HookCallBlockingTaskOnWorkerThread(v8::Platform*, std::unique_ptr<v8::Task> task) {
  Pool()->Post(v8::TaskPriority::kUserBlocking, std::move(task));
}
void HookCallLowPriorityTaskOnWorkerThread(v8::Platform*, std::unique_ptr<v8::Task> task) {
  Pool()->Post(v8::TaskPriority::kBestEffort, std::move(task));
}
void HookCallDelayedOnWorkerThread(v8::Platform*, std::unique_ptr<v8::Task> task,
                                   double delay_in_seconds) {
  Pool()->PostDelayed(v8::TaskPriority::kUserVisible, std::move(task), delay_in_seconds);
}
#endif

// Names the posting virtuals through a class derived from the public header
// class (they are protected in V8 12+).
struct PlatformSlots : node::MultiIsolatePlatform {
  struct Hook {
    const char* method;
    size_t slot;
    void* replacement;
  };

  // Itanium C++ ABI 2.3: a pointer to a virtual member function holds its
  // vtable offset in bytes plus one (x86-64), or the offset with the virtual
  // flag in the adjustment's low bit (ARM, AArch64).
  template <typename MemberFn>
  static bool VirtualSlot(MemberFn fn, size_t* slot) {
    static_assert(sizeof(MemberFn) == 2 * sizeof(uintptr_t), "Itanium member pointer");
    uintptr_t rep[2];
    memcpy(rep, &fn, sizeof rep);
#if defined(__arm__) || defined(__aarch64__)
    if ((rep[1] & 1) == 0 || (rep[1] >> 1) != 0) return false;
    *slot = rep[0] / sizeof(void*);
#else
    if ((rep[0] & 1) == 0 || rep[1] != 0) return false;
    *slot = (rep[0] - 1) / sizeof(void*);
#endif
    return true;
  }

  template <typename MemberFn, typename Replacement>
  static std::string Add(std::vector<Hook>* hooks, const char* method, MemberFn fn,
                         Replacement* replacement) {
    Hook hook{method, 0, reinterpret_cast<void*>(replacement)};
    if (!VirtualSlot(fn, &hook.slot)) {
      return std::string("v8::Platform::") + method + " is not a virtual of the primary vtable";
    }
    hooks->push_back(hook);
    return "";
  }

  static std::string Hooks(std::vector<Hook>* hooks) {
    std::string why = Add(hooks, "DrainTasks", &PlatformSlots::DrainTasks, &HookDrainTasks);
#if V8_MAJOR_VERSION >= 12
    why += Add(hooks, "PostTaskOnWorkerThreadImpl", &PlatformSlots::PostTaskOnWorkerThreadImpl,
               &HookPostTask);
    why += Add(hooks, "PostDelayedTaskOnWorkerThreadImpl",
               &PlatformSlots::PostDelayedTaskOnWorkerThreadImpl, &HookPostDelayedTask);
#else
    why += Add(hooks, "CallOnWorkerThread", &PlatformSlots::CallOnWorkerThread,
               &HookCallOnWorkerThread);
    why += Add(hooks, "CallBlockingTaskOnWorkerThread",
               &PlatformSlots::CallBlockingTaskOnWorkerThread, &HookCallBlockingTaskOnWorkerThread);
    why += Add(hooks, "CallLowPriorityTaskOnWorkerThread",
               &PlatformSlots::CallLowPriorityTaskOnWorkerThread,
               &HookCallLowPriorityTaskOnWorkerThread);
    why += Add(hooks, "CallDelayedOnWorkerThread", &PlatformSlots::CallDelayedOnWorkerThread,
               &HookCallDelayedOnWorkerThread);
#endif
    return why;
  }
};

constexpr char kNodePlatformVtable[] = "_ZTVN4node12NodePlatformE";

// The verified layout: the vtable symbol and the slots to replace.
struct Layout {
  void** vtable_start = nullptr;  // the symbol (offset-to-top first)
  size_t words = 0;               // its size in pointers
  std::vector<PlatformSlots::Hook> hooks;
};
Layout g_layout;

// True when `mangled` names `method` of node::NodePlatform or v8::Platform.
bool NamesMethod(const char* mangled, const char* method) {
  for (const char* cls : {"_ZN4node12NodePlatform", "_ZN2v88Platform"}) {
    std::string prefix = std::string(cls) + std::to_string(strlen(method)) + method + "E";
    if (strncmp(mangled, prefix.c_str(), prefix.size()) == 0) return true;
  }
  return false;
}

std::string CheckLayout(node::MultiIsolatePlatform* platform, Layout* layout) {
#if defined(__GLIBC__)
  void** vptr;
  memcpy(&vptr, static_cast<void*>(platform), sizeof vptr);
  Dl_info info;
  void* extra = nullptr;  // RTLD_DL_SYMENT: the symbol's ELF entry
  if (dladdr1(vptr, &info, &extra, RTLD_DL_SYMENT) == 0 || info.dli_sname == nullptr ||
      extra == nullptr) {
    return "the platform's vtable is not an exported symbol of the node binary";
  }
  const auto* sym = static_cast<const ElfW(Sym)*>(extra);
  if (strcmp(info.dli_sname, kNodePlatformVtable) != 0) {
    return std::string("the platform is not a node::NodePlatform (its vtable is ") +
           info.dli_sname + ")";
  }
  auto* start = static_cast<void**>(info.dli_saddr);
  if (vptr != start + 2 || sym->st_size % sizeof(void*) != 0 || sym->st_size <= 2 * sizeof(void*)) {
    return std::string(kNodePlatformVtable) + " has an unexpected shape";
  }
  layout->vtable_start = start;
  layout->words = sym->st_size / sizeof(void*);
  std::string why = PlatformSlots::Hooks(&layout->hooks);
  if (!why.empty()) return why;
  for (const PlatformSlots::Hook& hook : layout->hooks) {
    if (hook.slot >= layout->words - 2) {
      return std::string("slot ") + std::to_string(hook.slot) + " of " + hook.method +
             " is beyond NodePlatform's vtable";
    }
    Dl_info fn;
    if (dladdr(vptr[hook.slot], &fn) == 0 || fn.dli_sname == nullptr ||
        fn.dli_saddr != vptr[hook.slot] || !NamesMethod(fn.dli_sname, hook.method)) {
      return std::string("vtable slot ") + std::to_string(hook.slot) + " holds " +
             (fn.dli_sname != nullptr ? fn.dli_sname : "an unnamed function") + ", not " +
             hook.method;
    }
  }
  return "";
#else
  return "the vtable check needs glibc's dladdr1";
#endif
}

// Gives the platform object a copy of its vtable whose posting slots point
// here. The child is single-threaded, so nobody reads the pointer meanwhile.
void InstallHooks(node::MultiIsolatePlatform* platform) {
  void** copy = new void*[g_layout.words];  // lives as long as the process
  memcpy(copy, g_layout.vtable_start, g_layout.words * sizeof(void*));
  for (const PlatformSlots::Hook& hook : g_layout.hooks) copy[2 + hook.slot] = hook.replacement;
  void** vptr = copy + 2;
  memcpy(static_cast<void*>(platform), &vptr, sizeof vptr);
}

bool g_checked = false;
ChildWorkersSupport g_support;
bool g_hooked = false;  // this process's platform already posts to Pool()

// As many threads as the parent's platform has workers. NumberOfWorkerThreads()
// counts Node's delayed-task scheduler thread too (see ParkedWorkers).
int PoolSize(node::MultiIsolatePlatform* platform) {
  return std::max(1, platform->NumberOfWorkerThreads() - 1);
}

// FORKFUL_TEST_ADOPT_DELAY_MS (tests only): the new pool's threads have
// started on the adopted tasks and this thread stops for that long, as a
// preempted one would on a loaded machine. A test widens the window a
// flaky nested fork once needed that way.
void PauseAfterAdoptForTests() {
  const char* ms = getenv("FORKFUL_TEST_ADOPT_DELAY_MS");
  if (ms != nullptr) std::this_thread::sleep_for(std::chrono::milliseconds(atoi(ms)));
}

}  // namespace

const ChildWorkersSupport& CheckChildWorkers(node::MultiIsolatePlatform* platform) {
  if (!g_checked) {
    g_checked = true;
    const char* setting = getenv("FORKFUL_CHILD_WORKERS");
    if (setting != nullptr && strcmp(setting, "0") == 0) {
      g_support.turned_off = true;
      g_support.why = "turned off by FORKFUL_CHILD_WORKERS=0";
    } else {
      g_support.why = CheckLayout(platform, &g_layout);
    }
    g_support.available = g_support.why.empty();
  }
  return g_support;
}

ChildPoolHold::ChildPoolHold(Napi::Env env) {
  WorkerPool* pool = Pool();
  if (pool == nullptr) return;
  int running = 0;
  if (!pool->Hold(kHoldTimeout, &running)) {
    ThrowTyped(env, "ForkError",
               "V8's background threads in this process did not become idle within 30 s (" +
                   std::to_string(running) +
                   " task(s) still running); fork() was not attempted. A long GC or "
                   "compilation job is running: try again.");
  }
  pool_ = pool;
}

ChildPoolHold::~ChildPoolHold() {
  if (pool_ != nullptr) pool_->Release();
}

WorkerPool* ChildPoolHold::TakeInChild() {
  WorkerPool* pool = pool_;
  pool_ = nullptr;
  return pool;
}

void StartChildWorkers(node::MultiIsolatePlatform* platform, WorkerPool* held) {
  auto* pool = new WorkerPool(PoolSize(platform));  // lives as long as the process
  // Published before adopting: Adopt starts a thread on the adopted tasks at
  // once, and one that posts another (a WebAssembly compile's DecodeModule
  // posts its validation job) must reach this pool. It reached the held one,
  // whose lock stays taken here for good, and the grandchild hung (3 of 51
  // nested forks on a loaded 2-core machine, Node 22).
  g_pool.store(pool, std::memory_order_release);
  if (!g_hooked) {
    InstallHooks(platform);
    g_hooked = true;
  }
  if (held != nullptr) {
    pool->Adopt(held);
    PauseAfterAdoptForTests();
  }
}

bool DrainChildWorkers(node::MultiIsolatePlatform* platform, v8::Isolate* isolate) {
  bool did_work = false;
  // The pool is looked up each time: a foreground task runs JS, which may
  // fork, and the new child must drain its own pool, not the held one.
  for (WorkerPool* pool = Pool(); pool != nullptr; pool = Pool()) {
    pool->Drain();
    if (!platform->FlushForegroundTasks(isolate)) break;
    did_work = true;
  }
  return did_work;
}

namespace {

// childWorkers(): how V8's background work runs in this process.
Napi::Value ChildWorkers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  WorkerPool* pool = Pool();
  out.Set("ownPool", pool != nullptr);
  out.Set("threads", pool != nullptr ? pool->threads() : 0);
  out.Set("maxThreads", pool != nullptr ? pool->max_threads() : 0);
  out.Set("tasksRun", pool != nullptr ? pool->tasks_run() : 0);
  out.Set("adoptedTasks", pool != nullptr ? pool->adopted() : 0);
  if (g_checked && !g_support.available) out.Set("unavailable", g_support.why);
  return out;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("childWorkers", Napi::Function::New(env, ChildWorkers));
}

const Registration reg{"child_workers", Init};

}  // namespace
}  // namespace forkful
