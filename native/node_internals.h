// The one place of the addon that relies on Node internals beyond Node-API
// and the documented embedder API (node.h). Each reliance is checked on the
// running Node when the addon loads, and reported by nodeInternals() so that
// lib/ can fail loudly, naming the Node version and what broke.
#pragma once

#include <napi.h>
#include <uv.h>

#include <string>

namespace forkful {

// The Node release line this binary was compiled against. The addon uses
// Node's C++ embedder API, whose ABI changes with every major: a binary is
// valid only on the line it was built for (checked by the module entry).
struct BuiltFor {
  const char* version;  // NODE_VERSION_STRING of the headers
  int major;
  int abi;  // NODE_MODULE_VERSION (process.versions.modules)
};
BuiltFor BuiltForNode();

// Empty when the running Node is the line this binary was built for; else
// why not, in words a user can act on.
std::string AbiMismatch(Napi::Env env);

// Node's own timer handle (Environment::timer_handle()): the uv_timer_t whose
// callback is node::Environment::RunTimers. Found by that symbol; where the
// binary does not export it, the first timer of the loop (Node initialises
// its timer handle before any other), which nodeInternals() reports.
uv_timer_t* NodeTimerHandle(uv_loop_t* loop);

// A stack abandoned inside a timer callback leaves Node's timer list
// believing a run is under way, so Node never re-arms its handle: arm it
// once, and Node's own timer processing puts its state right.
void RearmNodeTimers(uv_loop_t* loop);

}  // namespace forkful
