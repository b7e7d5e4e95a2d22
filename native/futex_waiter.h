// Pending async waits on arena words (Lock.acquireAsync, Semaphore and
// Condition/Event waits) served by a few shared waiter threads instead of a
// thread each: a waiter thread sleeps on up to 127 words at once with
// futex_waitv (Linux 5.16+), plus a private wake word of its own, and
// settles each wait's Promise on the thread of the environment that asked.
#pragma once

#include <napi.h>

#include <atomic>
#include <cstdint>

#include "sync.h"

namespace forkful {
namespace sync {

enum class WaitKind { kLock, kSem, kFutex };

// True when async waits share waiter threads: futex_waitv works here and
// FORKFUL_FUTEX_WAITV is not "0". Decided once, at load.
bool SharedWaitersAvailable();

// Starts an async wait and returns its Promise, settled with the number the
// blocking twin returns (LockAcquire, SemAcquire, FutexWaitFor). `value` is
// the owner tid (kLock), unused (kSem) or the expected word (kFutex);
// `ticket` (0: none) names it to CancelSharedWait.
Napi::Value StartSharedWait(Napi::Env env, WaitKind kind, std::atomic<int32_t>* word, int32_t value,
                            const Deadline& deadline, uint32_t ticket);

// Cancels the calling environment's wait `ticket`: a pending one ends now
// (its Promise settles with 0, "timed out"); one that ended but whose result
// has not reached JavaScript yet gives back what it took (a lock, a
// semaphore unit) and settles with 0 too. On return the wait holds nothing.
// False when no such wait is left (its Promise has settled).
bool CancelSharedWait(uint32_t ticket);

// fork(): the waiter threads are parked outside their critical sections
// (their lock is held) across fork(); the parent lets them go on; the
// child, which has none of them, forgets every pending wait (they are the
// parent's) and gives `env` a fresh delivery handle. Idempotent in a child.
void SharedWaitersBeforeFork();
void SharedWaitersAfterForkParent();
void SharedWaitersAfterForkChild(napi_env env);

// { mode, waiterThreads, pendingWaits, slots }: diagnostics and tests.
Napi::Value SharedWaitersInfo(Napi::Env env);

}  // namespace sync
}  // namespace forkful
