// Memory for received messages (Connection's read slabs, a Queue reader's
// large items): mappings aligned to 2 MiB that ask for transparent huge
// pages, handed to JS as ArrayBuffers, and recycled once V8 frees them.
//
// Why recycle: fresh memory is what receiving costs. Every page of a fresh
// mapping is zeroed by the kernel on first touch (on a VM, a fresh page
// can cost 2-25 us, a huge page far more), while a message's bytes cost a
// copy. Python's recv_bytes reaches its speed because glibc hands the freed
// buffer of the last message straight back. Here a message's memory can
// only be reused once V8 has freed its ArrayBuffer (JS can no longer see
// it), so the BackingStore's deleter (run by V8 at GC time, on any thread,
// with no event-loop turn needed, unlike a napi finalizer) gives the
// mapping to a process-wide pool instead of unmapping it; the next slab of
// that size comes from the pool, its pages already there.
//
// Bounds: at most kPoolMax bytes wait in the pool (the rest is unmapped),
// and what waits is MADV_FREE: the kernel may take those pages back under
// memory pressure (they are then fresh again), else they stay warm.
// Fork: a child's copy of the pool is COW-shared with the parent (a write
// would copy each page: dearer than a fresh one), so the first look from a
// new process unmaps it, and a slab freed by a process other than the one
// that mapped it is unmapped, never pooled. The pool's lock is only ever
// tried, never waited on (a deleter may run on a V8 worker thread; a lock
// held across fork() by a thread the child does not have must not hang
// it): a busy pool means a fresh mapping or an unmap, as without a pool.
#include <sys/mman.h>
#include <unistd.h>
#include <v8.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "addon.h"

