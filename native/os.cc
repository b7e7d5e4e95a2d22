// The plain POSIX calls of forkful/os: pids, waitpid, kill, _exit and raw fd
// I/O. Each failure becomes an OSError with errno's name.
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include <algorithm>
#include <cstring>

#include "addon.h"
#include "fd.h"

namespace forkful {
namespace {

Napi::Value GetPid(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), getpid());
}

Napi::Value GetPpid(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), getppid());
}

Napi::Value GetTid(const Napi::CallbackInfo& info) {
#if defined(__linux__)
  return Napi::Number::New(info.Env(), static_cast<double>(syscall(SYS_gettid)));
#else
  uint64_t tid = 0;
  pthread_threadid_np(nullptr, &tid);
  return Napi::Number::New(info.Env(), static_cast<double>(tid));
#endif
}

// waitpid(pid, options) -> [pid, status]; [0, 0] when WNOHANG finds nothing.
Napi::Value WaitPid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = ArgInt32(info, 0, "pid");
  int options = info.Length() > 1 ? ArgInt32(info, 1, "options") : 0;
  if ((options & WNOHANG) == 0) FlushQueuedFrames();
  int status = 0;
  pid_t got;
  do {
    got = waitpid(pid, &status, options);
  } while (got < 0 && errno == EINTR);
  if (got < 0) ThrowErrno(env, "waitpid");
  return NumberPair(env, got, got == 0 ? 0 : status);
}

// wait4(pid, options) -> [pid, status, rusage]: waitpid with the child's
// resource usage (Python's os.wait4; wait3 is wait4(-1, ...)). The rusage
// object has Python's struct_rusage fields, times in seconds; all zero when
// WNOHANG finds nothing.
Napi::Value Wait4(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = ArgInt32(info, 0, "pid");
  int options = info.Length() > 1 ? ArgInt32(info, 1, "options") : 0;
  if ((options & WNOHANG) == 0) FlushQueuedFrames();
  int status = 0;
  struct rusage ru;
  std::memset(&ru, 0, sizeof ru);
  pid_t got;
  do {
    got = wait4(pid, &status, options, &ru);
  } while (got < 0 && errno == EINTR);
  if (got < 0) ThrowErrno(env, "wait4");
  if (got == 0) {
    status = 0;
    std::memset(&ru, 0, sizeof ru);
  }
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  Napi::Object usage = Napi::Object::New(env);
  usage.Set("ru_utime", seconds(ru.ru_utime));
  usage.Set("ru_stime", seconds(ru.ru_stime));
  usage.Set("ru_maxrss", static_cast<double>(ru.ru_maxrss));
  usage.Set("ru_ixrss", static_cast<double>(ru.ru_ixrss));
  usage.Set("ru_idrss", static_cast<double>(ru.ru_idrss));
  usage.Set("ru_isrss", static_cast<double>(ru.ru_isrss));
  usage.Set("ru_minflt", static_cast<double>(ru.ru_minflt));
  usage.Set("ru_majflt", static_cast<double>(ru.ru_majflt));
  usage.Set("ru_nswap", static_cast<double>(ru.ru_nswap));
  usage.Set("ru_inblock", static_cast<double>(ru.ru_inblock));
  usage.Set("ru_oublock", static_cast<double>(ru.ru_oublock));
  usage.Set("ru_msgsnd", static_cast<double>(ru.ru_msgsnd));
  usage.Set("ru_msgrcv", static_cast<double>(ru.ru_msgrcv));
  usage.Set("ru_nsignals", static_cast<double>(ru.ru_nsignals));
  usage.Set("ru_nvcsw", static_cast<double>(ru.ru_nvcsw));
  usage.Set("ru_nivcsw", static_cast<double>(ru.ru_nivcsw));
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, static_cast<double>(got));
  out.Set(1u, static_cast<double>(status));
  out.Set(2u, usage);
  return out;
}

