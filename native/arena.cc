// The shared arena (see arena.h): creation, attachment by name, a
// SharedArrayBuffer over it for each JS thread, and reference-counted
// blocks. Rules:
//  - a block's `refs` counts the processes that hold at least one object on
//    it (inside a process, the JS environments holding it are counted in
//    native memory);
//  - each such process lists its references in a ledger in the arena; when
//    it exits normally it drops them, and when it dies without doing so
//    (SIGKILL, SIGTERM) a survivor that allocates later drops them for it;
//  - a forked child takes its own reference on every block its copy of the
//    heap holds, right after the fork;
//  - a handle carries the block's generation, so a stale handle can never
//    adopt a block that was freed and reused.
#if defined(__linux__)

#include "arena.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <v8.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "addon.h"
#include "fd.h"
#include "sync.h"

namespace forkful {
namespace arena {
namespace {

constexpr size_t kDefaultSize = 64u << 20;

std::mutex g_mu;  // creation / attachment
std::atomic<char*> g_base{nullptr};
size_t g_size = 0;
int g_fd = -1;

Header* Head() { return reinterpret_cast<Header*>(g_base.load()); }

Block* BlockAt(uint64_t offset) { return reinterpret_cast<Block*>(g_base.load() + offset); }

class ArenaLock {
 public:
  ArenaLock() : word_(&Head()->lock) {
    int32_t expected = 0;
    if (!word_->compare_exchange_strong(expected, sync::CurrentTid())) {
      sync::LockAcquire(word_, sync::CurrentTid(), sync::Deadline{});
    }
  }
  ~ArenaLock() { sync::LockRelease(word_); }
  ArenaLock(const ArenaLock&) = delete;
  ArenaLock& operator=(const ArenaLock&) = delete;

