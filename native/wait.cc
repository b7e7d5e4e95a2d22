// multiprocessing.connection.wait's blocking form: one poll(2) over many
// fds (Connections' read ends, Process sentinels, which are pidfds, plain
// fds). Readable, end of file, an error and a hang-up all count as ready,
// as for Python's selectors; an fd that is not open is an OSError EBADF.
#include <poll.h>
#include <time.h>

#include <cerrno>
#include <vector>

#include "addon.h"

namespace forkful {
namespace {

double NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// pollReadable(fds, timeoutMs) -> the indexes (into fds) of the ready fds;
// [] after timeoutMs (< 0: no limit). Blocks the calling thread.
Napi::Value PollReadable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "fds must be an array of fd numbers");
  Napi::Array list = info[0].As<Napi::Array>();
  double timeout_ms = ArgNumber(info, 1, "timeoutMs");
  std::vector<struct pollfd> fds(list.Length());
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsNumber()) throw Napi::TypeError::New(env, "fds must be an array of fd numbers");
    fds[i] = {v.As<Napi::Number>().Int32Value(), POLLIN, 0};
  }
  if (timeout_ms != 0) FlushQueuedFrames();  // a reply may depend on what send() queued
  const double deadline = timeout_ms < 0 ? -1 : NowMs() + timeout_ms;
  int ready;
  for (;;) {
    int wait = -1;
    if (deadline >= 0) {
      double left = deadline - NowMs();
      // Rounded up: a wait never ends before its timeout.
      wait = left <= 0 ? 0 : left > 2147483647.0 ? 2147483647 : static_cast<int>(left + 0.999);
    }
    ready = poll(fds.data(), fds.size(), wait);
    if (ready >= 0 || errno != EINTR) break;
  }
  if (ready < 0) ThrowErrno(env, "poll");
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  for (uint32_t i = 0; i < fds.size(); i++) {
    if (fds[i].revents & POLLNVAL) ThrowErrno(env, "poll", EBADF);
    if (fds[i].revents != 0) out.Set(n++, i);
  }
  return out;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("pollReadable", Napi::Function::New(env, PollReadable, "pollReadable"));
}

const Registration reg{"wait", Init};

}  // namespace
}  // namespace forkful