namespace forkful {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;
/** The most bytes the pool keeps (V8 frees young ArrayBuffers after about
 * 64 MiB of them: a pool this large lets a steady stream reuse them all). */
constexpr size_t kPoolMax = size_t{64} << 20;

struct Slab {
  void* data;
  size_t size;
};

struct Pool {
  std::atomic<pid_t> holder{0};  // the pid holding the lock, 0 when free
  pid_t owner = 0;               // the process whose slabs these are
  std::vector<Slab> free;        // most recently freed last
  size_t bytes = 0;
  // Counts for tests and benchmarks (deterministic, unlike RSS).
  double mapped = 0, reused = 0, pooled = 0, unmapped = 0;
};

// Never destroyed: a deleter may run during or after process teardown.
Pool& ThePool() {
  static Pool* pool = new Pool();
  return *pool;
}

// Takes the pool's lock if it is free now; a holder of another pid held it
// across fork() in a thread this process does not have, so it is taken over.
bool TryLock(Pool& p, pid_t self) {
  pid_t seen = 0;
  if (p.holder.compare_exchange_strong(seen, self, std::memory_order_acquire)) return true;
  return seen != self && p.holder.compare_exchange_strong(seen, self, std::memory_order_acquire);
}

void Unlock(Pool& p) { p.holder.store(0, std::memory_order_release); }

// With the lock held: a pool inherited through fork() is the parent's
// memory, shared copy-on-write: unmapped here, never reused.
void Adopt(Pool& p, pid_t self) {
  if (p.owner == self) return;
  for (const Slab& s : p.free) munmap(s.data, s.size);
  p.unmapped += static_cast<double>(p.free.size());
  p.free.clear();
  p.bytes = 0;
  p.owner = self;
}

// A mapping of `size` bytes (a multiple of 2 MiB) aligned to 2 MiB.
void* MapSlab(size_t size) {
  // Over-map by one huge page, then give back both ends around the aligned
  // part (a failed trim only leaves address space mapped and unused).
  void* raw =
      mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
  if (aligned > start) munmap(raw, aligned - start);
  munmap(reinterpret_cast<void*>(aligned + size), start + kHugePage - aligned);
  void* data = reinterpret_cast<void*>(aligned);
#if defined(MADV_HUGEPAGE)
  madvise(data, size, MADV_HUGEPAGE);  // a hint: without it the slab still works
#endif
  return data;
}

// A slab of `size` bytes: the pool's most recent one of that size, else a
// fresh mapping (nullptr when mmap fails; errno says why).
void* TakeSlab(size_t size) {
  Pool& p = ThePool();
  pid_t self = getpid();
  if (TryLock(p, self)) {
    Adopt(p, self);
    for (size_t i = p.free.size(); i-- > 0;) {
      if (p.free[i].size != size) continue;
      void* data = p.free[i].data;
      p.free.erase(p.free.begin() + static_cast<std::ptrdiff_t>(i));
      p.bytes -= size;
      p.reused++;
      Unlock(p);
      return data;
    }
    p.mapped++;
    Unlock(p);
  }
  return MapSlab(size);
}

// The BackingStore's deleter: V8 freed the last ArrayBuffer over the slab,
// so no JS can see it. `origin`: the pid that mapped it.
void GiveSlab(void* data, size_t size, void* origin) {
  if (data == nullptr || size == 0) return;
  Pool& p = ThePool();
  pid_t self = getpid();
  if (static_cast<pid_t>(reinterpret_cast<intptr_t>(origin)) == self && TryLock(p, self)) {
    Adopt(p, self);
    if (p.bytes + size <= kPoolMax) {
#if defined(MADV_FREE)
      madvise(data, size, MADV_FREE);  // reclaimable under pressure, else kept
#endif
      p.free.push_back({data, size});
      p.bytes += size;
      p.pooled++;
      Unlock(p);
      return;
    }
    p.unmapped++;
    Unlock(p);
  }
  munmap(data, size);
}

// recvSlab(size) -> an ArrayBuffer of at least `size` bytes (a multiple of
// 2 MiB) over a slab of the pool; undefined where the embedder keeps
// ArrayBuffers in a V8 sandbox (no outside memory: plain memory then).
Napi::Value RecvSlab(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double want = ArgNumber(info, 0, "size");
  if (!(want > 0 && want <= 0x1p46)) throw Napi::RangeError::New(env, "size out of range");
#if defined(V8_ENABLE_SANDBOX)
  return env.Undefined();
#else
  size_t size = (static_cast<size_t>(want) + kHugePage - 1) & ~(kHugePage - 1);
  void* data = TakeSlab(size);
  if (data == nullptr) ThrowErrno(env, "mmap");
  void* origin = reinterpret_cast<void*>(static_cast<intptr_t>(getpid()));
  std::unique_ptr<v8::BackingStore> store =
      v8::ArrayBuffer::NewBackingStore(data, size, GiveSlab, origin);
  v8::Local<v8::ArrayBuffer> ab = v8::ArrayBuffer::New(v8::Isolate::GetCurrent(), std::move(store));
  // A napi_value is a v8::Local's slot (node's v8impl::JsValueFromV8LocalValue).
  v8::Local<v8::Value> value = ab;
  return Napi::Value(env, reinterpret_cast<napi_value>(*value));
#endif
}

// recvSlabStats() -> { mapped, reused, pooled, unmapped, poolBytes, poolSlabs }:
// slabs mapped fresh, taken from the pool, given back to it, unmapped by
// it (over its bound, or inherited through fork()); what waits in it now.
Napi::Value RecvSlabStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Pool& p = ThePool();
  pid_t self = getpid();
  Napi::Object out = Napi::Object::New(env);
  // (The lock is held only for a few instructions; a deleter on another
  // thread may hold it for a moment.)
  while (!TryLock(p, self)) {
  }
  Adopt(p, self);
  out.Set("mapped", p.mapped);
  out.Set("reused", p.reused);
  out.Set("pooled", p.pooled);
  out.Set("unmapped", p.unmapped);
  out.Set("poolBytes", static_cast<double>(p.bytes));
  out.Set("poolSlabs", static_cast<double>(p.free.size()));
  Unlock(p);
  return out;
}

// releaseSlab(arrayBuffer): detaches an ArrayBuffer of recvSlab's that its
// owner will never use again (a Queue feeder's copy, once written): its
// slab goes back to the pool now rather than at the next collection. Any
// view of it has length 0 from then on, so no JS can reach the memory when
// it serves the next slab.
Napi::Value ReleaseSlab(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer())
    throw Napi::TypeError::New(env, "arrayBuffer must be an ArrayBuffer");
  napi_status st = napi_detach_arraybuffer(env, info[0]);
  if (st != napi_ok) throw Napi::TypeError::New(env, "the ArrayBuffer cannot be detached");
  return env.Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("recvSlab", Napi::Function::New(env, RecvSlab, "recvSlab"));
  exports.Set("releaseSlab", Napi::Function::New(env, ReleaseSlab, "releaseSlab"));
  exports.Set("recvSlabStats", Napi::Function::New(env, RecvSlabStats, "recvSlabStats"));
}

const Registration reg{"recv_slabs", Init};

}  // namespace
}  // namespace forkful
