// Shared waiter threads for async waits (see futex_waiter.h).
//
// Every pending wait belongs to a Slot: one per (word, kind), holding its
// waits in arrival order. A waiter thread owns up to 127 slots and sleeps in
// futex_waitv on their words plus its own wake word; a new slot, or a wait
// due sooner than the thread's timeout, bumps the wake word. After each
// return the thread re-evaluates every slot from the words' values, as the
// blocking twins in sync.cc do:
//   * Lock: a free word is taken (owner | kWaiters) for the oldest wait; a
//     holder that kept it for kOwnerCheck is checked and, if dead, the lock
//     is recovered (kRecovered); otherwise kWaiters is set and the thread
//     sleeps on the value.
//   * Semaphore: each pending wait counts as a sleeper (word + 1) until it
//     ends; units are taken for the oldest waits while the value is > 0.
//   * Futex (Condition, Event, Barrier): a wait ends with 1 once its word
//     differs from its expected value (or the thread was woken on that
//     word), with 0 at its deadline. A waiter thread leaves the kernel's
//     queues at every return, so after one it cannot tell whether a changed
//     word's wake-up went to it or to another sleeper: it counts the change
//     as a wake (never loses one). So that a notify(n) still ends n waits,
//     the futex waits on one word get slots of their own on different
//     threads (up to kExactFutexSlots): a wake-up then returns only the
//     thread it picked. Spurious ends remain possible where a thread returns
//     for another reason after a word changed without waking it (a notify
//     that went to another sleeper), and among waits sharing a slot.
// Waits end on the waiter thread, which queues the result for the waiting
// environment and signals its thread-safe function once; the environment's
// thread then settles the Promises. An environment that ends (a Worker)
// withdraws its waits first.
#if defined(__linux__)

#include "futex_waiter.h"

#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "addon.h"