 private:
  std::atomic<int32_t>* word_;
};

std::string IdHex(uint64_t id) {
  char buf[17];
  snprintf(buf, sizeof buf, "%016" PRIx64, id);
  return buf;
}

void Create(Napi::Env env) {
  size_t size = kDefaultSize;
  if (const char* wanted = getenv("FORKFUL_ARENA_SIZE")) {
    // The arena is one SharedArrayBuffer with an Int32Array over it: V8
    // caps a typed array at 2^32 - 1 elements, so 8 GiB is the bound.
    char* end = nullptr;
    errno = 0;
    unsigned long long v = strtoull(wanted, &end, 10);
    if (errno != 0 || end == wanted || *end != '\0' || v < (1u << 16) || v > (1ull << 33)) {
      ThrowTyped(env, "ValueError",
                 std::string("FORKFUL_ARENA_SIZE must be a byte count between 65536 and "
                             "8589934592 (8 GiB), got '") +
                     wanted + "'");
    }
    size = (static_cast<size_t>(v) + 4095) & ~static_cast<size_t>(4095);
  }
  UniqueFd fd(static_cast<int>(memfd_create("forkful-arena", MFD_CLOEXEC)));
  if (!fd.valid()) ThrowErrno(env, "memfd_create");
  // A memfd is created with mode 0777: only this user may open it (through
  // /proc/<pid>/fd, which the kernel already limits to processes allowed to
  // ptrace this one). See docs/synchronize.md, "Who can reach the arena".
  if (fchmod(fd.get(), S_IRUSR | S_IWUSR) != 0) ThrowErrno(env, "fchmod");
  if (ftruncate(fd.get(), static_cast<off_t>(size)) != 0) ThrowErrno(env, "ftruncate");
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) ThrowErrno(env, "mmap");
  auto* head = static_cast<Header*>(p);
  uint64_t id = 0;
  if (getrandom(&id, sizeof id, 0) != static_cast<ssize_t>(sizeof id)) {
    id = (static_cast<uint64_t>(getpid()) << 32) ^ static_cast<uint64_t>(time(nullptr));
  }
  head->magic = kMagic;
  head->version = kVersion;
  head->size = size;
  head->id = id;
  head->bump.store(kHeaderBytes);
  g_size = size;
  g_fd = fd.release();
  g_base.store(static_cast<char*>(p));
}

// ---- blocks ------------------------------------------------------------------

void PushFree(uint64_t offset, int c);

// Drops one process-reference on a block; frees it at zero.
void DecRef(uint64_t offset) {
  Block* b = BlockAt(offset);
  if (b->refs.fetch_sub(1) != 1) return;
  ArenaLock lock;
  b->gen.fetch_add(1);
  PushFree(offset, b->size_class);
  Head()->live.fetch_sub(1);
}

// Takes a reference on a block that is alive and still generation `gen`.
bool TryIncRef(uint64_t offset, uint32_t gen) {
  Block* b = BlockAt(offset);
  if (b->gen.load() != gen) return false;
  int32_t r = b->refs.load();
  do {
    if (r <= 0) return false;
  } while (!b->refs.compare_exchange_weak(r, r + 1));
  if (b->gen.load() != gen) {  // freed and reused between the two loads
    DecRef(offset);
    return false;
  }
  return true;
}

// The allocator (under the arena lock): power-of-two size classes from 64
// bytes, a free list per class, and a bump pointer over never-used space.
// A class with no free block splits a larger free block; when nothing fits,
// Coalesce() merges adjacent free blocks of any class, gives a free run at
// the top back to the bump space, and carves the other runs into the
// largest blocks they hold. Every block allocated gets a generation no block
// had before (head->last_gen), so a stale handle never adopts a new block.

size_t ClassBytes(int c) { return kMinBlock << c; }

// Blocks are aligned to their size (up to a page) so views never straddle.
uint64_t ClassAlign(int c) { return ClassBytes(c) < 4096 ? ClassBytes(c) : 4096; }

void PushFree(uint64_t offset, int c) {
  Header* head = Head();
  Block* b = BlockAt(offset);
  b->size_class = c;
  b->refs.store(0);
  memcpy(reinterpret_cast<char*>(b) + kBlockHeader, &head->free_head[c], sizeof(uint64_t));
  head->free_head[c] = offset;
}

uint64_t PopFree(int c) {
  Header* head = Head();
  uint64_t offset = head->free_head[c];
  if (offset == 0) return 0;
  memcpy(&head->free_head[c], reinterpret_cast<char*>(BlockAt(offset)) + kBlockHeader,
         sizeof(uint64_t));
  return offset;
}

// A free block of class c: from its list, else split from a larger one.
uint64_t TakeFree(int c) {
  if (uint64_t offset = PopFree(c)) return offset;
  for (int big = c + 1; big < kClasses; big++) {
    uint64_t offset = PopFree(big);
    if (offset == 0) continue;
    // Halve it down to class c: the upper halves go to their lists.
    for (int k = big - 1; k >= c; k--) PushFree(offset + ClassBytes(k), k);
    return offset;
  }
  return 0;
}

uint64_t TakeBump(int c) {
  Header* head = Head();
  uint64_t align = ClassAlign(c);
  uint64_t at = (head->bump.load() + align - 1) & ~(align - 1);
  if (at + ClassBytes(c) > g_size) return 0;
  // Space skipped for alignment is not lost: it becomes free blocks.
  for (uint64_t gap = head->bump.load(); gap < at;) {
    int k = 0;
    while (k + 1 < kClasses && gap % ClassAlign(k + 1) == 0 && gap + ClassBytes(k + 1) <= at) k++;
    PushFree(gap, k);
    gap += ClassBytes(k);
  }
  head->bump.store(at + ClassBytes(c));
  return at;
}

// Merges free blocks (see above). Returns true when anything changed.
bool Coalesce() {
  Header* head = Head();
  std::vector<std::pair<uint64_t, uint64_t>> free;  // [start, end)
  for (int c = 0; c < kClasses; c++) {
    for (uint64_t offset = PopFree(c); offset != 0; offset = PopFree(c)) {
      free.emplace_back(offset, offset + ClassBytes(c));
    }
  }
  if (free.empty()) return false;
  std::sort(free.begin(), free.end());
  std::vector<std::pair<uint64_t, uint64_t>> runs;
  for (auto& [start, end] : free) {
    if (!runs.empty() && runs.back().second == start) {
      runs.back().second = end;
    } else {
      runs.emplace_back(start, end);
    }
  }
  bool changed = runs.size() < free.size();
  if (runs.back().second == head->bump.load()) {
    // The top run returns to the bump space, its pages to the kernel.
    uint64_t start = runs.back().first;
    runs.pop_back();
    char* base = g_base.load();
    uint64_t page_start = (start + 4095) & ~uint64_t{4095};
    uint64_t end = head->bump.load();
    if (page_start < end) {
      uint64_t page_end = end & ~uint64_t{4095};
      if (page_end > page_start) {
        if (madvise(base + page_start, page_end - page_start, MADV_REMOVE) != 0) {
          memset(base + page_start, 0, page_end - page_start);
        }
      }
      if (end > page_end && page_end >= page_start) memset(base + page_end, 0, end - page_end);
    }
    memset(base + start, 0, std::min(page_start, end) - start);
    head->bump.store(start);
    changed = true;
  }
  for (auto& [start, end] : runs) {
    for (uint64_t at = start; at < end;) {
      int k = 0;
      while (k + 1 < kClasses && at % ClassAlign(k + 1) == 0 && at + ClassBytes(k + 1) <= end) k++;
      PushFree(at, k);
      at += ClassBytes(k);
    }
  }
  return changed;
}

// A new block of `bytes` payload bytes with one reference; 0 when full.
uint64_t AllocBlock(int32_t kind, size_t bytes) {
  size_t need = bytes + kBlockHeader;
  int c = 0;
  while (c < kClasses && ClassBytes(c) < need) c++;
  if (c == kClasses) return 0;
  Header* head = Head();
  ArenaLock lock;
  bool fresh = false;
  uint64_t offset = TakeFree(c);
  if (offset == 0) {
    offset = TakeBump(c);
    fresh = offset != 0;
  }
  if (offset == 0 && Coalesce()) {
    offset = TakeFree(c);
    if (offset == 0) {
      offset = TakeBump(c);
      fresh = offset != 0;
    }
  }
  if (offset == 0) return 0;
  char* raw = reinterpret_cast<char*>(BlockAt(offset));
  // Never-used space is zero already (and untouched pages stay untouched).
  if (!fresh) memset(raw + kBlockHeader, 0, ClassBytes(c) - kBlockHeader);
  Block* b = BlockAt(offset);
  b->size_class = c;
  b->kind = kind;
  if (++head->last_gen == 0) head->last_gen = 1;
  b->gen.store(head->last_gen);
  b->refs.store(1);
  head->live.fetch_add(1);
  return offset;
}

constexpr int32_t kLedgerKind = 100;
constexpr uint32_t kNoIndex = UINT32_MAX;

// ---- holds: which blocks this process, and each of its JS environments,
// references. Everything below runs with g_holds_mu held unless noted. ------

struct Hold {
  uint32_t gen;
  int count;  // objects of one environment on the block
};
using Holds = std::unordered_map<uint64_t, Hold>;

struct ProcHold {
  uint32_t gen;
  int envs;        // environments of this process holding the block
  uint32_t index;  // its entry in the ledger, or kNoIndex
};

std::mutex g_holds_mu;
std::unordered_map<napi_env, Holds>& AllHolds() {
  static auto* all = new std::unordered_map<napi_env, Holds>();
  return *all;
}
std::unordered_map<uint64_t, ProcHold>& ProcHolds() {
  static auto* all = new std::unordered_map<uint64_t, ProcHold>();
  return *all;
}
int g_slot = -1;           // this process's slot in the table, -1 = none yet
bool g_slot_full = false;  // the table was full: no ledger for this process
uint64_t g_ledger = 0;     // this process's ledger block

uint64_t* LedgerWords(uint64_t ledger) {
  return reinterpret_cast<uint64_t*>(g_base.load() + ledger + kBlockHeader);
}
uint64_t LedgerCapacity(uint64_t ledger) {
  return ((kMinBlock << BlockAt(ledger)->size_class) - kBlockHeader) / 8 - 1;
}

bool RegisterSelf() {
  if (g_slot >= 0) return true;
  if (g_slot_full) return false;
  Header* head = Head();
  for (int i = 0; i < kProcSlots; i++) {
    int32_t expected = kSlotFree;
    if (head->procs[i].state.compare_exchange_strong(expected, kSlotLive)) {
      head->procs[i].pid.store(getpid());
      head->procs[i].ledger.store(0);
      g_slot = i;
      g_ledger = 0;
      return true;
    }
  }
  g_slot_full = true;  // leaks on a violent death, as before ledgers
  return false;
}

// Records a reference this process took; returns its ledger index.
uint32_t LedgerAdd(uint64_t offset) {
  if (!RegisterSelf()) return kNoIndex;
  uint64_t count = g_ledger != 0 ? LedgerWords(g_ledger)[0] : 0;
  if (g_ledger == 0 || count == LedgerCapacity(g_ledger)) {
    uint64_t bigger = AllocBlock(kLedgerKind, (2 * count + 15) * 8);
    if (bigger == 0) return kNoIndex;
    if (count != 0) memcpy(LedgerWords(bigger), LedgerWords(g_ledger), (count + 1) * 8);
    uint64_t old = g_ledger;
    g_ledger = bigger;
    Head()->procs[g_slot].ledger.store(bigger);
    if (old != 0) DecRef(old);
  }
  uint64_t* words = LedgerWords(g_ledger);
  words[1 + count] = offset;
  words[0] = count + 1;
  return static_cast<uint32_t>(count);
}

void LedgerRemove(uint32_t index) {
  if (index == kNoIndex || g_ledger == 0) return;
  uint64_t* words = LedgerWords(g_ledger);
  uint64_t last = words[0] - 1;
  if (index != last) {
    uint64_t moved = words[1 + last];
    words[1 + index] = moved;
    auto it = ProcHolds().find(moved);
    if (it != ProcHolds().end()) it->second.index = index;
  }
  words[0] = last;
}

// This process holds one more environment-reference on a block it already
// has a counted reference on (fresh: just allocated, or just incref'd).
void ProcTakeCounted(uint64_t offset, uint32_t gen) {
  ProcHolds()[offset] = ProcHold{gen, 1, LedgerAdd(offset)};
}

// One environment of this process stops holding the block.
void ProcDrop(uint64_t offset) {
  auto it = ProcHolds().find(offset);
  if (it == ProcHolds().end()) return;
  if (--it->second.envs > 0) return;
  // Ledger first: dying between the two leaks a reference, never drops one twice.
  LedgerRemove(it->second.index);
  ProcHolds().erase(it);
  DecRef(offset);
}

void ReleaseEnvLocked(napi_env env) {
  auto it = AllHolds().find(env);
  if (it == AllHolds().end()) return;
  Holds mine;
  mine.swap(it->second);
  for (auto& [offset, hold] : mine) ProcDrop(offset);
}

void CleanupHook(void* arg) {
  auto env = static_cast<napi_env>(arg);
  std::lock_guard<std::mutex> lock(g_holds_mu);
  if (g_base.load() != nullptr) ReleaseEnvLocked(env);
  AllHolds().erase(env);
}

// The holds of `env`, registering the cleanup hook on first use.
Holds& HoldsOf(Napi::Env env) {
  auto& all = AllHolds();
  auto it = all.find(env);
  if (it != all.end()) return it->second;
  napi_add_env_cleanup_hook(env, CleanupHook, static_cast<napi_env>(env));
  return all[env];
}

// ---- reclaiming the references of processes that died -------------------------

double g_last_sweep = 0;

double NowSeconds() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// Drops the references of every registered process that no longer exists
// (at most every 100 ms unless forced). A reused pid looks alive: its
// references then wait for that process too (a delay, never a double drop).
void Sweep(bool force) {
  double now = NowSeconds();
  if (!force && now - g_last_sweep < 0.1) return;
  g_last_sweep = now;
  Header* head = Head();
  pid_t self = getpid();
  for (int i = 0; i < kProcSlots; i++) {
    ProcSlot& slot = head->procs[i];
    if (slot.state.load() != kSlotLive) continue;
    pid_t pid = slot.pid.load();
    if (pid == self || pid == 0) continue;
    if (kill(pid, 0) == 0 || errno != ESRCH) continue;
    int32_t expected = kSlotLive;
    if (!slot.state.compare_exchange_strong(expected, kSlotReclaiming)) continue;
    uint64_t ledger = slot.ledger.load();
    if (ledger != 0) {
      uint64_t* words = LedgerWords(ledger);
      for (uint64_t k = 0; k < words[0]; k++) DecRef(words[1 + k]);
      DecRef(ledger);
    }
    slot.ledger.store(0);
    slot.pid.store(0);
    slot.state.store(kSlotFree);
  }
}

// This process drops everything and leaves the table (it is about to exit).
void LeaveLocked() {
  for (auto& [env, holds] : AllHolds()) holds.clear();
  for (auto& [offset, hold] : ProcHolds()) {
    (void)hold;
    DecRef(offset);
  }
  ProcHolds().clear();
  if (g_slot >= 0) {
    ProcSlot& slot = Head()->procs[g_slot];
    slot.ledger.store(0);
    if (g_ledger != 0) DecRef(g_ledger);
    g_ledger = 0;
    slot.pid.store(0);
    slot.state.store(kSlotFree);
    g_slot = -1;
  }
}

void RequireArena(Napi::Env env) {
  if (g_base.load() == nullptr) {
    ThrowTyped(env, "RuntimeError", "forkful's shared arena is not set up (call arenaInit)");
  }
}

uint64_t OffsetArg(const Napi::CallbackInfo& info, size_t i) {
  double off = ArgNumber(info, i, "offset");
  if (!(off >= kHeaderBytes) || off >= static_cast<double>(g_size) ||
      off != static_cast<double>(static_cast<uint64_t>(off)) ||
      static_cast<uint64_t>(off) % kMinBlock != 0) {
    throw Napi::RangeError::New(info.Env(), "not a block of the shared arena");
  }
  return static_cast<uint64_t>(off);
}

// ---- JS bindings -------------------------------------------------------------

Napi::Object Describe(Napi::Env env) {
  Header* head = Head();
  Napi::Object out = Napi::Object::New(env);
  out.Set("id", Napi::String::New(env, IdHex(head->id)));
  out.Set("size", Napi::Number::New(env, static_cast<double>(head->size)));
  out.Set("bump", Napi::Number::New(env, static_cast<double>(head->bump.load())));
  out.Set("live", Napi::Number::New(env, static_cast<double>(head->live.load())));
  out.Set("path", Napi::String::New(
                      env, "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(g_fd)));
  return out;
}

// arenaInit() -> { id, size, bump, live, path }: creates the arena once.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_base.load() == nullptr) Create(env);
  }
  return Describe(env);
}

// arenaInfo() -> the same, or null before the arena exists.
Napi::Value Info(const Napi::CallbackInfo& info) {
  if (g_base.load() == nullptr) return info.Env().Null();
  return Describe(info.Env());
}

// arenaAttach(path, idHex) -> info: maps another process's arena, when this
// process has none yet. Throws OSError / ValueError on a bad name.
Napi::Value Attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsString()) {
    throw Napi::TypeError::New(env, "arenaAttach(path, id) takes two strings");
  }
  std::string path = info[0].As<Napi::String>();
  std::string id = info[1].As<Napi::String>();
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_base.load() != nullptr) {
    if (IdHex(Head()->id) != id) {
      ThrowTyped(env, "RuntimeError", "this process already uses another forkful arena");
    }
    return Describe(env);
  }
  UniqueFd fd(open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) ThrowErrno(env, "open forkful arena");
  struct stat st;
  if (fstat(fd.get(), &st) != 0) ThrowErrno(env, "fstat");
  auto size = static_cast<size_t>(st.st_size);
  if (size < kHeaderBytes) ThrowTyped(env, "ValueError", path + " is not a forkful arena");
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) ThrowErrno(env, "mmap");
  auto* head = static_cast<Header*>(p);
  if (head->magic != kMagic || head->version != kVersion || head->size != size ||
      IdHex(head->id) != id) {
    munmap(p, size);
    ThrowTyped(env, "ValueError", path + " is not the forkful arena " + id);
  }
  g_size = size;
  g_fd = fd.release();
  g_base.store(static_cast<char*>(p));
  return Describe(env);
}

