// Shared plumbing of the addon: how each native/*.cc registers its exports,
// and how a failed syscall becomes a JS error carrying errno's name.
#pragma once

#include <napi.h>

#include <cerrno>
#include <string>

namespace forkful {

using InitFn = void (*)(Napi::Env env, Napi::Object exports);

// A file-scope `static const Registration reg{"name", Init};` adds a concern's
// exports to the module. Order of registration does not matter.
struct Registration {
  Registration(const char* name, InitFn init);
};

// Throws OSError (the class lib/errors.ts registers) with code = errno's name,
// errno and syscall set. Falls back to a plain Error before registration.
[[noreturn]] void ThrowErrno(Napi::Env env, const char* syscall, int err = errno);

// Builds (does not throw) the same error, for asynchronous reporting.
Napi::Value MakeErrno(Napi::Env env, const char* syscall, int err);

// Throws one of the typed classes registered from JS by name (e.g.
// "ValueError", "ForkError"); a plain Error when that class is not registered.
[[noreturn]] void ThrowTyped(Napi::Env env, const char* cls, const std::string& message);

// Calls a JS callback from an event-loop callback (not from JS). An
// exception it throws becomes an uncaught exception, as for any callback
// Node makes (ReportCallbackError: a Process child leaving its parent's
// stack on purpose is not an error).
void CallFromLoop(Napi::Env env, const Napi::FunctionReference& callback,
                  const Napi::AsyncContext& context,
                  const std::initializer_list<napi_value>& args = {});

// [a, b] as a JS array: the shape of every two-value result (fd pairs,
// [pid, status], [offset, generation]).
Napi::Value NumberPair(Napi::Env env, double a, double b);

// Writes the frames Connection.send() queued on this thread (connection.cc).
// Every native call that blocks, forks or exits calls it first, so a queued
// message is never held back while its sender waits (maybe for the reply).
void FlushQueuedFrames();

// True on the process's main thread (Linux: tid == pid).
bool OnMainThread();

// Argument helpers that throw TypeError with the argument's name.
int32_t ArgInt32(const Napi::CallbackInfo& info, size_t i, const char* name);
double ArgNumber(const Napi::CallbackInfo& info, size_t i, const char* name);

}  // namespace forkful
