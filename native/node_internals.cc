// Node internals the addon relies on (see node_internals.h), and the JS view
// of their checks: nodeInternals() -> { builtFor, timerHandle }.
#include "node_internals.h"

#include <dlfcn.h>
#include <node_version.h>

#include "addon.h"

namespace forkful {

BuiltFor BuiltForNode() { return {NODE_VERSION_STRING, NODE_MAJOR_VERSION, NODE_MODULE_VERSION}; }

std::string AbiMismatch(Napi::Env env) {
  const napi_node_version* running = nullptr;
  if (napi_get_node_version(env, &running) != napi_ok || running == nullptr) {
    return "Node-API could not tell which Node runs this process";
  }
  if (static_cast<int>(running->major) == NODE_MAJOR_VERSION) return "";
  return "forkful's native addon was built for Node " NODE_VERSION_STRING
         " (ABI " NODE_STRINGIFY(NODE_MODULE_VERSION) ") but this is Node " +
         std::to_string(running->major) + "." + std::to_string(running->minor) + "." +
         std::to_string(running->patch);
}

namespace {

enum class TimerLookup { kSymbol, kFirstTimer, kMissing };

// Node's RunTimers, when the node binary exports its symbols (official
// builds and libnode do: they are linked with -rdynamic). Looked up when the
// addon loads (Init), not at first use: that is in a forked child (a
// Process child's timer repair), which would search Node's symbol table
// again in every child (page faults in its hash and string tables).
void* RunTimersSymbol() {
  static void* sym = dlsym(RTLD_DEFAULT, "_ZN4node11Environment9RunTimersEP10uv_timer_s");
  return sym;
}

struct TimerSearch {
  void* run_timers;
  uv_timer_t* by_symbol = nullptr;
  uv_timer_t* first = nullptr;
};

TimerLookup FindTimer(uv_loop_t* loop, uv_timer_t** out) {
  TimerSearch search{RunTimersSymbol()};
  uv_walk(
      loop,
      [](uv_handle_t* h, void* arg) {
        auto* s = static_cast<TimerSearch*>(arg);
        if (h->type != UV_TIMER) return;
        auto* timer = reinterpret_cast<uv_timer_t*>(h);
        if (s->first == nullptr) s->first = timer;
        if (s->run_timers != nullptr && s->by_symbol == nullptr &&
            reinterpret_cast<void*>(timer->timer_cb) == s->run_timers) {
          s->by_symbol = timer;
        }
      },
      &search);
  if (search.by_symbol != nullptr) {
    *out = search.by_symbol;
    return TimerLookup::kSymbol;
  }
  *out = search.first;
  if (search.run_timers == nullptr && search.first != nullptr) return TimerLookup::kFirstTimer;
  return TimerLookup::kMissing;
}

// nodeInternals() -> { builtFor: { version, major, abi }, timerHandle:
// 'symbol' | 'first-timer' | 'missing' }
Napi::Value NodeInternals(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  BuiltFor built = BuiltForNode();
  Napi::Object b = Napi::Object::New(env);
  b.Set("version", built.version);
  b.Set("major", built.major);
  b.Set("abi", built.abi);
  out.Set("builtFor", b);
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) ThrowTyped(env, "OSError", "no event loop");
  uv_timer_t* timer = nullptr;
  TimerLookup how = FindTimer(loop, &timer);
  out.Set("timerHandle", how == TimerLookup::kSymbol       ? "symbol"
                         : how == TimerLookup::kFirstTimer ? "first-timer"
                                                           : "missing");
  return out;
}

// fatalExceptionHandled(error): hands `error` to Node's uncaught-exception
// path (process._fatalException), as a throw from a callback would. Node
// empties its async id stack there once a listener handled the error: the
// public way to leave the stack of an abandoned callback clean.
Napi::Value FatalException(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (napi_fatal_exception(env, info[0]) != napi_ok) {
    ThrowTyped(env, "RuntimeError", "napi_fatal_exception failed");
  }
  return env.Undefined();
}

// nodeProcess() -> the process object of Node's main context. Code run in a
// vm context (jest's test environment) sees a copy as `process`, on which
// Node never emits and whose reallyExit Node never calls.
Napi::Value NodeProcess(const Napi::CallbackInfo& info) {
  return info.Env().Global().Get("process");
}

void Init(Napi::Env env, Napi::Object exports) {
  RunTimersSymbol();
  exports.Set("nodeInternals", Napi::Function::New(env, NodeInternals));
  exports.Set("nodeProcess", Napi::Function::New(env, NodeProcess));
  exports.Set("fatalException", Napi::Function::New(env, FatalException));
}

const Registration reg{"node_internals", Init};

}  // namespace

uv_timer_t* NodeTimerHandle(uv_loop_t* loop) {
  uv_timer_t* timer = nullptr;
  FindTimer(loop, &timer);
  return timer;
}

void RearmNodeTimers(uv_loop_t* loop) {
  uv_timer_t* timer = NodeTimerHandle(loop);
  if (timer == nullptr || timer->timer_cb == nullptr) return;
  auto* handle = reinterpret_cast<uv_handle_t*>(timer);
  if (!uv_is_active(handle)) uv_timer_start(timer, timer->timer_cb, 1, 0);
  // Node refs the handle only when its count of referenced timers leaves
  // zero, and the abandoned timer was never counted down: keep the loop for
  // it until Node's own timer run sets the handle's state again.
  uv_ref(handle);
}

}  // namespace forkful
