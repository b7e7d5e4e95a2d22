// File descriptors over Unix sockets (SCM_RIGHTS): what carries a
// Connection or a Queue inside a message to a process that is already
// running, and reduction.sendHandle/recvHandle. sendFds writes one framed
// message with the fds attached to its first byte; recvFdsInto is
// Connection's read on a socket: a read that also takes the fds that came
// with the bytes. Received fds are owned (closed) here until JS holds them;
// a truncated control message (MSG_CTRUNC: the receiver ran out of fds) is
// an error, never a silent loss.
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "addon.h"
#include "fd.h"

namespace forkful {
namespace {

// Linux's SCM_MAX_FD: the most fds one message can carry.
constexpr size_t kMaxFds = 253;

// Waits until fd is writable; false with errno set on failure.
bool WaitWritable(int fd) {
  struct pollfd p = {fd, POLLOUT, 0};
  for (;;) {
    int r = poll(&p, 1, -1);
    if (r >= 0) return true;
    if (errno != EINTR) return false;
  }
}

// Every byte of the iovecs, the first sendmsg carrying `control` (the fds).
void SendAll(Napi::Env env, int fd, struct iovec* iov, int count, void* control,
             size_t control_len) {
  bool fds_sent = false;
  while (count > 0) {
    struct msghdr msg {};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(count);
    if (!fds_sent) {
      msg.msg_control = control;
      msg.msg_controllen = control_len;
    }
    ssize_t put = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (put < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!WaitWritable(fd)) ThrowErrno(env, "poll");
        continue;
      }
      ThrowErrno(env, "sendmsg");
    }
    fds_sent = true;
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

const uint8_t* BytesOf(Napi::Env env, Napi::Value v, size_t* len) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(env, "data must be a Buffer");
  Napi::TypedArray view = v.As<Napi::TypedArray>();
  void* data = nullptr;
  if (napi_get_typedarray_info(env, view, nullptr, nullptr, &data, nullptr, nullptr) != napi_ok) {
    throw Napi::Error::New(env, "could not read the typed array");
  }
  *len = view.ByteLength();
  return static_cast<const uint8_t*>(data);
}

// sendFds(fd, bytes, fds, framed): writes `bytes` (framed: behind
// Connection's length header) with `fds` attached; blocks until written,
// as sendFrame. The caller flushes the frames send() queued first.
Napi::Value SendFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  size_t len = 0;
  const uint8_t* data = BytesOf(env, info[1], &len);
  std::vector<int> fds = FdList(info, 2);
  bool framed = info[3].ToBoolean();
  if (!framed && len == 0) throw Napi::RangeError::New(env, "fds travel with at least one byte");
  uint8_t header[12];
  size_t header_len = 0;
  if (framed) {
    if (len <= 0x7fffffffu) {
      header_len = 4;
      for (int k = 0; k < 4; k++) header[k] = static_cast<uint8_t>(len >> (24 - 8 * k));
    } else {
      header_len = 12;
      std::memset(header, 0xff, 4);
      for (int k = 0; k < 8; k++) {
        header[4 + k] = static_cast<uint8_t>(static_cast<uint64_t>(len) >> (56 - 8 * k));
      }
    }
  }
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
  SendAll(env, fd, iov, count, control.data(), control.size());
  return env.Undefined();
}

// recvFdsInto(fd, buffer, offset, length, fds) -> bytes read (0 at end of
// data, -1 when nothing is there now; never blocks); the fds that came
// with them (close-on-exec) are pushed onto the array `fds`.
Napi::Value RecvFdsInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  size_t cap = 0;
  uint8_t* data = const_cast<uint8_t*>(BytesOf(env, info[1], &cap));
  double offset = ArgNumber(info, 2, "offset");
  double length = ArgNumber(info, 3, "length");
  if (!(offset >= 0 && length >= 0 && offset + length <= static_cast<double>(cap))) {
    throw Napi::RangeError::New(env, "offset and length must lie inside the buffer");
  }
  if (!info[4].IsArray()) throw Napi::TypeError::New(env, "fds must be an array");
  Napi::Array out = info[4].As<Napi::Array>();
  struct iovec iov = {data + static_cast<size_t>(offset), static_cast<size_t>(length)};
  alignas(struct cmsghdr) uint8_t control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t got;
  do {
    got = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
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
  if (msg.msg_flags & MSG_CTRUNC) {
    ThrowTyped(env, "OSError",
               "file descriptors sent with a message were lost (MSG_CTRUNC: this process has " +
                   std::to_string(received.size()) +
                   " of them; it may be out of file descriptors, see ulimit -n)");
  }
  uint32_t base = out.Length();
  for (size_t k = 0; k < received.size(); k++) {
    out.Set(base + static_cast<uint32_t>(k), Napi::Number::New(env, received[k].get()));
  }
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

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sendFds", Napi::Function::New(env, SendFds));
  exports.Set("recvFdsInto", Napi::Function::New(env, RecvFdsInto));
  exports.Set("isUnixSocket", Napi::Function::New(env, IsUnixSocket));
}

const Registration reg{"scm", Init};

}  // namespace
}  // namespace forkful