// The one BackingStore over the arena, shared by every thread's buffer, as a
// SharedArrayBuffer sent to a Worker shares its sender's: V8's Atomics.wait
// and Atomics.notify on memory seen through two BackingStores of the same
// address abort the process (free(): invalid pointer in FutexEmulation::Wake,
// Node 20). Never destroyed (no static destructor runs V8 code at exit); a
// forked child inherits it with the mapping, at the same address.
std::shared_ptr<v8::BackingStore>* g_store = nullptr;

// arenaBuffer() -> a SharedArrayBuffer over the whole arena, for this thread.
// V8 may run the (empty) deleter after the environment that made the buffer
// is gone, even after the last one that loaded this addon: the addon is
// linked -z nodelete (binding.gyp) so that its code is still mapped then.
Napi::Value Buffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArena(env);
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::shared_ptr<v8::BackingStore> store;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_store == nullptr || (*g_store)->Data() != g_base.load()) {
      g_store = new std::shared_ptr<v8::BackingStore>(v8::SharedArrayBuffer::NewBackingStore(
          g_base.load(), g_size, [](void*, size_t, void*) {}, nullptr));
    }
    store = *g_store;
  }
  v8::Local<v8::SharedArrayBuffer> sab = v8::SharedArrayBuffer::New(isolate, store);
  // A napi_value is a v8::Local's slot (node's v8impl::JsValueFromV8LocalValue).
  v8::Local<v8::Value> value = sab;
  return Napi::Value(env, reinterpret_cast<napi_value>(*value));
}

