// What a Process (or Pool worker) and its parent need beyond fork() itself
// (lib/core/addon/process.ts types them):
//   setParentDeathSignal  PR_SET_PDEATHSIG, so that a daemonic child dies
//                         with its parent (Linux)
//   abandonStack          a forked child leaves the caller's stack (V8
//                         TerminateExecution) and runs its target from the
//                         event loop
//   callSoon              calls back from the next loop iteration, from a
//                         native frame of ours (a clean place to fork from)
//   exitcodeNoReap        the blocking join: waitid(WNOWAIT) with a timeout,
//                         leaving the reaping to whoever owns it
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

#include <uv.h>
#include <v8.h>

#include <algorithm>
#include <memory>

#include "addon.h"
#include "fd.h"
#include "node_internals.h"
#include "process.h"

namespace forkful {

namespace {
bool g_abandoning = false;
}  // namespace

bool AbandoningStack() { return g_abandoning; }

void ReportCallbackError(Napi::Env env, napi_value error) {
  if (g_abandoning) return;
  napi_fatal_exception(env, error);
}

namespace {

// setParentDeathSignal(signal, expectedParentPid) -> true when armed, false
// where the platform has no such call. Throws when the parent is already
// gone (the signal would never come).
Napi::Value SetParentDeathSignal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sig = ArgInt32(info, 0, "signal");
  int expected = ArgInt32(info, 1, "expectedParentPid");
#if defined(__linux__)
  if (prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0) ThrowErrno(env, "prctl(PR_SET_PDEATHSIG)");
  // The parent may have died between fork and prctl: then nobody will send it.
  if (getppid() != expected) ThrowErrno(env, "prctl(PR_SET_PDEATHSIG)", ESRCH);
  return Napi::Boolean::New(env, true);
#else
  (void)sig;
  (void)expected;
  return Napi::Boolean::New(env, false);
#endif
}

// A forked Process child starts in the middle of the parent's call stack
// (inside start()), but must run only its target: it may not return into the
// code that called start(). abandonStack(callback) terminates the running
// JavaScript (uncatchable: no try/finally of the caller runs), and once the
// stack has unwound to the event loop it lifts the termination and calls
// callback there, on an empty stack.
struct Resume {
  uv_idle_t check;
  Napi::FunctionReference callback;
  std::unique_ptr<Napi::AsyncContext> context;
  v8::Isolate* isolate = nullptr;
};

void OnResume(uv_idle_t* handle) {
  auto* resume = static_cast<Resume*>(handle->data);
  uv_idle_stop(handle);
  uv_close(reinterpret_cast<uv_handle_t*>(handle),
           [](uv_handle_t* h) { std::unique_ptr<Resume> owned(static_cast<Resume*>(h->data)); });
  resume->isolate->CancelTerminateExecution();
  RearmNodeTimers(handle->loop);
  Napi::Env env = resume->callback.Env();
  Napi::HandleScope scope(env);
  g_abandoning = false;
  // A nested Process.start() in the target abandons this stack too.
  CallFromLoop(env, resume->callback, *resume->context);
}

// callSoon(callback): calls callback from the next loop iteration, from a
// native frame of ours rather than from inside Node's timer or immediate
// processing. A continuation there may start a forked Process, whose child
// then abandons a stack holding only this frame (its termination is caught
// here) and no half-run JS list walk of Node's.
struct Soon {
  uv_idle_t idle;
  Napi::FunctionReference callback;
  std::unique_ptr<Napi::AsyncContext> context;
};

void OnSoon(uv_idle_t* handle) {
  auto* soon = static_cast<Soon*>(handle->data);
  uv_idle_stop(handle);
  uv_close(reinterpret_cast<uv_handle_t*>(handle),
           [](uv_handle_t* h) { std::unique_ptr<Soon> owned(static_cast<Soon*>(h->data)); });
  Napi::Env env = soon->callback.Env();
  Napi::HandleScope scope(env);
  CallFromLoop(env, soon->callback, *soon->context);
}

Napi::Value CallSoon(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function");
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) ThrowTyped(env, "OSError", "no event loop");
  auto soon = std::make_unique<Soon>();
  soon->callback = Napi::Persistent(info[0].As<Napi::Function>());
  soon->context = std::make_unique<Napi::AsyncContext>(env, "forkful.callSoon");
  int err = uv_idle_init(loop, &soon->idle);
  if (err != 0) ThrowErrno(env, "uv_idle_init", -err);
  soon->idle.data = soon.get();
  uv_idle_start(&soon->idle, OnSoon);
  soon.release();  // owned by the handle until it closes
  return env.Undefined();
}

