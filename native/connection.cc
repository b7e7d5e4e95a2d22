// The byte transport of multiprocessing.Connection: non-blocking fds
// (socketpair for duplex, pipe for one-way), length-prefixed writes that
// block until done, reads that never block (with the fds that came, on a
// Unix socket: SCM_RIGHTS), a bounded wait for readability,
// and FdWatch, a uv_poll handle that tells the event loop when an fd is
// readable (recv() waits through it without blocking the loop).
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "addon.h"
#include "fd.h"
#include "process.h"

namespace forkful {
namespace {

// socketpair() -> [fd, fd]: AF_UNIX stream, close-on-exec, blocking (as
// Python's): a recvSync() that must wait is one blocking recvmsg, where a
// poll and a read were two system calls (a third of a ping-pong's on a VM).
// Every other read and write of a Unix socket here says MSG_DONTWAIT, so the
// event loop never blocks on one.
Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) ThrowErrno(env, "socketpair");
  UniqueFd a(fds[0]), b(fds[1]);
  // Bigger socket buffers mean fewer wake-ups for large messages; the kernel
  // caps the request at its own maximum, so failure here is harmless.
  int size = 1 << 20;
  setsockopt(a.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  setsockopt(b.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  setsockopt(a.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt(b.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  return NumberPair(env, a.release(), b.release());
}

// pipe() -> [readFd, writeFd]: non-blocking, close-on-exec.
Napi::Value NbPipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (pipe(fds) != 0) ThrowErrno(env, "pipe");
  UniqueFd r(fds[0]), w(fds[1]);
  if (!SetNonBlockCloexec(r.get()) || !SetNonBlockCloexec(w.get())) ThrowErrno(env, "fcntl");
#if defined(F_SETPIPE_SZ)
  // A larger pipe buffer (Linux) halves the wake-ups of big transfers. The
  // per-user limit may refuse it: the default size still works.
  fcntl(w.get(), F_SETPIPE_SZ, 1 << 20);
#endif
  return NumberPair(env, r.release(), w.release());
}

// pipeCapacity(fd) -> the pipe's buffer size in bytes (Linux F_GETPIPE_SZ),
// or -1 where it cannot be known. The pool sends a worker a task while it
// runs another only if the write cannot block (nbPipe's F_SETPIPE_SZ may
// have been refused: a user over the soft limit gets small pipes).
Napi::Value PipeCapacity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
#if defined(F_GETPIPE_SZ)
  int size = fcntl(fd, F_GETPIPE_SZ);
  if (size >= 0) return Napi::Number::New(env, size);
  // Linux says EBADF for an open fd that is not a pipe.
  if (errno != EBADF || fcntl(fd, F_GETFD) < 0) ThrowErrno(env, "fcntl");
  return Napi::Number::New(env, -1);
#else
  (void)fd;
  return Napi::Number::New(env, -1);
#endif
}

double NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// Waits until fd is ready for `events` or timeout_ms passed (< 0: forever).
// Returns poll's revents, or 0 on timeout; -1 with errno on failure.
int WaitFd(int fd, short events, double timeout_ms) {
  // Even a poll that only looks: `a.send(x); b.poll()` finds x, as in Python.
  FlushQueuedFrames();
  double deadline = timeout_ms < 0 ? 0 : NowMs() + timeout_ms;
  for (;;) {
    int wait = -1;
    if (timeout_ms >= 0) {
      double left = deadline - NowMs();
      wait = left <= 0 ? 0 : static_cast<int>(std::min(left + 0.999, 2147483647.0));
    }
    struct pollfd pfd = {fd, events, 0};
    int r = poll(&pfd, 1, wait);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) return 0;
    return pfd.revents;
  }
}

// The bytes of a typed array, also one over a SharedArrayBuffer (a Queue
// reads straight into its shared buffer): napi_get_typedarray_info gives
// the data of either, where napi_get_arraybuffer_info refuses a shared one.
const uint8_t* ViewData(Napi::Env env, Napi::Value v, size_t* len) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(env, "data must be a Buffer");
  Napi::TypedArray view = v.As<Napi::TypedArray>();
  void* data = nullptr;
  if (napi_get_typedarray_info(env, view, nullptr, nullptr, &data, nullptr, nullptr) != napi_ok) {
    throw Napi::Error::New(env, "could not read the typed array");
  }
  *len = view.ByteLength();
  return static_cast<const uint8_t*>(data);
}