// arenaAlloc(kind, bytes) -> [offset, gen]: a zeroed block held by this env.
Napi::Value Alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArena(env);
  int32_t kind = ArgInt32(info, 0, "kind");
  double bytes = ArgNumber(info, 1, "bytes");
  if (!(bytes >= 0) || bytes > static_cast<double>(g_size)) {
    ThrowTyped(env, "ValueError",
               "cannot allocate " + std::to_string(bytes) + " bytes in forkful's shared arena of " +
                   std::to_string(g_size) + " bytes");
  }
  std::lock_guard<std::mutex> lock(g_holds_mu);
  Sweep(false);
  uint64_t offset = AllocBlock(kind, static_cast<size_t>(bytes));
  if (offset == 0) {
    Sweep(true);
    offset = AllocBlock(kind, static_cast<size_t>(bytes));
  }
  if (offset == 0) {
    ThrowTyped(env, "RuntimeError",
               "forkful's shared arena is full (" + std::to_string(g_size >> 20) +
                   " MiB): free shared objects, or start the first process with a larger "
                   "FORKFUL_ARENA_SIZE (bytes)");
  }
  uint32_t gen = BlockAt(offset)->gen.load();
  ProcTakeCounted(offset, gen);
  HoldsOf(env)[offset] = Hold{gen, 1};
  return NumberPair(env, static_cast<double>(offset), gen);
}

