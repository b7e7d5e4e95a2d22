// What multiprocessing.Process needs from the kernel beyond forkful/os:
// PR_SET_PDEATHSIG, so that a daemonic child dies with its parent (Linux).
#include <signal.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include "addon.h"

namespace forkful {
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

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setParentDeathSignal", Napi::Function::New(env, SetParentDeathSignal));
}

const Registration reg{"process", Init};

}  // namespace
}  // namespace forkful
