// Counts JS threads other than the caller, so fork() can warn (once) that
// forking a multi-threaded process is unsafe, as Python 3.12 does.
#include <dirent.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "addon.h"
#include "fd.h"
#include "threads.h"

namespace forkful {
namespace {

// Instances of this addon loaded on threads other than the main one
// (forkful Threads, and any Worker that loaded forkful).
std::atomic<int> g_worker_instances{0};

void OnWorkerEnvGone(void*) { g_worker_instances--; }

// Threads in epoll when the addon loaded: Node's own (its delayed-task
// scheduler runs a loop of its own), not the user's.
std::set<long> g_baseline_epoll_threads;

// The process's thread ids but the caller's.
std::vector<long> OtherThreadIds() {
  std::vector<long> tids;
#if defined(__linux__)
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return tids;
  long self = syscall(SYS_gettid);
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    long tid = strtol(entry->d_name, nullptr, 10);
    if (tid != self) tids.push_back(tid);
  }
  closedir(dir);
  std::sort(tids.begin(), tids.end());
#endif
  return tids;
}

// Worker threads that never loaded forkful still idle in their event loop's
// epoll wait; V8's workers and libuv's pool idle on futexes instead.
std::set<long> ThreadsInEpoll(const std::vector<long>& tids) {
  std::set<long> found;
#if defined(__linux__)
  std::string text;
  for (long tid : tids) {
    std::string path = "/proc/self/task/" + std::to_string(tid) + "/syscall";
    if (!ReadWholeFile(path.c_str(), &text)) continue;
    long nr = strtol(text.c_str(), nullptr, 10);
    bool in_epoll = false;
#ifdef SYS_epoll_wait
    in_epoll |= nr == SYS_epoll_wait;
#endif
#ifdef SYS_epoll_pwait
    in_epoll |= nr == SYS_epoll_pwait;
#endif
#ifdef SYS_epoll_pwait2
    in_epoll |= nr == SYS_epoll_pwait2;
#endif
    if (in_epoll) found.insert(tid);
  }
#endif
  return found;
}

// Event loops open: each Worker thread runs a libuv loop of its own, whose
// epoll instance lives as long as the thread, whatever the thread does (a
// Worker blocked in Atomics.wait is in no epoll wait, yet has its loop).
int EventLoopsOpen() {
  int loops = 0;
#if defined(__linux__)
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  char target[64];
  static constexpr char kEpoll[] = "anon_inode:[eventpoll]";
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    ssize_t n = readlinkat(dirfd(dir), entry->d_name, target, sizeof target);
    if (n == sizeof kEpoll - 1 && memcmp(target, kEpoll, n) == 0) loops++;
  }
  closedir(dir);
#endif
  return loops;
}

// Loops and threads when the addon loaded on the main thread, or when this
// forked child began (its copies of the parent's Workers' loops are fds
// with no thread): Node's own (the main loop, its delayed-task scheduler's).
int g_baseline_loops = 0;
size_t g_baseline_threads = 0;
// The loops open at the last check (the baseline's count while the threads
// were no more than the baseline's): what a child made now inherits.
int g_loops_last_seen = 0;

void TakeBaseline() {
  g_baseline_loops = g_loops_last_seen = EventLoopsOpen();
  g_baseline_threads = OtherThreadIds().size();
}

// Threads since the baseline that run a loop: Workers, including one that
// never loaded forkful and does not wait in its loop now. Counted only when
// the process has more threads than then (cheap: most forks stop there);
// a loop left without its thread does not count.
int NewLoopThreads(const std::vector<long>& tids) {
  if (tids.size() <= g_baseline_threads) {
    g_loops_last_seen = g_baseline_loops;
    return 0;
  }
  g_loops_last_seen = EventLoopsOpen();
  int loops = g_loops_last_seen - g_baseline_loops;
  int threads = static_cast<int>(tids.size() - g_baseline_threads);
  return std::max(0, std::min(loops, threads));
}

// Reading every thread's syscall file costs ~80 us (each read waits for the
// thread to be off-CPU), on every fork. A check that found no other JS
// thread stays valid while the same threads exist, for up to kRecheck (a
// Worker busy at that check is seen at a later one, as before, only later).
using Clock = std::chrono::steady_clock;
constexpr auto kRecheck = std::chrono::seconds(1);
std::vector<long> g_clean_tids;
Clock::time_point g_clean_at;
bool g_clean_valid = false;

Napi::Value OtherJsThreads(const Napi::CallbackInfo& info) {
  int addon = g_worker_instances.load();
  std::vector<long> tids = OtherThreadIds();
  Clock::time_point now = Clock::now();
  if (addon == 0 && g_clean_valid && tids == g_clean_tids && now - g_clean_at < kRecheck) {
    return Napi::Number::New(info.Env(), 0);
  }
  int idle = 0;
  for (long tid : ThreadsInEpoll(tids)) idle += g_baseline_epoll_threads.count(tid) == 0 ? 1 : 0;
  int others = std::max({addon, idle, NewLoopThreads(tids)});
  g_clean_valid = others == 0;
  if (g_clean_valid) {
    g_clean_tids = std::move(tids);
    g_clean_at = now;
  }
  return Napi::Number::New(info.Env(), others);
}

void Init(Napi::Env env, Napi::Object exports) {
  if (!OnMainThread()) {
    g_worker_instances++;
    napi_add_env_cleanup_hook(env, OnWorkerEnvGone, nullptr);
  } else {
    g_baseline_epoll_threads = ThreadsInEpoll(OtherThreadIds());
    TakeBaseline();
  }
  exports.Set("otherJsThreads", Napi::Function::New(env, OtherJsThreads));
}

const Registration reg{"threads", Init};

}  // namespace

// No scan of /proc/self/fd here (~90 us and its faults in every child, most
// of which never fork): the child's loops are the ones the parent had at its
// last check, made just before this fork unless the parent already warned
// (the child, which inherits that, then never checks). Any thread the child
// starts (its V8 pool's, a Worker) counts as new until a check scans: a
// thread without a loop of its own is not counted (NewLoopThreads).
void ThreadsAfterForkChild() {
  g_baseline_loops = g_loops_last_seen;
  g_baseline_threads = 0;
  g_clean_valid = false;
}

}  // namespace forkful