// arenaAdopt(offset, gen, kind) -> bool: one more object of this env on the
// block; false when the block was freed (or is of another kind).
Napi::Value Adopt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArena(env);
  uint64_t offset = OffsetArg(info, 0);
  double gen_arg = ArgNumber(info, 1, "gen");
  if (!(gen_arg >= 0 && gen_arg <= static_cast<double>(UINT32_MAX)) ||
      gen_arg != static_cast<double>(static_cast<uint32_t>(gen_arg))) {
    throw Napi::RangeError::New(env, "gen must be a 32-bit unsigned integer");
  }
  auto gen = static_cast<uint32_t>(gen_arg);
  int32_t kind = ArgInt32(info, 2, "kind");
  std::lock_guard<std::mutex> lock(g_holds_mu);
  Holds& holds = HoldsOf(env);
  auto it = holds.find(offset);
  if (it != holds.end() && it->second.gen == gen) {
    it->second.count++;
    return Napi::Boolean::New(env, true);
  }
  auto proc = ProcHolds().find(offset);
  if (proc != ProcHolds().end() && proc->second.gen == gen) {
    proc->second.envs++;
  } else {
    if (!TryIncRef(offset, gen)) return Napi::Boolean::New(env, false);
    if (BlockAt(offset)->kind != kind) {
      DecRef(offset);
      return Napi::Boolean::New(env, false);
    }
    ProcTakeCounted(offset, gen);
  }
  holds[offset] = Hold{gen, 1};
  return Napi::Boolean::New(env, true);
}

