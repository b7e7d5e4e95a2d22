// Module entry: collects the registrations of every concern, and keeps the
// error classes that lib/errors.ts hands over at load time.
#include "addon.h"

#include <unistd.h>
#include <uv.h>

#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "node_internals.h"
#include "process.h"
#if defined(__linux__)
#include <sys/syscall.h>
#endif

namespace forkful {
namespace {

std::vector<std::pair<const char*, InitFn>>& Registry() {
  static std::vector<std::pair<const char*, InitFn>> registry;
  return registry;
}

// Per-environment (main thread or Worker) references to the JS error classes.
struct InstanceData {
  std::map<std::string, Napi::FunctionReference> classes;
};

Napi::Function FindClass(Napi::Env env, const char* name) {
  auto* data = env.GetInstanceData<InstanceData>();
  if (data == nullptr) return Napi::Function();
  auto it = data->classes.find(name);
  if (it == data->classes.end()) return Napi::Function();
  return it->second.Value();
}

// registerErrorClasses({ OSError, ValueError, ... })
Napi::Value RegisterErrorClasses(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "expected an object of classes");
  auto* data = env.GetInstanceData<InstanceData>();
  Napi::Object classes = info[0].As<Napi::Object>();
  Napi::Array names = classes.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); i++) {
    std::string name = names.Get(i).As<Napi::String>();
    Napi::Value cls = classes.Get(name);
    if (cls.IsFunction()) data->classes[name] = Napi::Persistent(cls.As<Napi::Function>());
  }
  return env.Undefined();
}

}  // namespace

Registration::Registration(const char* name, InitFn init) { Registry().emplace_back(name, init); }

void CallFromLoop(Napi::Env env, const Napi::FunctionReference& callback,
                  const Napi::AsyncContext& context,
                  const std::initializer_list<napi_value>& args) {
  // The raw call, not Napi's MakeCallback: in a Worker being terminated the
  // call fails (termination pending, or napi_cannot_run_js), and the
  // Napi::Error that Napi builds for it cannot be built there: a fatal
  // error that aborted the whole process (a Thread ending while its Queue
  // feeder waited for room in the pipe).
  napi_value result = nullptr;
  napi_status status = napi_make_callback(env, context, env.Global(), callback.Value(), args.size(),
                                          args.begin(), &result);
  if (status == napi_ok) return;
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) return;
  napi_value exception = nullptr;
  if (napi_get_and_clear_last_exception(env, &exception) != napi_ok) return;
  ReportCallbackError(env, exception);  // (no Napi::Error: building one runs JS)
}

Napi::Value NumberPair(Napi::Env env, double a, double b) {
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, Napi::Number::New(env, a));
  pair.Set(1u, Napi::Number::New(env, b));
  return pair;
}

bool OnMainThread() {
#if defined(__linux__)
  return syscall(SYS_gettid) == getpid();
#else
  return true;  // checked from JS through worker_threads.isMainThread
#endif
}

// errno's symbolic name ("ECHILD"); glibc knows them all, libuv most.
const char* ErrnoName(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  if (const char* name = strerrorname_np(err)) return name;
#endif
  return uv_err_name(-err);
}

Napi::Value MakeErrno(Napi::Env env, const char* syscall, int err) {
  const char* code = ErrnoName(err);
  std::string message = std::string(code) + ": " + strerror(err) + ", " + syscall;
  Napi::Function cls = FindClass(env, "OSError");
  Napi::Object error;
  if (!cls.IsEmpty()) {
    error = cls.New({Napi::String::New(env, message)});
  } else {
    error = Napi::Error::New(env, message).Value();
  }
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

void ThrowErrno(Napi::Env env, const char* syscall, int err) {
  throw Napi::Error(env, MakeErrno(env, syscall, err));
}

void ThrowTyped(Napi::Env env, const char* name, const std::string& message) {
  Napi::Function cls = FindClass(env, name);
  if (cls.IsEmpty()) throw Napi::Error::New(env, std::string(name) + ": " + message);
  throw Napi::Error(env, cls.New({Napi::String::New(env, message)}));
}

int32_t ArgInt32(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  }
  double v = info[i].As<Napi::Number>().DoubleValue();
  // Compared as doubles first: casting NaN or an out-of-range double to an
  // integer is undefined behaviour.
  if (!(v >= static_cast<double>(INT32_MIN) && v <= static_cast<double>(INT32_MAX)) ||
      v != static_cast<double>(static_cast<int32_t>(v))) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be a 32-bit integer");
  }
  return static_cast<int32_t>(v);
}

double ArgNumber(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  }
  return info[i].As<Napi::Number>().DoubleValue();
}

}  // namespace forkful

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  forkful::BuiltFor built = forkful::BuiltForNode();
  Napi::Object built_for = Napi::Object::New(env);
  built_for.Set("version", built.version);
  built_for.Set("abi", built.abi);
  exports.Set("builtFor", built_for);
  // The concerns use Node's C++ embedder API, whose ABI is per major: on
  // another line they would crash or hang at the first fork. Refuse before
  // any of them registers; lib/ names both versions and the fix.
  std::string mismatch = forkful::AbiMismatch(env);
  if (!mismatch.empty()) {
    exports.Set("abiMismatch", mismatch);
    return exports;
  }
  env.SetInstanceData(new forkful::InstanceData());  // owned and freed by the env
  exports.Set("registerErrorClasses", Napi::Function::New(env, forkful::RegisterErrorClasses));
  // Each concern's export names under its registration name: lib/core/addon
  // types every concern and is checked against this, name for name.
  Napi::Object concerns = Napi::Object::New(env);
  for (auto& [name, init] : forkful::Registry()) {
    Napi::Object own = Napi::Object::New(env);
    init(env, own);
    Napi::Array names = own.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); i++) {
      Napi::Value key = names.Get(i);
      exports.Set(key, own.Get(key));
    }
    concerns.Set(name, names);
  }
  exports.Set("concerns", concerns);
  return exports;
}

}  // namespace

NODE_API_MODULE(forkful, Init)