// waitpidTimeout(pid, timeoutMs) -> [pid, status], or null when the child is
// still running after timeoutMs. Blocks the calling thread (the Sync forms).
Napi::Value WaitPidTimeout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = ArgInt32(info, 0, "pid");
  double timeout_ms = ArgNumber(info, 1, "timeoutMs");
  if (timeout_ms != 0) FlushQueuedFrames();
  if (timeout_ms < 0) {
    int status = 0;
    pid_t got;
    do {
      got = waitpid(pid, &status, 0);
    } while (got < 0 && errno == EINTR);
    if (got < 0) ThrowErrno(env, "waitpid");
    return NumberPair(env, got, status);
  }
  UniqueFd pidfd(OpenPidfd(pid));
  if (!pidfd.valid() && errno != ENOSYS) ThrowErrno(env, "pidfd_open");
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    int status = 0;
    pid_t got = waitpid(pid, &status, WNOHANG);
    if (got < 0 && errno != EINTR) ThrowErrno(env, "waitpid");
    if (got > 0) return NumberPair(env, got, status);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double elapsed = (now.tv_sec - start.tv_sec) * 1e3 + (now.tv_nsec - start.tv_nsec) / 1e6;
    double left = timeout_ms - elapsed;
    if (left <= 0) return env.Null();
    if (pidfd.valid()) {
      struct pollfd pfd = {pidfd.get(), POLLIN, 0};
      int r = poll(&pfd, 1, static_cast<int>(std::min(left + 0.999, 2147483647.0)));
      if (r < 0 && errno != EINTR) ThrowErrno(env, "poll");
    } else {
      // No pidfd (old kernel, macOS): sleep in short steps.
      usleep(static_cast<useconds_t>(std::min(left, 5.0) * 1000));
    }
  }
}

Napi::Value Kill(const Napi::CallbackInfo& info) {
  pid_t pid = ArgInt32(info, 0, "pid");
  int sig = ArgInt32(info, 1, "signal");
  if (kill(pid, sig) != 0) ThrowErrno(info.Env(), "kill");
  return info.Env().Undefined();
}

Napi::Value Exit(const Napi::CallbackInfo& info) {
  int code = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  FlushQueuedFrames();  // what send() queued is sent, as Python's send() had written it
  _exit(code);
}

Napi::Value Pipe(const Napi::CallbackInfo& info) {
  int fds[2];
#if defined(__linux__)
  if (pipe2(fds, O_CLOEXEC) != 0) ThrowErrno(info.Env(), "pipe2");
#else
  if (pipe(fds) != 0) ThrowErrno(info.Env(), "pipe");
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  fcntl(fds[1], F_SETFD, FD_CLOEXEC);
#endif
  return NumberPair(info.Env(), fds[0], fds[1]);
}

// read(fd, n) -> Buffer of at most n bytes (empty at end of file).
Napi::Value Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  double n = ArgNumber(info, 1, "n");
  if (n < 0 || n > 1 << 30) throw Napi::RangeError::New(env, "n must be between 0 and 2**30");
  Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(n));
  ssize_t got;
  do {
    got = read(fd, buf.Data(), buf.Length());
  } while (got < 0 && errno == EINTR);
  if (got < 0) ThrowErrno(env, "read");
  if (static_cast<size_t>(got) == buf.Length()) return buf;
  return Napi::Buffer<uint8_t>::Copy(env, buf.Data(), static_cast<size_t>(got));
}

// write(fd, bufferView) -> bytes written.
Napi::Value Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  if (!info[1].IsTypedArray()) throw Napi::TypeError::New(env, "data must be a Buffer");
  Napi::TypedArray view = info[1].As<Napi::TypedArray>();
  const uint8_t* data = static_cast<const uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
  ssize_t put;
  do {
    put = write(fd, data, view.ByteLength());
  } while (put < 0 && errno == EINTR);
  if (put < 0) ThrowErrno(env, "write");
  return Napi::Number::New(env, static_cast<double>(put));
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  int fd = ArgInt32(info, 0, "fd");
  if (close(fd) != 0 && errno != EINTR) ThrowErrno(info.Env(), "close");
  return info.Env().Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("getpid", Napi::Function::New(env, GetPid));
  exports.Set("getppid", Napi::Function::New(env, GetPpid));
  exports.Set("gettid", Napi::Function::New(env, GetTid));
  exports.Set("waitpid", Napi::Function::New(env, WaitPid));
  exports.Set("waitpidTimeout", Napi::Function::New(env, WaitPidTimeout));
  exports.Set("wait4", Napi::Function::New(env, Wait4));
  exports.Set("kill", Napi::Function::New(env, Kill));
  exports.Set("_exit", Napi::Function::New(env, Exit));
  exports.Set("pipe", Napi::Function::New(env, Pipe));
  exports.Set("read", Napi::Function::New(env, Read));
  exports.Set("write", Napi::Function::New(env, Write));
  exports.Set("close", Napi::Function::New(env, Close));
  exports.Set("WNOHANG", Napi::Number::New(env, WNOHANG));
  exports.Set("WUNTRACED", Napi::Number::New(env, WUNTRACED));
}

const Registration reg{"os", Init};

}  // namespace
}  // namespace forkful