// arenaRelease(offset): one object of this env on the block is gone.
Napi::Value Release(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (g_base.load() == nullptr) return env.Undefined();
  uint64_t offset = OffsetArg(info, 0);
  std::lock_guard<std::mutex> lock(g_holds_mu);
  Holds& holds = HoldsOf(env);
  auto it = holds.find(offset);
  if (it == holds.end()) return env.Undefined();
  if (--it->second.count == 0) {
    holds.erase(it);
    ProcDrop(offset);
  }
  return env.Undefined();
}

// arenaForkChild() -> offsets this child could not take a reference on
// (freed by the parent between fork() and now; their copies are dead).
Napi::Value ForkChild(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  new (&g_mu) std::mutex();
  new (&g_holds_mu) std::mutex();
  Napi::Array lost = Napi::Array::New(env);
  // The parent's slot and ledger are the parent's.
  g_slot = -1;
  g_slot_full = false;
  g_ledger = 0;
  ProcHolds().clear();
  if (g_base.load() == nullptr) return lost;
  std::lock_guard<std::mutex> lock(g_holds_mu);
  auto& all = AllHolds();
  Holds mine;
  auto it = all.find(env);
  if (it != all.end()) mine.swap(it->second);
  all.clear();  // the other environments' threads were not copied
  Holds& kept = all[env];
  uint32_t n = 0;
  for (auto& [offset, hold] : mine) {
    if (TryIncRef(offset, hold.gen)) {
      kept[offset] = hold;
      ProcTakeCounted(offset, hold.gen);
    } else {
      lost.Set(n++, Napi::Number::New(env, static_cast<double>(offset)));
    }
  }
  return lost;
}