// Arguments (view, offset, length) at info[first..first+2]: the bytes they
// name, checked to lie inside the view (NaN and negatives refused too).
std::pair<const uint8_t*, size_t> ViewSlice(const Napi::CallbackInfo& info, size_t first,
                                            const char* length_name) {
  Napi::Env env = info.Env();
  size_t cap = 0;
  const uint8_t* data = ViewData(env, info[first], &cap);
  double offset = ArgNumber(info, first + 1, "offset");
  double length = ArgNumber(info, first + 2, length_name);
  if (!(offset >= 0 && length >= 0 && offset + length <= static_cast<double>(cap))) {
    throw Napi::RangeError::New(
        env, std::string("offset and ") + length_name + " must lie inside the buffer");
  }
  return {data + static_cast<size_t>(offset), static_cast<size_t>(length)};
}

// Writes every byte of the iovecs, waiting for room when the fd is full.
// With `control` (SCM_RIGHTS: fds), the first sendmsg carries it, so the
// fds arrive with the first bytes.
void WriteAllV(Napi::Env env, int fd, struct iovec* iov, int count, void* control = nullptr,
               size_t control_len = 0) {
  while (count > 0) {
    ssize_t put;
    if (control != nullptr) {
      struct msghdr msg {};
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<size_t>(count);
      msg.msg_control = control;
      msg.msg_controllen = control_len;
      put = sendmsg(fd, &msg, MSG_NOSIGNAL);
    } else {
      put = writev(fd, iov, count);
    }
    if (put < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (WaitFd(fd, POLLOUT, -1) < 0) ThrowErrno(env, "poll");
        continue;
      }
      ThrowErrno(env, control != nullptr ? "sendmsg" : "write");
    }
    control = nullptr;  // sent with those bytes
    size_t left = static_cast<size_t>(put);
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      iov++;
      count--;
    }
    if (count > 0) {
      iov->iov_base = static_cast<uint8_t*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
}

// The header of a `len`-byte body into `header`; returns its size. Bodies
// of 2 GiB and more get the 8-byte form, as Python's (lib/transfer/framing.ts).
size_t WriteHeader(uint8_t* header, size_t len) {
  if (len <= 0x7fffffffu) {
    uint32_t n = static_cast<uint32_t>(len);
    header[0] = n >> 24;
    header[1] = n >> 16;
    header[2] = n >> 8;
    header[3] = n;
    return 4;
  }
  std::memset(header, 0xff, 4);
  uint64_t n = len;
  for (int i = 0; i < 8; i++) header[4 + i] = static_cast<uint8_t>(n >> (56 - 8 * i));
  return 12;
}

// The first send() of a loop turn writes at once (a lone message waits for
// nothing, and a peer that is gone is reported by that send, as Python
// does). The frames of the sends after it in the same turn are queued on
// this thread (one JS thread, one OS thread), written as one write when the thread next waits: at
// its event loop's next wait (a prepare handle), before any native call that blocks, forks or exits
// (FlushQueuedFrames), when a forkful primitive releases or signals (lib/core/queued-frames.ts),
// before another kind of write to the fd, and when the queue reaches kQueueMax. Only one fd has
// queued bytes at a time: a send on another fd writes them first, so all sends keep their order.
// One write per send() was about half of a sender's CPU. A write that fails
// there is kept for the fd's next send (or flush), which throws it.
constexpr size_t kQueueMax = 64 * 1024;

struct FdQueue {
  int fd;
  std::vector<uint8_t> bytes;
  int error = 0;  // errno of a failed background write, thrown by the next call
};

struct FrameQueues {
  std::vector<FdQueue> fds;
  bool any = false;  // bytes queued (on fds[last])
  size_t last = 0;
  bool wrote = false;  // a send() of this loop turn wrote at once
  bool flushing = false;
  uv_prepare_t* prepare = nullptr;  // on this thread's loop; unreferenced
};
// Allocated, not a thread_local object: the main thread's atexit flush runs
// after exit() destroyed thread_local objects. Freed when a Worker's
// environment ends.
thread_local FrameQueues* t_queues_ptr = nullptr;
FrameQueues& Queues() {
  if (t_queues_ptr == nullptr) t_queues_ptr = new FrameQueues;
  return *t_queues_ptr;
}