Napi::Value AbandonStack(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function");
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) ThrowTyped(env, "OSError", "no event loop");
  auto resume = std::make_unique<Resume>();
  resume->callback = Napi::Persistent(info[0].As<Napi::Function>());
  resume->context = std::make_unique<Napi::AsyncContext>(env, "forkful.ProcessChild");
  resume->isolate = v8::Isolate::GetCurrent();
  int err = uv_idle_init(loop, &resume->check);
  if (err != 0) ThrowErrno(env, "uv_idle_init", -err);
  resume->check.data = resume.get();
  uv_idle_start(&resume->check, OnResume);
  // An active idle handle makes the loop poll without blocking: the callback
  // runs in the next iteration, after the stack has unwound. Timers run
  // before idle handles, and Node's RunTimers calls into JS again for as
  // long as the call fails: with the termination still pending (a stack
  // abandoned from a microtask, which V8 does not clear on its way out) it
  // would spin forever. Node's timer handle waits until OnResume re-arms it.
  if (uv_timer_t* timers = NodeTimerHandle(loop)) uv_timer_stop(timers);
  g_abandoning = true;
  resume->isolate->TerminateExecution();
  resume.release();  // owned by the handle until it closes
  return env.Undefined();
}

// exitcodeNoReap(pid, timeoutMs) -> the child's exit code (minus the signal
// number when killed) once it has ended, or null after timeoutMs (< 0:
// wait forever). The child is NOT reaped (waitid WNOWAIT): whoever owns its
// reaping (forkful's exit watch, or libuv for child_process children) still
// gets its status. Blocks the calling thread: the joinSync forms.
Napi::Value ExitcodeNoReap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = ArgInt32(info, 0, "pid");
  double timeout_ms = ArgNumber(info, 1, "timeoutMs");
  if (timeout_ms != 0) FlushQueuedFrames();
  // Opened only once there is something to wait for: exitcode and join()
  // ask with timeout 0, which needs no more than waitid.
  UniqueFd pidfd;
  bool pidfd_tried = false;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    siginfo_t si;
    si.si_pid = 0;
    if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT | WNOHANG) != 0) {
      if (errno == EINTR) continue;
      ThrowErrno(env, "waitid");
    }
    if (si.si_pid == pid) {
      int code = si.si_code == CLD_EXITED ? si.si_status : -si.si_status;
      return Napi::Number::New(env, code);
    }
    int wait_ms = -1;
    if (timeout_ms >= 0) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      double left =
          timeout_ms - ((now.tv_sec - start.tv_sec) * 1e3 + (now.tv_nsec - start.tv_nsec) / 1e6);
      if (left <= 0) return env.Null();
      wait_ms = static_cast<int>(std::min(left + 0.999, 2147483647.0));
    }
    if (!pidfd_tried) {
      pidfd_tried = true;
      pidfd = UniqueFd(OpenPidfd(pid));
    }
    if (pidfd.valid()) {
      struct pollfd pfd = {pidfd.get(), POLLIN, 0};
      if (poll(&pfd, 1, wait_ms) < 0 && errno != EINTR) ThrowErrno(env, "poll");
    } else {
      // No pidfd (old kernel, macOS): sleep in short steps.
      usleep(wait_ms < 0 || wait_ms > 5 ? 5000 : wait_ms * 1000);
    }
  }
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("exitcodeNoReap", Napi::Function::New(env, ExitcodeNoReap));
  exports.Set("callSoon", Napi::Function::New(env, CallSoon));
  exports.Set("abandonStack", Napi::Function::New(env, AbandonStack));
  exports.Set("setParentDeathSignal", Napi::Function::New(env, SetParentDeathSignal));
}

const Registration reg{"process", Init};

}  // namespace
}  // namespace forkful
