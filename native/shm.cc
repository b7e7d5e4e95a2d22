// Python's multiprocessing.shared_memory on POSIX shared memory objects
// (shm_open under /dev/shm): open or create a named object, map it, and hand
// the mapping to JavaScript as a SharedArrayBuffer. The fd is closed once the
// object is mapped (the mapping keeps the object alive); the mapping lives as
// long as the BackingStore does, i.e. until the last JS view over it (in any
// thread) is collected, when V8 runs the deleter, which unmaps it. So no view
// can ever reach unmapped memory.
#if defined(__linux__)

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <v8.h>

#include <cstring>
#include <memory>
#include <string>

#include "addon.h"
#include "fd.h"

namespace forkful {
namespace {

// The name JS passes is already Python's `_name` (with its leading '/').
std::string NameArg(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "name must be a string");
  std::string name = info[0].As<Napi::String>();
  if (name.find('\0') != std::string::npos) {
    ThrowTyped(info.Env(), "ValueError", "embedded null character in the shared memory name");
  }
  return name;
}

// Unmaps a mapping whose SharedArrayBuffers are all gone. V8 may run it on
// any thread, after the environment that made the buffer has ended: the
// addon is linked -z nodelete (binding.gyp), so this code is still mapped.
void UnmapStore(void* data, size_t length, void*) {
  if (data != nullptr && length > 0) munmap(data, length);
}

// shmOpen(name, create, size) -> SharedArrayBuffer over the whole object.
// create: O_CREAT | O_EXCL and ftruncate(size); else the object's own size.
Napi::Value ShmOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = NameArg(info);
  bool create = info[1].ToBoolean();
  double size_arg = ArgNumber(info, 2, "size");
  if (create && !(size_arg >= 1 && size_arg <= 9007199254740991.0)) {
    ThrowTyped(env, "ValueError", "'size' must be a positive number different from zero");
  }
  int flags = O_RDWR | (create ? O_CREAT | O_EXCL : 0);
  UniqueFd fd(shm_open(name.c_str(), flags, S_IRUSR | S_IWUSR));
  if (!fd.valid()) ThrowErrno(env, "shm_open");
  // A created object that cannot be sized or mapped is unlinked again, as
  // Python's SharedMemory does (self.unlink() on OSError).
  auto fail = [&](const char* syscall) {
    int err = errno;
    if (create) shm_unlink(name.c_str());
    ThrowErrno(env, syscall, err);
  };
  if (create && ftruncate(fd.get(), static_cast<off_t>(size_arg)) != 0) fail("ftruncate");
  struct stat st;
  if (fstat(fd.get(), &st) != 0) fail("fstat");
  auto size = static_cast<size_t>(st.st_size);
  if (size == 0) ThrowTyped(env, "ValueError", "cannot mmap an empty shared memory object");
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) fail("mmap");
  std::unique_ptr<v8::BackingStore> store =
      v8::SharedArrayBuffer::NewBackingStore(p, size, UnmapStore, nullptr);
  v8::Local<v8::SharedArrayBuffer> sab =
      v8::SharedArrayBuffer::New(v8::Isolate::GetCurrent(), std::move(store));
  // A napi_value is a v8::Local's slot (node's v8impl::JsValueFromV8LocalValue).
  v8::Local<v8::Value> value = sab;
  return Napi::Value(env, reinterpret_cast<napi_value>(*value));
}

// shmUnlink(name): removes the name; mappings stay valid until unmapped.
Napi::Value ShmUnlink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = NameArg(info);
  if (shm_unlink(name.c_str()) != 0) ThrowErrno(env, "shm_unlink");
  return env.Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("shmOpen", Napi::Function::New(env, ShmOpen, "shmOpen"));
  exports.Set("shmUnlink", Napi::Function::New(env, ShmUnlink, "shmUnlink"));
}

const Registration reg{"shm", Init};

}  // namespace
}  // namespace forkful

#endif  // __linux__