// arenaReleaseAll(): this process drops every block and leaves the process
// table (a child about to _exit, a spawned child at exit).
Napi::Value ReleaseAll(const Napi::CallbackInfo& info) {
  if (g_base.load() == nullptr) return info.Env().Undefined();
  std::lock_guard<std::mutex> lock(g_holds_mu);
  LeaveLocked();
  return info.Env().Undefined();
}

// arenaSweep(): drops the references of dead processes now (tests).
Napi::Value SweepJs(const Napi::CallbackInfo& info) {
  if (g_base.load() == nullptr) return info.Env().Undefined();
  std::lock_guard<std::mutex> lock(g_holds_mu);
  Sweep(true);
  return info.Env().Undefined();
}

// ---- weak cells: which objects holding blocks are gone, known at once -------
// A FinalizationRegistry reports a collected object a turn later, and a
// WeakRef keeps every object made in the current job alive until the job
// ends; neither lets an allocation that found the arena full reclaim what
// the program dropped. A phantom weak v8::Global is cleared by the
// collection itself: after a full GC, its emptiness says the object is gone.
struct WeakCells {
  std::vector<v8::Global<v8::Object>> cells;
  std::vector<bool> used;
  std::vector<uint32_t> spare;
};
std::mutex g_cells_mu;
std::unordered_map<napi_env, WeakCells>& AllCells() {
  static auto* all = new std::unordered_map<napi_env, WeakCells>();
  return *all;
}