// Writes everything, waiting for room (as send() always did). Returns 0 or
// the errno of the failure; never throws (it runs from the loop, too).
int WriteAll(int fd, const uint8_t* data, size_t len);

FdQueue* QueueOf(int fd, bool create) {
  for (FdQueue& q : Queues().fds) {
    if (q.fd == fd) return &q;
  }
  if (!create) return nullptr;
  Queues().fds.push_back(FdQueue{fd, {}, 0});
  return &Queues().fds.back();
}

// Writes one fd's queue; a failure stays in q.error.
void FlushQueue(FdQueue& q) {
  if (q.bytes.empty()) return;
  // No nested flush while these bytes are being written (WriteAll's wait
  // for room would start one).
  FrameQueues& t = Queues();
  bool was = t.flushing;
  t.flushing = true;
  int err = WriteAll(q.fd, q.bytes.data(), q.bytes.size());
  t.flushing = was;
  q.bytes.clear();
  if (err != 0 && q.error == 0) q.error = err;
  if (q.bytes.capacity() > 4 * kQueueMax) q.bytes.shrink_to_fit();
}

// Throws (and forgets) the failure a background write of fd's frames met.
void ThrowQueueError(Napi::Env env, FdQueue* q) {
  if (q == nullptr || q->error == 0) return;
  int err = q->error;
  q->error = 0;
  ThrowErrno(env, "write", err);
}

void OnPrepare(uv_prepare_t* handle) {
  FlushQueuedFrames();
  Queues().wrote = false;  // a new turn
  uv_prepare_stop(handle);
}

// The first queued frame of a loop turn starts the prepare handle.
void WatchLoop(Napi::Env env) {
  FrameQueues& t = Queues();
  if (t.prepare == nullptr) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) ThrowTyped(env, "OSError", "no event loop");
    auto* prepare = new uv_prepare_t;
    uv_prepare_init(loop, prepare);
    uv_unref(reinterpret_cast<uv_handle_t*>(prepare));
    t.prepare = prepare;
    // The thread's environment ends (a Worker exits): write what is queued
    // and give the handle back.
    napi_add_env_cleanup_hook(
        env,
        [](void*) {
          FlushQueuedFrames();
          uv_close(reinterpret_cast<uv_handle_t*>(Queues().prepare),
                   [](uv_handle_t* h) { delete reinterpret_cast<uv_prepare_t*>(h); });
          delete t_queues_ptr;
          t_queues_ptr = nullptr;
        },
        nullptr);
    // The main thread's normal exit (process.exit, the loop's end) also
    // runs atexit handlers, on that thread.
    if (OnMainThread()) std::atexit(FlushQueuedFrames);
  }
  uv_prepare_start(t.prepare, OnPrepare);
}

}  // namespace

void FlushQueuedFrames() {
  FrameQueues* t = t_queues_ptr;
  if (t == nullptr || !t->any || t->flushing) return;
  t->any = false;
  FlushQueue(t->fds[t->last]);
}

namespace {

int WriteAll(int fd, const uint8_t* data, size_t len) {
  while (len > 0) {
    ssize_t put = write(fd, data, len);
    if (put < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (WaitFd(fd, POLLOUT, -1) < 0) return errno;
        continue;
      }
      return errno;
    }
    data += put;
    len -= static_cast<size_t>(put);
  }
  return 0;
}

// Writes fd's queued frames now (before a write of another kind, a close,
// or a transfer of the fd) and throws what a background write of them met.
void FlushFd(Napi::Env env, int fd, bool forget = false) {
  FdQueue* q = QueueOf(fd, false);
  if (q == nullptr) return;
  FlushQueue(*q);
  int err = q->error;
  q->error = 0;
  if (forget) {
    FrameQueues& t = Queues();
    size_t at = static_cast<size_t>(q - t.fds.data());
    if (t.any && t.last == at) t.any = false;  // (flushed above)
    if (t.last > at) t.last--;
    t.fds.erase(t.fds.begin() + at);
  }
  if (err != 0) ThrowErrno(env, "write", err);
}

