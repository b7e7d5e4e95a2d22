// Tells the event loop, without blocking or polling, that a child exited:
// a pidfd watched by a uv_poll handle becomes readable when the child ends.
// The watch only notifies; the JS side reaps with waitpid(WNOHANG). Also
// hands out a bare pidfd (Process.sentinel).
#include <unistd.h>
#include <uv.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include <memory>

#include "addon.h"
#include "fd.h"

namespace forkful {
namespace {

class PidWatch : public Napi::ObjectWrap<PidWatch> {
 public:
  static Napi::Function Class(Napi::Env env) {
    return DefineClass(
        env, "PidWatch",
        {InstanceMethod<&PidWatch::Close>("close"), InstanceMethod<&PidWatch::RefHandle>("ref"),
         InstanceMethod<&PidWatch::UnrefHandle>("unref")});
  }

  // new PidWatch(pid, callback): callback() runs once, when the child exits.
  explicit PidWatch(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<PidWatch>(info), context_(info.Env(), "forkful.PidWatch") {
    Napi::Env env = info.Env();
    pid_t pid = ArgInt32(info, 0, "pid");
    if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function");
    UniqueFd pidfd(OpenPidfd(pid));
    if (!pidfd.valid()) ThrowErrno(env, "pidfd_open");
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) ThrowTyped(env, "OSError", "no event loop");
    auto handle = std::make_unique<Handle>();
    int err = uv_poll_init(loop, &handle->poll, pidfd.get());
    if (err != 0) ThrowErrno(env, "uv_poll_init", -err);
    handle->owner = this;
    handle->poll.data = handle.get();
    err = uv_poll_start(&handle->poll, UV_READABLE, OnReadable);
    if (err != 0) {
      // The handle is initialised: it must be closed through libuv.
      uv_close(reinterpret_cast<uv_handle_t*>(&handle.release()->poll), OnClosed);
      ThrowErrno(env, "uv_poll_start", -err);
    }
    pidfd_ = std::move(pidfd);
    handle_ = handle.release();  // owned by libuv until OnClosed
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    Ref();  // stay alive while the watch is active, even with no JS reference
    napi_add_env_cleanup_hook(env, CleanupHook, this);
  }

  ~PidWatch() override { Stop(); }

 private:
  struct Handle {
    uv_poll_t poll;
    PidWatch* owner;
  };

  static void OnClosed(uv_handle_t* h) {
    std::unique_ptr<Handle> owned(static_cast<Handle*>(h->data));
  }

  static void CleanupHook(void* arg) { static_cast<PidWatch*>(arg)->Stop(); }

  // Closes the poll handle and the pidfd; safe to call more than once.
  void Stop() {
    if (handle_ == nullptr) return;
    napi_remove_env_cleanup_hook(Env(), CleanupHook, this);
    handle_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_->poll), OnClosed);
    handle_ = nullptr;
    pidfd_.reset();
  }

  static void OnReadable(uv_poll_t* poll, int status, int events) {
    PidWatch* self = static_cast<Handle*>(poll->data)->owner;
    if (self == nullptr) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    Napi::FunctionReference callback = std::move(self->callback_);
    self->Stop();
    self->Unref();  // balances the Ref() of the constructor
    CallFromLoop(env, callback, self->context_);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) {
      Stop();
      callback_.Reset();
      Unref();
    }
    return info.Env().Undefined();
  }

  Napi::Value RefHandle(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
    return info.This();
  }

  Napi::Value UnrefHandle(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
    return info.This();
  }

  Napi::AsyncContext context_;
  Napi::FunctionReference callback_;
  UniqueFd pidfd_;
  Handle* handle_ = nullptr;
};

// pidfdOpen(pid) -> a pidfd (close-on-exec), readable once the process has
// ended: Process.sentinel. OSError ENOSYS where the kernel has none (< 5.3),
// ESRCH when no such process exists (any more).
Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = OpenPidfd(ArgInt32(info, 0, "pid"));
  if (fd < 0) ThrowErrno(env, "pidfd_open");
  return Napi::Number::New(env, fd);
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("PidWatch", PidWatch::Class(env));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen, "pidfdOpen"));
}

const Registration reg{"child_watch", Init};

}  // namespace
}  // namespace forkful
