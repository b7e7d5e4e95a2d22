// Blocking halves of Lock, Semaphore, Condition and Event. The uncontended
// paths run in JS (Atomics on a SharedArrayBuffer over the arena); these
// run only when a caller must sleep or wake sleepers. Each blocking call has
// an async twin that settles a Promise without blocking the event loop: on
// the process's shared waiter threads (futex_waiter.cc) where futex_waitv
// exists, else on a thread of its own that runs the blocking call.
#if defined(__linux__)

#include "sync.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <functional>
#include <mutex>
#include <new>
#include <set>
#include <string>
#include <system_error>
#include <thread>

#include "addon.h"
#include "arena.h"
#include "fd.h"
#include "futex_waiter.h"

namespace forkful {
namespace sync {

Deadline Deadline::After(double seconds) {
  Deadline d;
  if (seconds < 0) return d;
  d.forever = false;
  clock_gettime(CLOCK_MONOTONIC, &d.at);
  if (seconds > 1e9) seconds = 1e9;  // ~31 years: effectively forever, no overflow
  auto whole = static_cast<time_t>(seconds);
  d.at.tv_sec += whole;
  d.at.tv_nsec += static_cast<long>((seconds - static_cast<double>(whole)) * 1e9);
  if (d.at.tv_nsec >= 1000000000L) {
    d.at.tv_sec += 1;
    d.at.tv_nsec -= 1000000000L;
  }
  return d;
}

bool Deadline::Passed() const {
  if (forever) return false;
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec > at.tv_sec || (now.tv_sec == at.tv_sec && now.tv_nsec >= at.tv_nsec);
}

namespace {

bool Before(const timespec& a, const timespec& b) {
  return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

// How long a waiter sleeps before it checks that a lock's owner still lives.
constexpr double kOwnerCheckSeconds = 0.05;

}  // namespace

// Returns 1 when woken (or the word changed), 0 when `deadline` passed, 2
// when only `slice` passed.
int FutexWaitFor(std::atomic<int32_t>* word, int32_t expected, const Deadline& deadline,
                 const Deadline* slice) {
  FlushQueuedFrames();  // the message that would wake us may be among them
  for (;;) {
    const timespec* until = nullptr;
    bool slice_first = false;
    if (!deadline.forever) until = &deadline.at;
    if (slice != nullptr && !slice->forever && (until == nullptr || Before(slice->at, *until))) {
      until = &slice->at;
      slice_first = true;
    }
    // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time; shared (no
    // FUTEX_PRIVATE_FLAG) so that waiters in other processes are found.
    long r = syscall(SYS_futex, reinterpret_cast<int32_t*>(word), FUTEX_WAIT_BITSET, expected,
                     until, nullptr, FUTEX_BITSET_MATCH_ANY);
    if (r == 0) return 1;
    if (errno == EAGAIN) return 1;
    if (errno == ETIMEDOUT) return slice_first ? 2 : 0;
    if (errno == EINTR) {
      if (word->load() != expected) return 1;
      continue;
    }
    return 1;  // EFAULT/EINVAL cannot happen on a valid arena word; let the caller re-check
  }
}

bool FutexWait(std::atomic<int32_t>* word, int32_t expected, const Deadline& deadline,
               const Deadline* slice) {
  return FutexWaitFor(word, expected, deadline, slice) != 0;
}

void FutexWake(std::atomic<int32_t>* word, int count) {
  syscall(SYS_futex, reinterpret_cast<int32_t*>(word), FUTEX_WAKE, count, nullptr, nullptr, 0);
}

int32_t CurrentTid() { return static_cast<int32_t>(syscall(SYS_gettid)); }

bool TidAlive(int32_t tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", tid);
  std::string text;
  if (!ReadWholeFile(path, &text)) return !(errno == ENOENT || errno == ESRCH);
  // State is the first field after the command name in parentheses.
  size_t close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return true;
  char state = text[close + 2];
  return state != 'Z' && state != 'X' && state != 'x';
}

int LockAcquire(std::atomic<int32_t>* word, int32_t owner, const Deadline& deadline) {
  // A short spin first: most contended holds are a few hundred ns.
  for (int spin = 0; spin < 64; spin++) {
    int32_t w = word->load(std::memory_order_relaxed);
    if (w == 0 && word->compare_exchange_weak(w, owner)) return kAcquired;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  bool check_owner = false;
  for (;;) {
    int32_t w = word->load();
    if (w == 0) {
      // Taken with kWaiters set: others may still sleep (Drepper's mutex2).
      if (word->compare_exchange_strong(w, owner | kWaiters)) return kAcquired;
      continue;
    }
    int32_t holder = w & kTidMask;
    if (holder == 0 || (check_owner && holder != owner && !TidAlive(holder))) {
      if (word->compare_exchange_strong(w, owner | kWaiters)) {
        return holder == 0 ? kAcquired : kRecovered;
      }
      continue;
    }
    check_owner = false;
    if ((w & kWaiters) == 0) {
      if (!word->compare_exchange_strong(w, w | kWaiters)) continue;
      w |= kWaiters;
    }
    Deadline slice = Deadline::After(kOwnerCheckSeconds);
    int r = FutexWaitFor(word, w, deadline, &slice);
    if (r == 0) {
      int32_t now = word->load();
      if (now == 0 && word->compare_exchange_strong(now, owner | kWaiters)) return kAcquired;
      return kTimedOut;
    }
    // The owner held the word for a whole slice: make sure it still lives.
    if (r == 2 && word->load() == w) check_owner = true;
  }
}

// Never waits: takes the word when it is free, or when its holder (another
// thread, in any process) has died; kTimedOut while a live thread, this
// one included, holds it. What LockAcquire does after a slice, at once: for
// callers that must not block (the event loop) yet must not wait forever
// behind a dead holder, as acquire(false) does.
int LockTryAcquireOrRecover(std::atomic<int32_t>* word, int32_t owner) {
  for (;;) {
    int32_t w = word->load();
    if (w == 0) {
      if (word->compare_exchange_strong(w, owner)) return kAcquired;
      continue;
    }
    int32_t holder = w & kTidMask;
    if (holder != 0 && (holder == owner || TidAlive(holder))) return kTimedOut;
    // Sleepers may remain: the word keeps kWaiters so release wakes one.
    if (word->compare_exchange_strong(w, owner | kWaiters)) {
      return holder == 0 ? kAcquired : kRecovered;
    }
  }
}

void LockRelease(std::atomic<int32_t>* word) {
  if (word->exchange(0) & kWaiters) FutexWake(word, 1);
}

int SemAcquire(std::atomic<int32_t>* value, const Deadline& deadline) {
  std::atomic<int32_t>* sleepers = value + 1;
  for (;;) {
    int32_t v = value->load();
    while (v > 0) {
      if (value->compare_exchange_weak(v, v - 1)) return kAcquired;
    }
    sleepers->fetch_add(1);
    v = value->load();
    int r = v > 0 ? 1 : FutexWaitFor(value, v, deadline, nullptr);
    sleepers->fetch_sub(1);
    if (r == 0) {
      v = value->load();
      while (v > 0) {
        if (value->compare_exchange_weak(v, v - 1)) return kAcquired;
      }
      return kTimedOut;
    }
  }
}

namespace {

// ---- JS bindings -------------------------------------------------------------

std::atomic<int32_t>* WordArg(const Napi::CallbackInfo& info, size_t i) {
  Napi::Env env = info.Env();
  char* base = arena::Base();
  if (base == nullptr) ThrowTyped(env, "RuntimeError", "forkful's shared arena is not set up");
  double off = ArgNumber(info, i, "offset");
  if (!(off >= arena::kHeaderBytes) || off + 4 > static_cast<double>(arena::Size()) ||
      static_cast<uint64_t>(off) % 4 != 0 ||
      off != static_cast<double>(static_cast<uint64_t>(off))) {
    throw Napi::RangeError::New(env, "offset outside the shared arena");
  }
  return reinterpret_cast<std::atomic<int32_t>*>(base + static_cast<uint64_t>(off));
}

// Seconds; negative (or absent) = no deadline. JS validated the value.
Deadline DeadlineArg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined()) return Deadline{};
  double seconds = ArgNumber(info, i, "timeout");
  if (seconds != seconds) throw Napi::RangeError::New(info.Env(), "timeout is NaN");
  return Deadline::After(seconds);
}

// The async waits' optional last argument: a ticket naming the wait to
// syncCancelWait (0: none).
uint32_t TicketArg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined()) return 0;
  return static_cast<uint32_t>(ArgInt32(info, i, "ticket"));
}

// One pending async wait: a thread blocks, then settles the Promise on the
// JS thread through the thread-safe function.
struct AsyncWait {
  Napi::Promise::Deferred deferred;
  Napi::ThreadSafeFunction tsfn;
  napi_env env;
  uint32_t ticket;
  std::function<void(int)> undo;  // gives back what `result` took
  int result = 0;
  bool env_gone = false;   // under g_pending_mu
  bool finished = false;   // under g_pending_mu: `result` is final
  bool cancelled = false;  // under g_pending_mu
};

std::mutex g_pending_mu;
std::set<AsyncWait*>& Pending() {
  static auto* pending = new std::set<AsyncWait*>();
  return *pending;
}
// The environments whose end is watched (one cleanup hook each).
std::set<napi_env>& WatchedEnvs() {
  static auto* envs = new std::set<napi_env>();
  return *envs;
}

// An environment ends (a Worker exits) while its waits' threads still
// wait: Node frees their thread-safe functions with it, so the threads must
// never call them again. They end their wait and settle nothing.
void OnWaitEnvCleanup(void* arg) {
  auto env = static_cast<napi_env>(arg);
  std::lock_guard<std::mutex> lock(g_pending_mu);
  WatchedEnvs().erase(env);
  for (auto it = Pending().begin(); it != Pending().end();) {
    if ((*it)->env == env) {
      (*it)->env_gone = true;
      it = Pending().erase(it);
    } else {
      ++it;
    }
  }
}

// `undo(result)` gives back what a wait took when its environment ended
// before the result could reach it, or when it was cancelled (CancelWait).
template <typename Op>
Napi::Value RunOnThread(Napi::Env env, uint32_t ticket, Op op, std::function<void(int)> undo) {
  auto deferred = Napi::Promise::Deferred::New(env);
  auto* job = new AsyncWait{deferred, Napi::ThreadSafeFunction(), env, ticket, std::move(undo)};
  job->tsfn = Napi::ThreadSafeFunction::New(
      env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "forkful.sync.wait", 0, 1);
  {
    std::lock_guard<std::mutex> lock(g_pending_mu);
    Pending().insert(job);
    if (WatchedEnvs().insert(env).second) napi_add_env_cleanup_hook(env, OnWaitEnvCleanup, env);
  }
  try {
    std::thread([job, op]() mutable {
      int result = op();
      // Under the lock: the environment cannot end meanwhile (its cleanup
      // hook takes the lock), and the call never blocks (unbounded queue).
      std::unique_lock<std::mutex> lock(g_pending_mu);
      job->result = result;
      job->finished = true;
      if (job->env_gone) {
        lock.unlock();
        job->undo(job->result);
        delete job;
        return;
      }
      if (job->cancelled) {
        // Cancelled while it waited: what it took goes back at once, not on
        // the event loop (a blocking acquire there would wait for it).
        job->undo(job->result);
        job->result = kTimedOut;
      }
      Napi::ThreadSafeFunction tsfn = job->tsfn;
      napi_status status = tsfn.BlockingCall(job, [](Napi::Env env, Napi::Function, AsyncWait* j) {
        {
          std::lock_guard<std::mutex> lock(g_pending_mu);
          Pending().erase(j);
        }
        j->deferred.Resolve(Napi::Number::New(env, j->result));
        delete j;
      });
      if (status != napi_ok) {
        // The environment is ending: nothing to settle.
        Pending().erase(job);
        delete job;
      }
      tsfn.Release();
    }).detach();
  } catch (const std::system_error& e) {
    {
      std::lock_guard<std::mutex> lock(g_pending_mu);
      Pending().erase(job);
    }
    job->tsfn.Release();
    delete job;
    ThrowErrno(env, "pthread_create", e.code().value());
  }
  return deferred.Promise();
}

// lockAcquire(offset, timeout, ownerTid) -> 0 timed out, 1 acquired, 2 recovered
Napi::Value LockAcquireSync(const Napi::CallbackInfo& info) {
  auto* word = WordArg(info, 0);
  Deadline deadline = DeadlineArg(info, 1);
  int32_t owner = ArgInt32(info, 2, "owner");
  return Napi::Number::New(info.Env(), LockAcquire(word, owner, deadline));
}

// lockTryAcquireOrRecover(offset, ownerTid) -> 0 held by a live thread, 1 acquired, 2 recovered
Napi::Value LockTryAcquireOrRecoverSync(const Napi::CallbackInfo& info) {
  auto* word = WordArg(info, 0);
  int32_t owner = ArgInt32(info, 1, "owner");
  return Napi::Number::New(info.Env(), LockTryAcquireOrRecover(word, owner));
}

Napi::Value LockAcquireAsync(const Napi::CallbackInfo& info) {
  auto* word = WordArg(info, 0);
  Deadline deadline = DeadlineArg(info, 1);
  int32_t owner = ArgInt32(info, 2, "owner");
  uint32_t ticket = TicketArg(info, 3);
  if (SharedWaitersAvailable()) {
    return StartSharedWait(info.Env(), WaitKind::kLock, word, owner, deadline, ticket);
  }
  return RunOnThread(
      info.Env(), ticket, [=] { return LockAcquire(word, owner, deadline); },
      [=](int r) {
        if (r != kTimedOut) LockRelease(word);
      });
}

Napi::Value SemAcquireSync(const Napi::CallbackInfo& info) {
  auto* value = WordArg(info, 0);
  Deadline deadline = DeadlineArg(info, 1);
  return Napi::Number::New(info.Env(), SemAcquire(value, deadline));
}

Napi::Value SemAcquireAsync(const Napi::CallbackInfo& info) {
  auto* value = WordArg(info, 0);
  Deadline deadline = DeadlineArg(info, 1);
  uint32_t ticket = TicketArg(info, 2);
  if (SharedWaitersAvailable()) {
    return StartSharedWait(info.Env(), WaitKind::kSem, value, 0, deadline, ticket);
  }
  return RunOnThread(
      info.Env(), ticket, [=] { return SemAcquire(value, deadline); },
      [=](int r) {
        if (r == kTimedOut) return;
        value->fetch_add(1);
        if (value[1].load() > 0) FutexWake(value, 1);
      });
}

// futexWait(offset, expected, timeout) -> 1 woken or changed, 0 timed out
Napi::Value FutexWaitSync(const Napi::CallbackInfo& info) {
  auto* word = WordArg(info, 0);
  int32_t expected = ArgInt32(info, 1, "expected");
  Deadline deadline = DeadlineArg(info, 2);
  return Napi::Number::New(info.Env(), FutexWaitFor(word, expected, deadline, nullptr));
}

Napi::Value FutexWaitAsync(const Napi::CallbackInfo& info) {
  auto* word = WordArg(info, 0);
  int32_t expected = ArgInt32(info, 1, "expected");
  Deadline deadline = DeadlineArg(info, 2);
  uint32_t ticket = TicketArg(info, 3);
  if (SharedWaitersAvailable()) {
    return StartSharedWait(info.Env(), WaitKind::kFutex, word, expected, deadline, ticket);
  }
  return RunOnThread(
      info.Env(), ticket, [=] { return FutexWaitFor(word, expected, deadline, nullptr); },
      [](int) {});
}

// cancelWait(ticket) -> true when the wait was found: it holds nothing now
// and its Promise settles with 0 (see CancelSharedWait). False when its
// Promise already settled.
Napi::Value CancelWait(const Napi::CallbackInfo& info) {
  uint32_t ticket = TicketArg(info, 0);
  if (SharedWaitersAvailable()) return Napi::Boolean::New(info.Env(), CancelSharedWait(ticket));
  std::lock_guard<std::mutex> lock(g_pending_mu);
  for (AsyncWait* job : Pending()) {
    if (ticket == 0 || job->ticket != ticket || job->env != static_cast<napi_env>(info.Env())) {
      continue;
    }
    if (job->finished && !job->cancelled) {
      // Its result waits for the event loop: give back what it took now.
      job->undo(job->result);
      job->result = kTimedOut;
    }
    job->cancelled = true;
    return Napi::Boolean::New(info.Env(), true);
  }
  return Napi::Boolean::New(info.Env(), false);
}

// futexWake(offset, count): count < 0 wakes every sleeper.
Napi::Value FutexWakeJs(const Napi::CallbackInfo& info) {
  auto* word = WordArg(info, 0);
  int32_t count = info.Length() > 1 ? ArgInt32(info, 1, "count") : 1;
  FutexWake(word, count < 0 ? INT_MAX : count);
  return info.Env().Undefined();
}

// asyncWaits() -> { mode: 'futex_waitv' | 'threads', waiterThreads,
// pendingWaits, slots }: how async waits are served (diagnostics, tests).
Napi::Value AsyncWaitsInfo(const Napi::CallbackInfo& info) { return SharedWaitersInfo(info.Env()); }

// In a forked child: the waiting threads of pending async waits were not
// copied, so their Promises never settle; stop them keeping the loop alive.
// (Waits on the shared waiter threads were dropped by fork() itself.)
Napi::Value SyncForkChild(const Napi::CallbackInfo& info) {
  new (&g_pending_mu) std::mutex();
  // Only this environment exists here (its cleanup hook stays registered).
  bool watched = WatchedEnvs().count(info.Env()) != 0;
  WatchedEnvs().clear();
  if (watched) WatchedEnvs().insert(info.Env());
  for (AsyncWait* job : Pending()) {
    if (job->env == static_cast<napi_env>(info.Env())) job->tsfn.Unref(info.Env());
  }
  Pending().clear();
  return info.Env().Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  SharedWaitersAvailable();  // chosen once, at load
  exports.Set("syncLockAcquire", Napi::Function::New(env, LockAcquireSync));
  exports.Set("syncLockAcquireAsync", Napi::Function::New(env, LockAcquireAsync));
  exports.Set("syncLockTryAcquireOrRecover", Napi::Function::New(env, LockTryAcquireOrRecoverSync));
  exports.Set("syncSemAcquire", Napi::Function::New(env, SemAcquireSync));
  exports.Set("syncSemAcquireAsync", Napi::Function::New(env, SemAcquireAsync));
  exports.Set("syncFutexWait", Napi::Function::New(env, FutexWaitSync));
  exports.Set("syncFutexWaitAsync", Napi::Function::New(env, FutexWaitAsync));
  exports.Set("syncFutexWake", Napi::Function::New(env, FutexWakeJs));
  exports.Set("syncForkChild", Napi::Function::New(env, SyncForkChild));
  exports.Set("syncAsyncWaits", Napi::Function::New(env, AsyncWaitsInfo));
  exports.Set("syncCancelWait", Napi::Function::New(env, CancelWait));
}

const Registration reg{"sync", Init};

}  // namespace
}  // namespace sync
}  // namespace forkful

#endif  // __linux__