// queueFrame(fd, body, offset, size): send()'s write, queued (see FrameQueues).
Napi::Value QueueFrame(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  auto [data, len] = ViewSlice(info, 1, "size");
  FrameQueues& t = Queues();
  FdQueue* q = QueueOf(fd, true);
  ThrowQueueError(env, q);
  uint8_t header[12];
  size_t header_len = WriteHeader(header, len);
  if (!t.any && !t.wrote) {
    struct iovec iov[2] = {{header, header_len}, {const_cast<uint8_t*>(data), len}};
    WriteAllV(env, fd, iov, len > 0 ? 2 : 1);
    t.wrote = true;
    WatchLoop(env);
    return env.Undefined();
  }
  if (t.any && &t.fds[t.last] != q) {
    FlushQueuedFrames();  // another fd's frames were sent first
    q = QueueOf(fd, true);
  }
  if (q->bytes.size() + header_len + len > kQueueMax) {
    // Full: what is queued goes first, then a large frame straight from
    // its buffer (backpressure: both block while the fd is full).
    FlushQueue(*q);
    ThrowQueueError(env, q);
    if (header_len + len > kQueueMax) {
      // One writev: a header written alone wakes the reader for its 4 bytes.
      struct iovec iov[2] = {{header, header_len}, {const_cast<uint8_t*>(data), len}};
      WriteAllV(env, fd, iov, 2);
      return env.Undefined();
    }
  }
  q->bytes.insert(q->bytes.end(), header, header + header_len);
  q->bytes.insert(q->bytes.end(), data, data + len);
  t.last = static_cast<size_t>(q - t.fds.data());
  if (!t.any) {
    t.any = true;
    WatchLoop(env);
  }
  return env.Undefined();
}

// flushFrames(fd, closing = false): writes fd's queued frames now; throws a
// failure that a background write of them met. `closing` also forgets the
// fd (its number may be reused).
Napi::Value FlushFrames(const Napi::CallbackInfo& info) {
  FlushFd(info.Env(), ArgInt32(info, 0, "fd"), info.Length() > 1 && info[1].ToBoolean());
  return info.Env().Undefined();
}

Napi::Value FlushAll(const Napi::CallbackInfo& info) {
  FlushQueuedFrames();
  return info.Env().Undefined();
}

// sendFrame(fd, body[, offset, size]): writes a 4-byte big-endian length
// (0xffffffff + 8 bytes from 2 GiB on) and the body. Blocks until all
// is written, as Python's Connection.send does.
Napi::Value SendFrame(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  size_t len = 0;
  const uint8_t* data = nullptr;
  if (info.Length() > 3) {
    std::tie(data, len) = ViewSlice(info, 1, "size");
  } else {
    data = ViewData(env, info[1], &len);
  }
  FlushFd(env, fd);  // frames send() queued go first
  uint8_t header[12];
  size_t header_len = WriteHeader(header, len);
  struct iovec iov[2] = {{header, header_len}, {const_cast<uint8_t*>(data), len}};
  WriteAllV(env, fd, iov, len > 0 ? 2 : 1);
  return env.Undefined();
}

// readInto(fd, buffer, offset, length) -> bytes read; 0 at end of file;
// -1 when nothing is there now. Never blocks on a non-blocking fd (Queue's
// pipes; Pipe()'s sockets are in blocking mode and read with recvFdsInto).
Napi::Value ReadInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  auto [view, length] = ViewSlice(info, 1, "length");
  uint8_t* data = const_cast<uint8_t*>(view);  // the caller's buffer, to fill
  ssize_t got;
  do {
    got = read(fd, data, length);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    if (errno == ECONNRESET) return Napi::Number::New(env, 0);  // peer gone: end of data
    ThrowErrno(env, "read");
  }
  return Napi::Number::New(env, static_cast<double>(got));
}

// ---- fds over Unix sockets (SCM_RIGHTS): what carries a Connection or a
// Queue inside a message to a process that is already running, and
// reduction.sendHandle/recvHandle. Received fds are owned (closed) here
// until JS holds them; a truncated control message (MSG_CTRUNC: the
// receiver ran out of fds) is marked, and the message it came with fails
// to decode, never silently short of its fds.

// Linux's SCM_MAX_FD: the most fds one message can carry.
constexpr size_t kMaxFds = 253;

