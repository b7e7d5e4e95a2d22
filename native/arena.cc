// The shared arena (see arena.h): creation, attachment by name, a
// SharedArrayBuffer over it for each JS thread, and reference-counted
// blocks. Rules:
//  - a block's `refs` counts the JS environments (the main thread or a
//    Worker, of any process) that hold at least one object on it;
//  - a forked child takes its own reference on every block its copy of the
//    heap holds, right after the fork, and drops them at exit; a child killed
//    by a signal never drops them (the blocks leak: never reused too early);
//  - a handle carries the block's generation, so a stale handle can never
//    adopt a block that was freed and reused.
#if defined(__linux__)

#include "arena.h"

#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <v8.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>

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
    unsigned long long v = strtoull(wanted, nullptr, 10);
    if (v < (1u << 16) || v > (1ull << 40)) {
      ThrowTyped(env, "ValueError",
                 "FORKFUL_ARENA_SIZE must be a byte count between 65536 and 2^40");
    }
    size = (static_cast<size_t>(v) + 4095) & ~static_cast<size_t>(4095);
  }
  UniqueFd fd(static_cast<int>(memfd_create("forkful-arena", MFD_CLOEXEC)));
  if (!fd.valid()) ThrowErrno(env, "memfd_create");
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

// ---- holds: which blocks each JS environment of this process references ----

struct Hold {
  uint32_t gen;
  int count;
};
using Holds = std::unordered_map<uint64_t, Hold>;

std::mutex g_holds_mu;
std::unordered_map<napi_env, Holds>& AllHolds() {
  static auto* all = new std::unordered_map<napi_env, Holds>();
  return *all;
}

// Drops one environment-reference on a block; frees it at zero.
void DecRef(uint64_t offset) {
  Block* b = BlockAt(offset);
  if (b->refs.fetch_sub(1) != 1) return;
  ArenaLock lock;
  Header* head = Head();
  b->gen.fetch_add(1);
  int c = b->size_class;
  memcpy(reinterpret_cast<char*>(b) + kBlockHeader, &head->free_head[c], sizeof(uint64_t));
  head->free_head[c] = offset;
  head->live.fetch_sub(1);
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

void ReleaseEnv(napi_env env) {
  Holds mine;
  {
    std::lock_guard<std::mutex> lock(g_holds_mu);
    auto it = AllHolds().find(env);
    if (it == AllHolds().end()) return;
    mine.swap(it->second);
  }
  for (auto& [offset, hold] : mine) DecRef(offset);
}

void CleanupHook(void* arg) {
  auto env = static_cast<napi_env>(arg);
  if (g_base.load() != nullptr) ReleaseEnv(env);
  std::lock_guard<std::mutex> lock(g_holds_mu);
  AllHolds().erase(env);
}

// The holds of `env`, registering the cleanup hook on first use.
// Call with g_holds_mu held.
Holds& HoldsOf(Napi::Env env) {
  auto& all = AllHolds();
  auto it = all.find(env);
  if (it != all.end()) return it->second;
  napi_add_env_cleanup_hook(env, CleanupHook, static_cast<napi_env>(env));
  return all[env];
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

// arenaBuffer() -> a SharedArrayBuffer over the whole arena, for this thread.
Napi::Value Buffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArena(env);
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::shared_ptr<v8::BackingStore> store = v8::SharedArrayBuffer::NewBackingStore(
      g_base.load(), g_size, [](void*, size_t, void*) {}, nullptr);
  v8::Local<v8::SharedArrayBuffer> sab = v8::SharedArrayBuffer::New(isolate, std::move(store));
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
  size_t need = static_cast<size_t>(bytes) + kBlockHeader;
  int c = 0;
  while ((kMinBlock << c) < need) c++;
  size_t block = kMinBlock << c;
  Header* head = Head();
  uint64_t offset = 0;
  {
    ArenaLock lock;
    if (head->free_head[c] != 0) {
      offset = head->free_head[c];
      char* b = reinterpret_cast<char*>(BlockAt(offset));
      memcpy(&head->free_head[c], b + kBlockHeader, sizeof(uint64_t));
      memset(b + kBlockHeader, 0, block - kBlockHeader);
    } else {
      // Blocks are aligned to their size (up to a page) so views never straddle.
      uint64_t align = block < 4096 ? block : 4096;
      uint64_t at = (head->bump.load() + align - 1) & ~(align - 1);
      if (at + block > g_size) {
        ThrowTyped(env, "RuntimeError",
                   "forkful's shared arena is full (" + std::to_string(g_size >> 20) +
                       " MiB): free shared objects, or start the first process with a larger "
                       "FORKFUL_ARENA_SIZE (bytes)");
      }
      head->bump.store(at + block);
      offset = at;
      BlockAt(offset)->gen.store(1);
    }
    Block* b = BlockAt(offset);
    b->size_class = c;
    b->kind = kind;
    b->refs.store(1);
    head->live.fetch_add(1);
  }
  uint32_t gen = BlockAt(offset)->gen.load();
  {
    std::lock_guard<std::mutex> lock(g_holds_mu);
    HoldsOf(env)[offset] = Hold{gen, 1};
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, static_cast<double>(offset)));
  out.Set(1u, Napi::Number::New(env, gen));
  return out;
}

