// C floor for figures 1 and 2: fork + _exit + waitpid, optionally with a
// resident heap of MB megabytes touched first (same resident size as Node).
// usage: fork_wait N [MB]   prints: RESULT {"value": ms_per_fork, "rssMB": ..}
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
  if (mb > 0) {
    char* heap = malloc(mb << 20);
    if (!heap) { perror("malloc"); return 1; }
    memset(heap, 1, mb << 20);  // touch every page: resident, like a live heap
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