std::vector<int> FdList(const Napi::CallbackInfo& info, size_t i) {
  Napi::Env env = info.Env();
  if (!info[i].IsArray()) throw Napi::TypeError::New(env, "fds must be an array of numbers");
  Napi::Array arr = info[i].As<Napi::Array>();
  if (arr.Length() == 0 || arr.Length() > kMaxFds) {
    ThrowTyped(env, "ValueError",
               "a message carries 1 to " + std::to_string(kMaxFds) + " file descriptors, not " +
                   std::to_string(arr.Length()));
  }
  std::vector<int> fds;
  for (uint32_t k = 0; k < arr.Length(); k++) {
    Napi::Value v = arr.Get(k);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d <= 2147483647.0) || d != static_cast<double>(static_cast<int>(d))) {
      throw Napi::TypeError::New(env, "each fd must be a non-negative integer");
    }
    fds.push_back(static_cast<int>(d));
  }
  return fds;
}

// sendFds(fd, bytes, fds, framed): writes `bytes` (framed: behind
// Connection's length header) with `fds` attached; blocks until written,
// as sendFrame, after the frames send() queued.
Napi::Value SendFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  size_t len = 0;
  const uint8_t* data = ViewData(env, info[1], &len);
  std::vector<int> fds = FdList(info, 2);
  bool framed = info[3].ToBoolean();
  if (!framed && len == 0) throw Napi::RangeError::New(env, "fds travel with at least one byte");
  uint8_t header[12];
  size_t header_len = framed ? WriteHeader(header, len) : 0;
  std::vector<uint8_t> control(CMSG_SPACE(sizeof(int) * fds.size()), 0);
  struct cmsghdr* cm = reinterpret_cast<struct cmsghdr*>(control.data());
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  std::memcpy(CMSG_DATA(cm), fds.data(), sizeof(int) * fds.size());
  struct iovec iov[2];
  int count = 0;
  if (header_len > 0) iov[count++] = {header, header_len};
  if (len > 0) iov[count++] = {const_cast<uint8_t*>(data), len};
  FlushFd(env, fd);  // frames send() queued go first
  WriteAllV(env, fd, iov, count, control.data(), control.size());
  return env.Undefined();
}

// recvFdsInto(fd, buffer, offset, length, fds, block = false) -> bytes read
// (0 at end of data, -1 when nothing is there now); the fds that came with
// them (close-on-exec) are pushed onto the array `fds`, then -1 if some were
// lost (MSG_CTRUNC). Never blocks, unless `block`: then it waits for bytes
// if the socket is in blocking mode (after writing the frames send() queued,
// as every wait does), and returns -1 at once if it is not.
Napi::Value RecvFdsInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  auto [view, length] = ViewSlice(info, 1, "length");
  if (!info[4].IsArray()) throw Napi::TypeError::New(env, "fds must be an array");
  Napi::Array out = info[4].As<Napi::Array>();
  // The caller's buffer, to fill.
  struct iovec iov = {const_cast<uint8_t*>(view), length};
  alignas(struct cmsghdr) uint8_t control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  bool block = info.Length() > 5 && info[5].ToBoolean();
  if (block) FlushQueuedFrames();
  ssize_t got;
  do {
    got = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | (block ? 0 : MSG_DONTWAIT));
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    if (errno == ECONNRESET) return Napi::Number::New(env, 0);  // peer gone: end of data
    ThrowErrno(env, "recvmsg");
  }
  // Owned until JS has them: a throw below closes every one.
  std::vector<UniqueFd> received;
  for (struct cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t k = 0; k < n; k++) {
      int one;
      std::memcpy(&one, CMSG_DATA(cm) + k * sizeof(int), sizeof one);
      received.emplace_back(one);
    }
  }
  uint32_t base = out.Length();
  for (size_t k = 0; k < received.size(); k++) {
    out.Set(base + static_cast<uint32_t>(k), Napi::Number::New(env, received[k].get()));
  }
  // Some fds were lost (MSG_CTRUNC): -1 after those that came marks it.
  // The bytes were read, so they are returned (the stream stays whole).
  if (msg.msg_flags & MSG_CTRUNC) out.Set(base + received.size(), Napi::Number::New(env, -1));
  for (UniqueFd& r : received) r.release();
  return Napi::Number::New(env, static_cast<double>(got));
}

// isUnixSocket(fd) -> whether fd is a Unix socket, the one kind that
// carries fds (a TCP socket silently ignores SCM_RIGHTS).
Napi::Value IsUnixSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  struct stat st {};
  if (fstat(fd, &st) != 0) ThrowErrno(env, "fstat");
  if (!S_ISSOCK(st.st_mode)) return Napi::Boolean::New(env, false);
  int domain = 0;
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) ThrowErrno(env, "getsockopt");
  return Napi::Boolean::New(env, domain == AF_UNIX);
}

