// Counts JS threads other than the caller, so fork() can warn (once) that
// forking a multi-threaded process is unsafe, as Python 3.12 does.
#include <dirent.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include <atomic>
#include <set>
#include <cstdlib>
#include <string>

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

// Worker threads that never loaded forkful still idle in their event loop's
// epoll wait; V8's workers and libuv's pool idle on futexes instead.
std::set<long> ThreadsInEpoll() {
  std::set<long> found;
#if defined(__linux__)
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return found;
  long self = syscall(SYS_gettid);
  std::string text;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    long tid = strtol(entry->d_name, nullptr, 10);
    if (tid == self) continue;
    std::string path = std::string("/proc/self/task/") + entry->d_name + "/syscall";
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
  closedir(dir);
#endif
  return found;
}

Napi::Value OtherJsThreads(const Napi::CallbackInfo& info) {
  int addon = g_worker_instances.load();
  int idle = 0;
  for (long tid : ThreadsInEpoll()) idle += g_baseline_epoll_threads.count(tid) == 0 ? 1 : 0;
  return Napi::Number::New(info.Env(), addon > idle ? addon : idle);
}

void Init(Napi::Env env, Napi::Object exports) {
  if (!OnMainThread()) {
    g_worker_instances++;
    napi_add_env_cleanup_hook(env, OnWorkerEnvGone, nullptr);
  } else {
    g_baseline_epoll_threads = ThreadsInEpoll();
  }
  exports.Set("otherJsThreads", Napi::Function::New(env, OtherJsThreads));
}

const Registration reg{"threads", Init};

}  // namespace
}  // namespace forkful
