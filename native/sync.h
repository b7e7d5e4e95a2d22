// Futex-based primitives on words of the shared arena (native/arena.h).
// Every word here may be touched by several processes, so futexes are
// shared (never FUTEX_PRIVATE) and locks record their owner's tid so that a
// waiter can recover a lock whose holder died.
#pragma once

#include <time.h>

#include <atomic>
#include <cstdint>

namespace forkful {
namespace sync {

// A lock word is 0 (free) or the owner's tid, plus kWaiters when a thread
// may sleep on it (release must then wake one).
constexpr int32_t kWaiters = 1 << 30;
constexpr int32_t kTidMask = kWaiters - 1;

// Results of the blocking calls, as JS sees them.
constexpr int kTimedOut = 0;
constexpr int kAcquired = 1;
constexpr int kRecovered = 2;  // acquired from an owner that had died

// An absolute CLOCK_MONOTONIC deadline; `forever` when timeout < 0.
struct Deadline {
  bool forever = true;
  timespec at{};
  static Deadline After(double seconds);
  bool Passed() const;
};

// Sleeps while *word == expected (or until woken / deadline / slice).
// Returns 1 when woken or the word changed, 0 when `deadline` passed, 2 when
// only `slice` passed.
int FutexWaitFor(std::atomic<int32_t>* word, int32_t expected, const Deadline& deadline,
                 const Deadline* slice);
// The same, false only when the deadline passed.
bool FutexWait(std::atomic<int32_t>* word, int32_t expected, const Deadline& deadline,
               const Deadline* slice = nullptr);
void FutexWake(std::atomic<int32_t>* word, int count);

// True unless the thread `tid` is known to be gone (no /proc entry, or a
// zombie).
bool TidAlive(int32_t tid);

int32_t CurrentTid();

// The slow path of Lock.acquire: waits for the word, recovering it from a
// dead owner. Returns kTimedOut, kAcquired or kRecovered.
int LockAcquire(std::atomic<int32_t>* word, int32_t owner, const Deadline& deadline);
// Takes the word now if free or its holder died; kTimedOut otherwise.
int LockTryAcquireOrRecover(std::atomic<int32_t>* word, int32_t owner);
void LockRelease(std::atomic<int32_t>* word);

// Semaphore: `value` and, in the next word, the number of sleepers.
int SemAcquire(std::atomic<int32_t>* value, const Deadline& deadline);

}  // namespace sync
}  // namespace forkful