// pipeBytes(fd) -> the bytes waiting in a pipe (FIONREAD): a read of at
// most that many takes exactly that many, which a Queue reader announces
// in shared memory before it reads (see queue/channel.ts).
Napi::Value PipeBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  int n = 0;
  if (ioctl(fd, FIONREAD, &n) != 0) ThrowErrno(env, "ioctl");
  return Napi::Number::New(env, n);
}

// writeSome(fd, buffer, offset, length, socket = false) -> bytes written
// (maybe fewer than length), or -1 when the fd is full now. Never blocks: the
// async writers. `socket`: fd is a socket, maybe in blocking mode (Pipe()'s).
Napi::Value WriteSome(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  auto [data, length] = ViewSlice(info, 1, "length");
  bool socket = info.Length() > 4 && info[4].ToBoolean();
  FlushFd(env, fd);  // frames send() queued go first
  ssize_t put;
  do {
    put = socket ? send(fd, data, length, MSG_DONTWAIT | MSG_NOSIGNAL) : write(fd, data, length);
  } while (put < 0 && errno == EINTR);
  if (put < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    ThrowErrno(env, "write");
  }
  return Napi::Number::New(env, static_cast<double>(put));
}

// waitReadable(fd, timeoutMs) -> true when readable (or at end of file /
// error, which a read then reports), false on timeout. timeoutMs < 0 waits
// forever. Blocks the calling thread: the Sync forms and poll().
Napi::Value WaitReadable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  double timeout_ms = ArgNumber(info, 1, "timeoutMs");
  int r = WaitFd(fd, POLLIN, timeout_ms);
  if (r < 0) ThrowErrno(env, "poll");
  if (r & POLLNVAL) ThrowErrno(env, "poll", EBADF);
  return Napi::Boolean::New(env, r != 0);
}

// setBlocking(fd, blocking): a spawned child's stdio slot or an fd handed to
// other code may need blocking mode back.
Napi::Value SetBlocking(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  bool blocking = info[1].ToBoolean();
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) ThrowErrno(env, "fcntl");
  int want = blocking ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK);
  if (want != fl && fcntl(fd, F_SETFL, want) != 0) ThrowErrno(env, "fcntl");
  return env.Undefined();
}

// setCloexec(fd, on)
Napi::Value SetCloexec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  bool on = info[1].ToBoolean();
  int fl = fcntl(fd, F_GETFD);
  if (fl < 0) ThrowErrno(env, "fcntl");
  int want = on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
  if (want != fl && fcntl(fd, F_SETFD, want) != 0) ThrowErrno(env, "fcntl");
  return env.Undefined();
}

// dup(fd) -> a new close-on-exec fd for the same open file.
Napi::Value Dup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) ThrowErrno(env, "fcntl(F_DUPFD_CLOEXEC)");
  return Napi::Number::New(env, copy);
}

// Whether fd is a Unix socket (false when that cannot be told).
bool IsUnixSocketFd(int fd) {
  int domain = 0;
  socklen_t len = sizeof domain;
  return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_UNIX;
}

// new FdWatch(fd, callback, writable = false): callback() runs on the event
// loop each time fd is readable (or writable) or hung up while started. start()/stop() arm and
// disarm it; close() releases it for good. Unreferenced handles do not keep the loop.
class FdWatch : public Napi::ObjectWrap<FdWatch> {
 public:
  static Napi::Function Class(Napi::Env env) {
    return DefineClass(
        env, "FdWatch",
        {InstanceMethod<&FdWatch::Start>("start"), InstanceMethod<&FdWatch::StopMethod>("stop"),
         InstanceMethod<&FdWatch::Close>("close"), InstanceMethod<&FdWatch::RefHandle>("ref"),
         InstanceMethod<&FdWatch::UnrefHandle>("unref")});
  }