void CellsCleanupHook(void* arg) {
  std::lock_guard<std::mutex> lock(g_cells_mu);
  AllCells().erase(static_cast<napi_env>(arg));  // on the env's own thread
}

WeakCells& CellsOf(napi_env env) {
  auto& all = AllCells();
  auto it = all.find(env);
  if (it != all.end()) return it->second;
  napi_add_env_cleanup_hook(env, CellsCleanupHook, env);
  return all[env];
}

// arenaWatch(object) -> cell id: a weak watch on the object.
Napi::Value Watch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "arenaWatch(object)");
  // A napi_value is a v8::Local's slot (node's v8impl::V8LocalValueFromJsValue).
  napi_value raw = info[0];
  v8::Local<v8::Value> value;
  static_assert(sizeof(value) == sizeof(raw), "napi_value is a v8::Local");
  memcpy(static_cast<void*>(&value), &raw, sizeof raw);
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::lock_guard<std::mutex> lock(g_cells_mu);
  WeakCells& t = CellsOf(env);
  uint32_t id;
  if (!t.spare.empty()) {
    id = t.spare.back();
    t.spare.pop_back();
  } else {
    id = static_cast<uint32_t>(t.cells.size());
    t.cells.emplace_back();
    t.used.push_back(false);
  }
  t.cells[id].Reset(isolate, value.As<v8::Object>());
  t.cells[id].SetWeak();
  t.used[id] = true;
  return Napi::Number::New(env, id);
}

// arenaUnwatch(id): the cell is free again.
Napi::Value Unwatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = static_cast<uint32_t>(ArgInt32(info, 0, "id"));
  std::lock_guard<std::mutex> lock(g_cells_mu);
  WeakCells& t = CellsOf(env);
  if (id < t.cells.size() && t.used[id]) {
    t.cells[id].Reset();
    t.used[id] = false;
    t.spare.push_back(id);
  }
  return env.Undefined();
}

// arenaCollected() -> ids of the watched objects that are gone, after a
// full collection of this thread's heap now (V8's LowMemoryNotification).
Napi::Value Collected(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  v8::Isolate::GetCurrent()->LowMemoryNotification();
  std::lock_guard<std::mutex> lock(g_cells_mu);
  WeakCells& t = CellsOf(env);
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  for (uint32_t id = 0; id < t.cells.size(); id++) {
    if (t.used[id] && t.cells[id].IsEmpty()) out.Set(n++, Napi::Number::New(env, id));
  }
  return out;
}

void InitExports(Napi::Env env, Napi::Object exports) {
  exports.Set("arenaInit", Napi::Function::New(env, Init));
  exports.Set("arenaInfo", Napi::Function::New(env, Info));
  exports.Set("arenaAttach", Napi::Function::New(env, Attach));
  exports.Set("arenaBuffer", Napi::Function::New(env, Buffer));
  exports.Set("arenaAlloc", Napi::Function::New(env, Alloc));
  exports.Set("arenaAdopt", Napi::Function::New(env, Adopt));
  exports.Set("arenaRelease", Napi::Function::New(env, Release));
  exports.Set("arenaForkChild", Napi::Function::New(env, ForkChild));
  exports.Set("arenaReleaseAll", Napi::Function::New(env, ReleaseAll));
  exports.Set("arenaSweep", Napi::Function::New(env, SweepJs));
  exports.Set("arenaWatch", Napi::Function::New(env, Watch));
  exports.Set("arenaUnwatch", Napi::Function::New(env, Unwatch));
  exports.Set("arenaCollected", Napi::Function::New(env, Collected));
}

const Registration reg{"arena", InitExports};

}  // namespace

char* Base() { return g_base.load(); }
size_t Size() { return g_size; }

}  // namespace arena
}  // namespace forkful

#endif  // __linux__
