// The shared arena: one MAP_SHARED memfd mapping per process tree, inherited
// by forks, reachable from every thread (the addon is loaded once per
// process), attachable by spawned children through /proc/<pid>/fd/<n>.
// Objects live in reference-counted blocks addressed by offset (a handle).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace forkful {
namespace arena {

constexpr uint32_t kMagic = 0x52414b46;  // "FKAR"
constexpr uint32_t kVersion = 3;
constexpr size_t kHeaderBytes = 32768;
constexpr size_t kBlockHeader = 16;
constexpr size_t kMinBlock = 64;
constexpr int kClasses = 40;
constexpr int kProcSlots = 1024;

// One process that holds references on blocks. Its ledger (a block of
// u64 count + u64 offsets) lists them, so that when the process dies without
// dropping them (SIGKILL, SIGTERM) a survivor can drop them instead.
struct ProcSlot {
  std::atomic<int32_t> state;  // kSlotFree, kSlotLive, kSlotReclaiming
  std::atomic<int32_t> pid;
  std::atomic<uint64_t> ledger;
  uint64_t reserved;
};
constexpr int32_t kSlotFree = 0;
constexpr int32_t kSlotLive = 1;
constexpr int32_t kSlotReclaiming = 2;

struct Header {
  uint32_t magic;
  uint32_t version;
  uint64_t size;
  uint64_t id;
  std::atomic<uint64_t> bump;    // first never-used offset
  std::atomic<int32_t> lock;     // guards the free lists (a robust lock word)
  uint32_t last_gen;             // the generation given to the newest block
  std::atomic<int64_t> live;     // blocks allocated and not yet freed
  uint64_t free_head[kClasses];  // per size class, 0 = empty
  ProcSlot procs[kProcSlots];
};

struct Block {
  std::atomic<int32_t> refs;  // holding (process, thread) environments
  std::atomic<uint32_t> gen;  // incarnation: bumped at every free
  int32_t size_class;
  int32_t kind;
};

static_assert(sizeof(Header) <= kHeaderBytes, "arena header too large");
static_assert(sizeof(Block) == kBlockHeader, "block header is 16 bytes");

}  // namespace arena
}  // namespace forkful

namespace forkful {
namespace arena {

// The mapping of this process, or nullptr before create/attach.
char* Base();
size_t Size();

}  // namespace arena
}  // namespace forkful