  explicit FdWatch(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<FdWatch>(info), context_(info.Env(), "forkful.FdWatch") {
    Napi::Env env = info.Env();
    int fd = ArgInt32(info, 0, "fd");
    if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function");
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) ThrowTyped(env, "OSError", "no event loop");
    auto handle = std::make_unique<Handle>();
    // uv_poll_init puts the fd in non-blocking mode; a Unix socket in
    // blocking mode (Pipe()'s) is put back, for recvSync's blocking read
    // (Connection reads and writes it with MSG_DONTWAIT otherwise, and
    // libuv only polls it).
    int flags = fcntl(fd, F_GETFL);
    bool blocking_unix = flags >= 0 && !(flags & O_NONBLOCK) && IsUnixSocketFd(fd);
    int err = uv_poll_init(loop, &handle->poll, fd);
    if (err != 0) ThrowErrno(env, "uv_poll_init", -err);
    if (blocking_unix && fcntl(fd, F_SETFL, flags) != 0) ThrowErrno(env, "fcntl");
    handle->owner = this;
    handle->poll.data = handle.get();
    handle_ = handle.release();  // owned by libuv until OnClosed
    events_ = info.Length() > 2 && info[2].ToBoolean() ? UV_WRITABLE : UV_READABLE;
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    napi_add_env_cleanup_hook(env, CleanupHook, this);
  }

  ~FdWatch() override { Release(); }

 private:
  struct Handle {
    uv_poll_t poll;
    FdWatch* owner;
  };

  static void OnClosed(uv_handle_t* h) {
    std::unique_ptr<Handle> owned(static_cast<Handle*>(h->data));
  }

  static void CleanupHook(void* arg) { static_cast<FdWatch*>(arg)->Release(); }

  void Release() {
    if (handle_ == nullptr) return;
    napi_remove_env_cleanup_hook(Env(), CleanupHook, this);
    handle_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_->poll), OnClosed);
    handle_ = nullptr;
    if (active_) {
      active_ = false;
      Unref();
    }
  }

  static void OnReadable(uv_poll_t* poll, int status, int events) {
    FdWatch* self = static_cast<Handle*>(poll->data)->owner;
    if (self == nullptr) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    CallFromLoop(env, self->callback_, self->context_);
  }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (handle_ == nullptr) ThrowTyped(env, "ValueError", "the watch is closed");
    if (!active_) {
      int err = uv_poll_start(&handle_->poll, events_, OnReadable);
      if (err != 0) ThrowErrno(env, "uv_poll_start", -err);
      active_ = true;
      Ref();  // the JS object must live while the loop may call it
    }
    return env.Undefined();
  }

  Napi::Value StopMethod(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr && active_) {
      uv_poll_stop(&handle_->poll);
      active_ = false;
      Unref();
    }
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release();
    callback_.Reset();
    return info.Env().Undefined();
  }

  Napi::Value RefHandle(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
    return info.Env().Undefined();
  }

  Napi::Value UnrefHandle(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
    return info.Env().Undefined();
  }

  Napi::AsyncContext context_;
  Napi::FunctionReference callback_;
  Handle* handle_ = nullptr;
  bool active_ = false;
  int events_ = UV_READABLE;
};

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("socketpair", Napi::Function::New(env, SocketPair));
  exports.Set("nbPipe", Napi::Function::New(env, NbPipe));
  exports.Set("sendFrame", Napi::Function::New(env, SendFrame));
  exports.Set("queueFrame", Napi::Function::New(env, QueueFrame));
  exports.Set("flushFrames", Napi::Function::New(env, FlushFrames));
  exports.Set("flushQueuedFrames", Napi::Function::New(env, FlushAll));
  exports.Set("readInto", Napi::Function::New(env, ReadInto));
  exports.Set("pipeBytes", Napi::Function::New(env, PipeBytes));
  exports.Set("waitReadable", Napi::Function::New(env, WaitReadable));
  exports.Set("writeSome", Napi::Function::New(env, WriteSome));
  exports.Set("setBlocking", Napi::Function::New(env, SetBlocking));
  exports.Set("pipeCapacity", Napi::Function::New(env, PipeCapacity));
  exports.Set("setCloexec", Napi::Function::New(env, SetCloexec));
  exports.Set("dupFd", Napi::Function::New(env, Dup));
  exports.Set("sendFds", Napi::Function::New(env, SendFds));
  exports.Set("recvFdsInto", Napi::Function::New(env, RecvFdsInto));
  exports.Set("isUnixSocket", Napi::Function::New(env, IsUnixSocket));
  exports.Set("FdWatch", FdWatch::Class(env));
}

const Registration reg{"connection", Init};

}  // namespace
}  // namespace forkful
