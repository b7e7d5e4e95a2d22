// The sockets of multiprocessing.connection.Listener and Client: a
// listening stream socket (AF_UNIX, also Linux's abstract namespace, or
// AF_INET), accept without blocking, a blocking connect, and the bound or
// peer address. Every fd made here is non-blocking and close-on-exec, as
// Connection's fds are, so an accepted or connected socket is a Connection.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include "addon.h"
#include "fd.h"

namespace forkful {
namespace {

// A socket address of either family, with its length.
struct SockAddr {
  sockaddr_storage storage{};
  socklen_t length = 0;
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};

bool IsUnix(Napi::Env env, const Napi::Value& family) {
  std::string name = family.IsString() ? family.As<Napi::String>().Utf8Value() : "";
  if (name == "AF_UNIX") return true;
  if (name == "AF_INET") return false;
  throw Napi::TypeError::New(env, "family must be 'AF_UNIX' or 'AF_INET'");
}

// AF_UNIX: the path's bytes (a leading NUL names an abstract socket, whose
// length is the address's length, not a terminator's place).
SockAddr UnixAddress(Napi::Env env, const Napi::Value& path) {
  if (!path.IsBuffer()) throw Napi::TypeError::New(env, "a Unix address must be a Buffer");
  Napi::Buffer<char> bytes = path.As<Napi::Buffer<char>>();
  SockAddr out;
  auto* un = reinterpret_cast<sockaddr_un*>(&out.storage);
  un->sun_family = AF_UNIX;
  bool abstract = bytes.Length() > 0 && bytes.Data()[0] == '\0';
  // A path needs room for its terminator; an abstract name does not.
  size_t room = sizeof un->sun_path - (abstract ? 0 : 1);
  if (bytes.Length() == 0 || bytes.Length() > room) ThrowErrno(env, "bind", ENAMETOOLONG);
  std::memcpy(un->sun_path, bytes.Data(), bytes.Length());
  out.length =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + bytes.Length() + (abstract ? 0 : 1));
  return out;
}

// AF_INET: host (a name or dotted quad; '' is any address) and port.
SockAddr InetAddress(Napi::Env env, const Napi::Value& host, const Napi::Value& port,
                     const char* syscall) {
  if (!host.IsString()) throw Napi::TypeError::New(env, "an AF_INET host must be a string");
  if (!port.IsNumber()) throw Napi::TypeError::New(env, "an AF_INET port must be a number");
  std::string name = host.As<Napi::String>().Utf8Value();
  int32_t number = port.As<Napi::Number>().Int32Value();
  SockAddr out;
  auto* in = reinterpret_cast<sockaddr_in*>(&out.storage);
  in->sin_family = AF_INET;
  in->sin_port = htons(static_cast<uint16_t>(number));
  out.length = sizeof(sockaddr_in);
  if (name.empty()) {
    in->sin_addr.s_addr = htonl(INADDR_ANY);
    return out;
  }
  if (inet_pton(AF_INET, name.c_str(), &in->sin_addr) == 1) return out;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(name.c_str(), nullptr, &hints, &found);
  if (rc != 0 || found == nullptr) {
    ThrowTyped(
        env, "OSError",
        std::string(syscall) + " " + name + ": cannot resolve the host (" + gai_strerror(rc) + ")");
  }
  in->sin_addr = reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr;
  freeaddrinfo(found);
  return out;
}

SockAddr AddressOf(Napi::Env env, bool unix_family, const Napi::CallbackInfo& info,
                   const char* syscall) {
  return unix_family ? UnixAddress(env, info[1]) : InetAddress(env, info[1], info[2], syscall);
}

// socketListen(family, address, port, backlog) -> fd: bound and listening.
// AF_INET sets SO_REUSEADDR first (as Python's SocketListener on POSIX).
Napi::Value SocketListen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool unix_family = IsUnix(env, info[0]);
  SockAddr address = AddressOf(env, unix_family, info, "bind");
  int32_t backlog = ArgInt32(info, 3, "backlog");
  UniqueFd fd(
      socket(unix_family ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) ThrowErrno(env, "socket");
  if (!unix_family) {
    int on = 1;
    if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) {
      ThrowErrno(env, "setsockopt");
    }
  }
  if (bind(fd.get(), address.get(), address.length) != 0) ThrowErrno(env, "bind");
  if (listen(fd.get(), backlog) != 0) ThrowErrno(env, "listen");
  return Napi::Number::New(env, fd.release());
}

