// Shared between the concerns whose native callbacks may see a forked
// Process child abandon the parent's stack (see process.cc).
#pragma once

#include <napi.h>

namespace forkful {

// True from abandonStack() until the child's target starts: a JS exception
// that surfaces in a native callback meanwhile is that termination.
bool AbandoningStack();

// Reports an exception caught around a MakeCallback of a uv callback: the
// stack abandonment passes silently, anything else is uncaught.
void ReportCallbackError(Napi::Env env, napi_value error);

}  // namespace forkful