namespace forkful {
namespace sync {
namespace {

constexpr long kSysFutexWaitv = 449;  // same number on every architecture
constexpr uint32_t kFutex2Size32 = 0x02;
constexpr uint32_t kFutex2Private = 128;           // FUTEX_PRIVATE_FLAG
constexpr size_t kWaitvMax = 128;                  // FUTEX_WAITV_MAX
constexpr size_t kSlotsPerWaiter = kWaitvMax - 1;  // entry 0 is the wake word

// Futex waits on one word get slots of their own, each on another waiter
// thread, up to this many: each thread then stays in the kernel's queue
// for that word until a wake-up picks it, as a thread per wait would, and a
// notify(n) ends n of them. Beyond, waits share those slots (and a wake-up
// of a shared slot ends all its waits).
constexpr size_t kExactFutexSlots = 16;

// Futex waiter threads a process starts before it lets a new slot interrupt
// a thread that holds a changed word (which would end that word's waits).
constexpr size_t kMaxFutexWaiters = 32;

// How long a lock's holder may keep it before a waiter checks it still
// lives (as LockAcquire's slice).
constexpr long kOwnerCheckNs = 50 * 1000 * 1000L;

// struct futex_waitv (linux/futex.h since 5.16), spelled out for older headers.
struct WaitvEntry {
  uint64_t val;
  uint64_t uaddr;
  uint32_t flags;
  uint32_t reserved;
};

long FutexWaitv(WaitvEntry* entries, size_t n, const timespec* until) {
  return syscall(kSysFutexWaitv, entries, static_cast<unsigned>(n), 0u, until, CLOCK_MONOTONIC);
}

timespec Now() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now;
}

bool Before(const timespec& a, const timespec& b) {
  return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

timespec PlusNs(timespec t, long ns) {
  t.tv_nsec += ns;
  while (t.tv_nsec >= 1000000000L) {
    t.tv_sec += 1;
    t.tv_nsec -= 1000000000L;
  }
  return t;
}

struct EnvWaits;
struct Waiter;

struct Wait {
  WaitKind kind;
  int32_t value;  // kLock: owner tid; kFutex: expected
  Deadline deadline;
  EnvWaits* env;
  napi_deferred deferred;
  uint32_t ticket;  // names the wait to CancelSharedWait; 0: none
};

using SlotKey = std::pair<std::atomic<int32_t>*, WaitKind>;

struct Slot {
  SlotKey key;
  uint64_t serial;          // tells a slot from a later one at the same address
  std::deque<Wait*> waits;  // oldest first
  Waiter* waiter = nullptr;
  // kLock: the holder seen and since when (the owner check).
  int32_t holder = 0;
  timespec holder_since{};
  // kLock, kSem: the word's value when Evaluate decided to sleep. The thread
  // sleeps on that value, not a fresh read: a release between the two would
  // otherwise wake nobody (its FUTEX_WAKE came before the thread slept, and
  // the word then holds the value slept on).
  int32_t seen = 0;
  // No wait's deadline is before `earliest` (exact after each expiry scan),
  // so that thousands of waits on one word are not all scanned per wake-up.
  bool timed = false;
  timespec earliest{};
  void Add(Wait* w) {
    waits.push_back(w);
    if (!w->deadline.forever && (!timed || Before(w->deadline.at, earliest))) {
      earliest = w->deadline.at;
      timed = true;
    }
  }
  std::atomic<int32_t>* word() const { return key.first; }
};

struct Waiter {
  // Futex waits and lock/semaphore waits never share a thread: those
  // return every kOwnerCheckNs while a lock is held, and every return ends
  // the futex waits whose word changed (see the top).
  bool futex_lane = false;
  std::atomic<int32_t> wake{0};
  std::vector<Slot*> slots;
  // What the thread sleeps until (valid while `sleeping`).
  bool sleeping = false;
  bool until_forever = true;
  timespec until{};
};

// A wait's end, queued for its environment's thread.
struct Result {
  napi_deferred deferred;
  int value;
  WaitKind kind;
  std::atomic<int32_t>* word;
  uint32_t ticket;
};

// One per environment (main thread or Worker) that waited: where results go.
struct EnvWaits {
  napi_threadsafe_function tsfn = nullptr;
  std::vector<Result> done;  // under Mu()
  bool signalled = false;    // under Mu()
  bool closed = false;       // under Mu()
  int pending = 0;           // the environment's thread only
  bool reffed = false;
};

// Heap objects, never destroyed: waiter threads may run while the process
// exits. A forked child replaces the mutex (it was held across fork()).
std::mutex* g_mu = new std::mutex();
std::mutex& Mu() { return *g_mu; }
// One slot per lock or semaphore word; up to kExactFutexSlots per futex word.
std::multimap<SlotKey, Slot*>& Slots() {
  static auto* slots = new std::multimap<SlotKey, Slot*>();
  return *slots;
}
uint64_t g_next_serial = 1;
std::vector<Waiter*>& Waiters() {
  static auto* waiters = new std::vector<Waiter*>();
  return *waiters;
}
size_t g_pending_waits = 0;  // under Mu()
thread_local EnvWaits* t_env = nullptr;

enum class Mode { kUnknown, kShared, kThreads };
Mode g_mode = Mode::kUnknown;

Mode DetectMode() {
  const char* forced = getenv("FORKFUL_FUTEX_WAITV");
  if (forced != nullptr && strcmp(forced, "0") == 0) return Mode::kThreads;
  // Zero entries is EINVAL where the call exists, ENOSYS (or EPERM from a
  // seccomp filter) where it does not.
  long r = syscall(kSysFutexWaitv, nullptr, 0u, 0u, nullptr, CLOCK_MONOTONIC);
  return r < 0 && errno == EINVAL ? Mode::kShared : Mode::kThreads;
}

void Interrupt(Waiter* w) {
  w->wake.fetch_add(1);
  syscall(SYS_futex, reinterpret_cast<int32_t*>(&w->wake), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr,
          0);
}

// ---- ending waits (Mu() held) ----------------------------------------------

void Deliver(EnvWaits* env, const Result& result) {
  if (env->closed) return;
  env->done.push_back(result);
  if (env->signalled) return;
  env->signalled = true;
  // Never blocks: the queue is unbounded. napi_closing: the environment is
  // ending and its cleanup hook will withdraw the rest.
  napi_call_threadsafe_function(env->tsfn, nullptr, napi_tsfn_nonblocking);
}

void Finish(Slot* s, std::deque<Wait*>::iterator it, int result,
            std::deque<Wait*>::iterator* next) {
  Wait* w = *it;
  if (w->kind == WaitKind::kSem) s->word()[1].fetch_sub(1);  // no longer a sleeper
  Deliver(w->env, Result{w->deferred, result, w->kind, s->word(), w->ticket});
  delete w;
  g_pending_waits--;
  *next = s->waits.erase(it);
}

void FinishFront(Slot* s, int result) {
  std::deque<Wait*>::iterator next;
  Finish(s, s->waits.begin(), result, &next);
}

// Ends the waits whose deadline passed (after the slot had its chance).
void ExpireWaits(Slot* s, const timespec& now, int result) {
  if (!s->timed || Before(now, s->earliest)) return;
  s->timed = false;
  for (auto it = s->waits.begin(); it != s->waits.end();) {
    const Deadline& d = (*it)->deadline;
    if (d.forever) {
      ++it;
    } else if (!Before(now, d.at)) {
      Finish(s, it, result, &it);
    } else {
      if (!s->timed || Before(d.at, s->earliest)) s->earliest = d.at;
      s->timed = true;
      ++it;
    }
  }
}

void EvaluateLock(Slot* s, const timespec& now) {
  std::atomic<int32_t>* word = s->word();
  while (!s->waits.empty()) {
    int32_t w = word->load();
    int32_t holder = w & kTidMask;
    if (holder == 0) {
      // Taken with kWaiters set: others may still sleep (as LockAcquire).
      if (word->compare_exchange_strong(w, s->waits.front()->value | kWaiters)) {
        FinishFront(s, kAcquired);
      }
      continue;
    }
    if (holder != s->holder) {
      s->holder = holder;
      s->holder_since = now;
    } else if (!Before(now, PlusNs(s->holder_since, kOwnerCheckNs))) {
      // The holder kept the word for a whole check period: does it live?
      if (!TidAlive(holder)) {
        if (word->compare_exchange_strong(w, s->waits.front()->value | kWaiters)) {
          s->holder = 0;
          FinishFront(s, kRecovered);
        }
        continue;
      }
      s->holder_since = now;
    }
    if ((w & kWaiters) == 0 && !word->compare_exchange_strong(w, w | kWaiters)) continue;
    s->seen = w | kWaiters;
    break;
  }
  ExpireWaits(s, now, kTimedOut);
}

void EvaluateSem(Slot* s, const timespec& now) {
  std::atomic<int32_t>* value = s->word();
  while (!s->waits.empty()) {
    int32_t v = value->load();
    if (v <= 0) {
      s->seen = v;
      break;
    }
    if (value->compare_exchange_strong(v, v - 1)) FinishFront(s, kAcquired);
  }
  ExpireWaits(s, now, kTimedOut);
}

void EvaluateFutex(Slot* s, const timespec& now, bool woken) {
  int32_t v = s->word()->load();
  for (auto it = s->waits.begin(); it != s->waits.end();) {
    if (woken || (*it)->value != v) {
      Finish(s, it, 1, &it);
    } else {
      ++it;
    }
  }
  ExpireWaits(s, now, 0);
}

void Evaluate(Slot* s, const timespec& now, bool woken) {
  switch (s->key.second) {
    case WaitKind::kLock:
      EvaluateLock(s, now);
      break;
    case WaitKind::kSem:
      EvaluateSem(s, now);
      break;
    case WaitKind::kFutex:
      EvaluateFutex(s, now, woken);
      break;
  }
}

// The value a slot sleeps on (after Evaluate left waits in it).
int32_t SleepValue(Slot* s) {
  if (s->key.second == WaitKind::kFutex) return s->waits.front()->value;
  return s->seen;
}

// The earliest moment the slot needs the thread: a deadline, or the owner
// check of a held lock. False when none.
bool SlotDue(Slot* s, timespec* at) {
  bool any = s->timed;
  if (any) *at = s->earliest;
  if (s->key.second == WaitKind::kLock && s->holder != 0) {
    timespec check = PlusNs(s->holder_since, kOwnerCheckNs);
    if (!any || Before(check, *at)) *at = check;
    any = true;
  }
  return any;
}

void RemoveSlot(Waiter* waiter, size_t index) {
  Slot* s = waiter->slots[index];
  waiter->slots[index] = waiter->slots.back();
  waiter->slots.pop_back();
  auto [first, last] = Slots().equal_range(s->key);
  for (auto it = first; it != last; ++it) {
    if (it->second == s) {
      Slots().erase(it);
      break;
    }
  }
  delete s;
}

// ---- the waiter thread -----------------------------------------------------

void* WaiterMain(void* arg) {
  pthread_setname_np(pthread_self(), "forkful-waiter");
  auto* self = static_cast<Waiter*>(arg);
  std::vector<WaitvEntry> entries;
  std::vector<uint64_t> armed;
  uint64_t woken = 0;
  std::unique_lock<std::mutex> lock(Mu());
  for (;;) {
    timespec now = Now();
    for (size_t i = 0; i < self->slots.size();) {
      Slot* s = self->slots[i];
      Evaluate(s, now, s->serial == woken);
      if (s->waits.empty()) {
        RemoveSlot(self, i);
      } else {
        i++;
      }
    }
    woken = 0;
    entries.clear();
    armed.clear();
    entries.push_back({static_cast<uint64_t>(static_cast<uint32_t>(self->wake.load())),
                       reinterpret_cast<uintptr_t>(&self->wake), kFutex2Size32 | kFutex2Private,
                       0});
    self->until_forever = true;
    for (Slot* s : self->slots) {
      entries.push_back({static_cast<uint64_t>(static_cast<uint32_t>(SleepValue(s))),
                         reinterpret_cast<uintptr_t>(s->word()), kFutex2Size32, 0});
      armed.push_back(s->serial);
      timespec at;
      if (SlotDue(s, &at) && (self->until_forever || Before(at, self->until))) {
        self->until = at;
        self->until_forever = false;
      }
    }
    self->sleeping = true;
    timespec until = self->until;
    const timespec* timeout = self->until_forever ? nullptr : &until;
    lock.unlock();
    long r = FutexWaitv(entries.data(), entries.size(), timeout);
    int err = errno;
    lock.lock();
    self->sleeping = false;
    if (r > 0 && static_cast<size_t>(r) <= armed.size()) woken = armed[r - 1];
    if (r < 0 && err != EAGAIN && err != ETIMEDOUT && err != EINTR) {
      // Not expected on valid arena words; do not spin on it.
      static bool reported = false;
      if (!reported) {
        reported = true;
        fprintf(stderr, "forkful: futex_waitv failed in the waiter thread: %s\n", strerror(err));
      }
      lock.unlock();
      usleep(1000);
      lock.lock();
    }
  }
  return nullptr;
}

bool HasSlotFor(Waiter* w, const SlotKey& key) {
  for (Slot* s : w->slots) {
    if (s->key == key) return true;
  }
  return false;
}

// True when one of the thread's futex words changed without waking it (a
// notify that went to another sleeper): its next return ends those waits.
bool HoldsChangedWord(Waiter* w) {
  for (Slot* s : w->slots) {
    if (s->key.second == WaitKind::kFutex && !s->waits.empty() &&
        s->word()->load() != s->waits.front()->value) {
      return true;
    }
  }
  return false;
}

// A waiter of the slot's lane with room for one more slot and none for
// `key` (for a futex slot, preferably one it will not end spurious waits
// of by interrupting it), started if needed (Mu() held). Returns nullptr
// with errno set when no thread can be started.
Waiter* WaiterWithRoom(const SlotKey& key) {
  bool futex = key.second == WaitKind::kFutex;
  Waiter* changed = nullptr;
  size_t lane = 0;
  for (Waiter* w : Waiters()) {
    if (w->futex_lane != futex) continue;
    lane++;
    if (w->slots.size() >= kSlotsPerWaiter || HasSlotFor(w, key)) continue;
    if (!futex || !HoldsChangedWord(w)) return w;
    if (changed == nullptr) changed = w;
  }
  if (changed != nullptr && lane >= kMaxFutexWaiters) return changed;
  auto* w = new Waiter();
  w->futex_lane = futex;
  // The thread takes none of the process's signals (Node's main thread
  // handles them).
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t thread;
  int err = pthread_create(&thread, &attr, WaiterMain, w);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (err != 0) {
    delete w;
    errno = err;
    return nullptr;
  }
  Waiters().push_back(w);
  return w;
}

// ---- delivery on the environment's thread ---------------------------------

void SemRelease(std::atomic<int32_t>* value) {
  value->fetch_add(1);
  if (value[1].load() > 0) FutexWake(value, 1);
}

// Gives back what an ended wait took (a lock, a semaphore unit) when its
// result will never be used; it then reads as a timeout.
void GiveBack(Result* r) {
  bool took = r->value == kAcquired || r->value == kRecovered;
  if (took && r->kind == WaitKind::kLock) LockRelease(r->word);
  if (took && r->kind == WaitKind::kSem) SemRelease(r->word);
  r->value = kTimedOut;
}

void Unref(napi_env env, EnvWaits* ew) {
  if (!ew->reffed) return;
  ew->reffed = false;
  napi_unref_threadsafe_function(env, ew->tsfn);
}

void OnDone(napi_env env, napi_value, void* context, void*) {
  if (env == nullptr) return;  // the function is being torn down
  auto* ew = static_cast<EnvWaits*>(context);
  std::vector<Result> done;
  {
    std::lock_guard<std::mutex> lock(Mu());
    done.swap(ew->done);
    ew->signalled = false;
  }
  for (const Result& r : done) {
    napi_value number = nullptr;
    napi_create_int32(env, r.value, &number);
    napi_resolve_deferred(env, r.deferred, number);
  }
  ew->pending -= static_cast<int>(done.size());
  if (ew->pending <= 0) {
    ew->pending = 0;
    Unref(env, ew);
  }
}

void OnFinalize(napi_env, void* data, void*) { delete static_cast<EnvWaits*>(data); }

// Withdraws an environment's waits (Mu() held). A lock or semaphore slot
// left empty may have taken a wake-up meant for another sleeper: pass one on.
void WithdrawWaits(EnvWaits* ew) {
  for (Waiter* waiter : Waiters()) {
    bool changed = false;
    for (size_t i = 0; i < waiter->slots.size();) {
      Slot* s = waiter->slots[i];
      for (auto it = s->waits.begin(); it != s->waits.end();) {
        if ((*it)->env != ew) {
          ++it;
          continue;
        }
        if ((*it)->kind == WaitKind::kSem) s->word()[1].fetch_sub(1);
        delete *it;
        g_pending_waits--;
        it = s->waits.erase(it);
        changed = true;
      }
      if (s->waits.empty()) {
        if (s->key.second != WaitKind::kFutex) FutexWake(s->word(), 1);
        RemoveSlot(waiter, i);
      } else {
        i++;
      }
    }
    if (changed) Interrupt(waiter);
  }
}

// The environment ends (a Worker exits, or the main thread's teardown):
// its waits are withdrawn and nothing is delivered to it any more. Node
// closes the thread-safe function itself.
void OnEnvCleanup(void* arg) {
  auto* ew = static_cast<EnvWaits*>(arg);
  std::lock_guard<std::mutex> lock(Mu());
  ew->closed = true;
  // What was taken for this environment and never reached it is given back.
  for (Result& r : ew->done) GiveBack(&r);
  ew->done.clear();
  WithdrawWaits(ew);
  if (t_env == ew) t_env = nullptr;
}

EnvWaits* EnsureEnv(Napi::Env env) {
  if (t_env != nullptr) return t_env;
  auto* ew = new EnvWaits();
  napi_status status = napi_create_threadsafe_function(env, nullptr, nullptr,
                                                       Napi::String::New(env, "forkful.sync.waits"),
                                                       0, 1, ew, OnFinalize, ew, OnDone, &ew->tsfn);
  if (status != napi_ok) {
    delete ew;
    throw Napi::Error::New(env, "forkful: cannot create the async wait delivery function");
  }
  napi_unref_threadsafe_function(env, ew->tsfn);  // ref'd only while waits are pending
  napi_add_env_cleanup_hook(env, OnEnvCleanup, ew);
  t_env = ew;
  return ew;
}

}  // namespace

bool SharedWaitersAvailable() {
  if (g_mode == Mode::kUnknown) g_mode = DetectMode();
  return g_mode == Mode::kShared;
}

Napi::Value StartSharedWait(Napi::Env env, WaitKind kind, std::atomic<int32_t>* word, int32_t value,
                            const Deadline& deadline, uint32_t ticket) {
  EnvWaits* ew = EnsureEnv(env);
  napi_deferred raw = nullptr;
  napi_value promise = nullptr;
  if (napi_create_promise(env, &raw, &promise) != napi_ok) {
    throw Napi::Error::New(env, "forkful: cannot create a Promise");
  }
  auto* w = new Wait{kind, value, deadline, ew, raw, ticket};
  if (kind == WaitKind::kSem) word[1].fetch_add(1);  // a sleeper from now on
  int start_errno = 0;
  {
    std::lock_guard<std::mutex> lock(Mu());
    SlotKey key{word, kind};
    // The slot to join: the word's one (lock, semaphore), or for a futex
    // wait a new one while the word has fewer than kExactFutexSlots, else
    // the least busy of them.
    auto [first, last] = Slots().equal_range(key);
    Slot* s = nullptr;
    size_t count = 0;
    for (auto it = first; it != last; ++it, ++count) {
      if (s == nullptr || it->second->waits.size() < s->waits.size()) s = it->second;
    }
    bool fresh = s == nullptr || (kind == WaitKind::kFutex && count < kExactFutexSlots);
    if (fresh) s = new Slot{key, g_next_serial++, {}, nullptr, 0, {}};
    s->Add(w);
    g_pending_waits++;
    // Decided here when it can be (a lock released meanwhile, a changed
    // word, a timeout of 0): the result still goes through the delivery
    // function, as every other.
    Evaluate(s, Now(), false);
    if (fresh && s->waits.empty()) {
      delete s;
    } else if (fresh) {
      Waiter* waiter = WaiterWithRoom(key);
      if (waiter == nullptr) {
        start_errno = errno;
        if (kind == WaitKind::kSem) word[1].fetch_sub(1);
        s->waits.clear();
        g_pending_waits--;
        delete w;
        delete s;
      } else {
        s->waiter = waiter;
        waiter->slots.push_back(s);
        Slots().emplace(key, s);
        Interrupt(waiter);
      }
    } else if (!w->deadline.forever && s->waiter->sleeping &&
               (s->waiter->until_forever || Before(w->deadline.at, s->waiter->until))) {
      Interrupt(s->waiter);  // due sooner than the thread would look
    }
  }
  if (start_errno != 0) ThrowErrno(env, "pthread_create", start_errno);
  if (ew->pending++ == 0 && !ew->reffed) {
    ew->reffed = true;
    napi_ref_threadsafe_function(env, ew->tsfn);
  }
  return Napi::Value(env, promise);
}

bool CancelSharedWait(uint32_t ticket) {
  EnvWaits* ew = t_env;
  if (ticket == 0 || ew == nullptr) return false;
  std::lock_guard<std::mutex> lock(Mu());
  for (Waiter* waiter : Waiters()) {
    for (size_t i = 0; i < waiter->slots.size(); i++) {
      Slot* s = waiter->slots[i];
      for (auto it = s->waits.begin(); it != s->waits.end(); ++it) {
        if ((*it)->env != ew || (*it)->ticket != ticket) continue;
        std::deque<Wait*>::iterator next;
        Finish(s, it, kTimedOut, &next);
        if (s->waits.empty()) {
          // As WithdrawWaits: the slot may have taken a wake-up meant for
          // another sleeper of a lock or semaphore word.
          if (s->key.second != WaitKind::kFutex) FutexWake(s->word(), 1);
          RemoveSlot(waiter, i);
          Interrupt(waiter);
        }
        return true;
      }
    }
  }
  // Ended already, its result not delivered yet: what it took goes back now.
  for (Result& r : ew->done) {
    if (r.ticket != ticket) continue;
    GiveBack(&r);
    return true;
  }
  return false;
}

void SharedWaitersBeforeFork() {
  if (g_mode != Mode::kShared) return;
  Mu().lock();
}

void SharedWaitersAfterForkParent() {
  if (g_mode != Mode::kShared) return;
  Mu().unlock();
}

void SharedWaitersAfterForkChild(napi_env env) {
  if (g_mode != Mode::kShared) return;
  // Single-threaded here: the waiter threads were not copied, and every
  // wait belongs to the parent, which still waits for it. Nothing of them
  // is settled here; their environments (Workers) do not exist here either.
  g_mu = new std::mutex();
  for (auto& [key, s] : Slots()) {
    for (Wait* w : s->waits) delete w;
    delete s;
  }
  Slots().clear();
  Waiters().clear();  // their memory stays: nothing here refers to it
  g_pending_waits = 0;
  // This environment's delivery function may hold the parent's results and
  // a pending signal: it is left, unreferenced, and a fresh one is made at
  // the next wait. (Other environments have no thread here.)
  if (EnvWaits* ew = t_env) {
    ew->closed = true;
    ew->done.clear();
    ew->pending = 0;
    Unref(env, ew);
    napi_remove_env_cleanup_hook(env, OnEnvCleanup, ew);
    t_env = nullptr;
  }
}

Napi::Value SharedWaitersInfo(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("mode", SharedWaitersAvailable() ? "futex_waitv" : "threads");
  std::lock_guard<std::mutex> lock(Mu());
  out.Set("waiterThreads", static_cast<double>(Waiters().size()));
  out.Set("pendingWaits", static_cast<double>(g_pending_waits));
  out.Set("slots", static_cast<double>(Slots().size()));
  return out;
}

}  // namespace sync
}  // namespace forkful

#endif  // __linux__