// socketAccept(fd) -> the accepted socket's fd, or -1 when none waits.
Napi::Value SocketAccept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t listener = ArgInt32(info, 0, "fd");
  for (;;) {
    int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return Napi::Number::New(env, fd);
    if (errno == EINTR) continue;
    // A connection that was reset before it was accepted: look for the next.
    if (errno == ECONNABORTED) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    ThrowErrno(env, "accept");
  }
}

// socketConnect(family, address, port) -> fd, connected. Blocks, as
// Python's SocketClient does; a signal does not undo a connect under way.
Napi::Value SocketConnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool unix_family = IsUnix(env, info[0]);
  SockAddr address = AddressOf(env, unix_family, info, "connect");
  UniqueFd fd(socket(unix_family ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) ThrowErrno(env, "socket");
  FlushQueuedFrames();  // this call blocks: what send() queued goes out first
  if (connect(fd.get(), address.get(), address.length) != 0) {
    if (errno != EINTR && errno != EINPROGRESS) ThrowErrno(env, "connect");
    // Interrupted: the connect goes on; wait for it and read its result.
    struct pollfd pfd = {fd.get(), POLLOUT, 0};
    while (poll(&pfd, 1, -1) < 0) {
      if (errno != EINTR) ThrowErrno(env, "poll");
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) ThrowErrno(env, "getsockopt");
    if (err != 0) ThrowErrno(env, "connect", err);
  }
  if (!SetNonBlockCloexec(fd.get())) ThrowErrno(env, "fcntl");
  return Napi::Number::New(env, fd.release());
}

// socketName(fd, peer) -> the socket's own (or, with peer, its peer's)
// address: a Buffer of the path for AF_UNIX ('' when unbound), [host, port]
// for AF_INET.
Napi::Value SocketName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd = ArgInt32(info, 0, "fd");
  bool peer = info[1].ToBoolean();
  SockAddr address;
  address.length = sizeof address.storage;
  int rc = peer ? getpeername(fd, address.get(), &address.length)
                : getsockname(fd, address.get(), &address.length);
  if (rc != 0) ThrowErrno(env, peer ? "getpeername" : "getsockname");
  if (address.storage.ss_family == AF_UNIX) {
    auto* un = reinterpret_cast<sockaddr_un*>(&address.storage);
    size_t size = address.length > offsetof(sockaddr_un, sun_path)
                      ? address.length - offsetof(sockaddr_un, sun_path)
                      : 0;
    // A path's length counts its terminator (or more); an abstract name's does not.
    if (size > 0 && un->sun_path[0] != '\0') size = strnlen(un->sun_path, size);
    return Napi::Buffer<char>::Copy(env, un->sun_path, size);
  }
  if (address.storage.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&address.storage);
    char host[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &in->sin_addr, host, sizeof host) == nullptr) {
      ThrowErrno(env, "inet_ntop");
    }
    Napi::Array out = Napi::Array::New(env, 2);
    out.Set(0u, Napi::String::New(env, host));
    out.Set(1u, Napi::Number::New(env, ntohs(in->sin_port)));
    return out;
  }
  ThrowErrno(env, peer ? "getpeername" : "getsockname", EAFNOSUPPORT);
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("socketListen", Napi::Function::New(env, SocketListen, "socketListen"));
  exports.Set("socketAccept", Napi::Function::New(env, SocketAccept, "socketAccept"));
  exports.Set("socketConnect", Napi::Function::New(env, SocketConnect, "socketConnect"));
  exports.Set("socketName", Napi::Function::New(env, SocketName, "socketName"));
}

const Registration reg{"socket", Init};

}  // namespace
}  // namespace forkful
