// C floor for figures 1 and 2: fork + _exit + waitpid, optionally with a
// resident heap of MB megabytes touched first (same resident size as Node).
// usage: fork_wait N [MB [sparse]]   prints: RESULT {"value": ms_per_fork, "rssMB": ..}
// sparse: the MB in 256 KiB mappings at scattered addresses, the way V8
// places its heap pages (more mappings and page-table pages to copy).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long rss_mb(void) {
  long pages = 0, rss = 0;
  FILE* f = fopen("/proc/self/statm", "r");
  if (f && fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
  if (f) fclose(f);
  return rss * sysconf(_SC_PAGESIZE) / (1024 * 1024);
}

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 100;
  size_t mb = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;
  int sparse = argc > 3 && strcmp(argv[3], "sparse") == 0;
  if (mb > 0 && !sparse) {
    char* heap = malloc(mb << 20);
    if (!heap) { perror("malloc"); return 1; }
    memset(heap, 1, mb << 20);  // touch every page: resident, like a live heap
  } else if (mb > 0) {
    const size_t chunk = 256 << 10;
    uint64_t seed = 88172645463325252ull;
    for (size_t i = 0; i < (mb << 20) / chunk; i++) {
      seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;  // xorshift
      void* hint = (void*)(uintptr_t)(((seed % (1ull << 46)) + (1ull << 40)) & ~(chunk - 1));
      char* p = mmap(hint, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) { perror("mmap"); return 1; }
      memset(p, 1, chunk);
    }
  }
  double t0 = now_ms();
  for (int i = 0; i < n; i++) {
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) _exit(0);
    int status;
    if (waitpid(pid, &status, 0) != pid || status != 0) { perror("waitpid"); return 1; }
  }
  double per = (now_ms() - t0) / n;
  printf("RESULT {\"value\": %.6f, \"rssMB\": %ld}\n", per, rss_mb());
  return 0;
}