// arenaAdopt(offset, gen, kind) -> bool: one more object of this env on the
// block; false when the block was freed (or is of another kind).
Napi::Value Adopt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArena(env);
  uint64_t offset = OffsetArg(info, 0);
  auto gen = static_cast<uint32_t>(ArgNumber(info, 1, "gen"));
  int32_t kind = ArgInt32(info, 2, "kind");
  std::lock_guard<std::mutex> lock(g_holds_mu);
  Holds& holds = HoldsOf(env);
  auto it = holds.find(offset);
  if (it != holds.end() && it->second.gen == gen) {
    it->second.count++;
    return Napi::Boolean::New(env, true);
  }
  if (!TryIncRef(offset, gen)) return Napi::Boolean::New(env, false);
  if (BlockAt(offset)->kind != kind) {
    DecRef(offset);
    return Napi::Boolean::New(env, false);
  }
  holds[offset] = Hold{gen, 1};
  return Napi::Boolean::New(env, true);
}

// arenaRelease(offset): one object of this env on the block is gone.
Napi::Value Release(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (g_base.load() == nullptr) return env.Undefined();
  uint64_t offset = OffsetArg(info, 0);
  bool last = false;
  {
    std::lock_guard<std::mutex> lock(g_holds_mu);
    Holds& holds = HoldsOf(env);
    auto it = holds.find(offset);
    if (it == holds.end()) return env.Undefined();
    if (--it->second.count == 0) {
      holds.erase(it);
      last = true;
    }
  }
  if (last) DecRef(offset);
  return env.Undefined();
}

// arenaForkChild() -> offsets this child could not take a reference on
// (freed by the parent between fork() and now; their copies are dead).
Napi::Value ForkChild(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  new (&g_mu) std::mutex();
  new (&g_holds_mu) std::mutex();
  Napi::Array lost = Napi::Array::New(env);
  if (g_base.load() == nullptr) return lost;
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
    } else {
      lost.Set(n++, Napi::Number::New(env, static_cast<double>(offset)));
    }
  }
  return lost;
}

// arenaReleaseAll(): this env drops every block (a child about to _exit).
Napi::Value ReleaseAll(const Napi::CallbackInfo& info) {
  if (g_base.load() != nullptr) ReleaseEnv(info.Env());
  return info.Env().Undefined();
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
}

const Registration reg{"arena", InitExports};

}  // namespace

char* Base() { return g_base.load(); }
size_t Size() { return g_size; }

}  // namespace arena
}  // namespace forkful

#endif  // __linux__
