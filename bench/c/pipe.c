// C floor for figure 5: a parent and a forked child talking over AF_UNIX
// stream socketpairs, the transport of forkful's and Python's duplex Pipe()
// (a pipe(2), with its 64 KiB buffer, made 64 KiB payloads slower here than
// Python's Pipe: no floor).
// usage: pipe small N | pingpong N | payload BYTES COUNT
//   small:    parent writes N 16-byte messages, child reads them, then acks
//             -> {"value": messages per second}
//   pingpong: N round trips of a 16-byte message -> {"value": us per round trip}
//   payload:  COUNT payloads of BYTES bytes, child reads each fully, then acks
//             -> {"value": MB per second}
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int read_full(int fd, char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r <= 0) return -1;
    got += r;
  }
  return 0;
}

static int write_full(int fd, const char* buf, size_t n) {
  size_t put = 0;
  while (put < n) {
    ssize_t w = write(fd, buf + put, n - put);
    if (w <= 0) return -1;
    put += w;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 3) { fprintf(stderr, "usage: pipe mode N [COUNT]\n"); return 2; }
  const char* mode = argv[1];
  long n = atol(argv[2]);
  long count = argc > 3 ? atol(argv[3]) : 1;
  int down[2], up[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, down) || socketpair(AF_UNIX, SOCK_STREAM, 0, up)) {
    perror("socketpair");
    return 1;
  }
  size_t size = strcmp(mode, "payload") == 0 ? (size_t)n : 16;
  long msgs = strcmp(mode, "payload") == 0 ? count : n;
  char* buf = malloc(size);
  memset(buf, 7, size);
  pid_t pid = fork();
  if (pid < 0) { perror("fork"); return 1; }
  if (pid == 0) {
    for (long i = 0; i < msgs; i++) {
      if (read_full(down[0], buf, size)) _exit(1);
      if (strcmp(mode, "pingpong") == 0 && write_full(up[1], buf, size)) _exit(1);
    }
    if (strcmp(mode, "pingpong") != 0 && write_full(up[1], "k", 1)) _exit(1);
    _exit(0);
  }
  double t0 = now_s();
  for (long i = 0; i < msgs; i++) {
    if (write_full(down[1], buf, size)) { perror("write"); return 1; }
    if (strcmp(mode, "pingpong") == 0 && read_full(up[0], buf, size)) { perror("read"); return 1; }
  }
  if (strcmp(mode, "pingpong") != 0 && read_full(up[0], buf, 1)) { perror("read ack"); return 1; }
  double dt = now_s() - t0;
  int status;
  waitpid(pid, &status, 0);
  double value = strcmp(mode, "small") == 0      ? msgs / dt
                 : strcmp(mode, "pingpong") == 0 ? dt / msgs * 1e6
                                                 : (double)size * msgs / dt / 1e6;
  printf("RESULT {\"value\": %.3f}\n", value);
  return status == 0 ? 0 : 1;
}
