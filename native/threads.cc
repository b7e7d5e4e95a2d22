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
#include <set>
#include <string>
#include <vector>

#include "addon.h"
#include "fd.h"

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
  int others = addon > idle ? addon : idle;
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
  }
  exports.Set("otherJsThreads", Napi::Function::New(env, OtherJsThreads));
}

const Registration reg{"threads", Init};

}  // namespace
}  // namespace forkful
