// C floor for figure 4: pthread_mutex lock+unlock.
// usage: mutex uncontended|threads|processes N   prints RESULT {"value": ns_per_op}
// Contended: two threads (or two forked processes on a PTHREAD_PROCESS_SHARED
// mutex in MAP_SHARED memory) each do N lock/increment/unlock; value = total
// time / (2N).
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct shared {
  pthread_mutex_t mu;
  long counter;
};
static struct shared* sh;
static long n_ops;

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void* spin(void* arg) {
  (void)arg;
  for (long i = 0; i < n_ops; i++) {
    pthread_mutex_lock(&sh->mu);
    sh->counter++;
    pthread_mutex_unlock(&sh->mu);
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 3) { fprintf(stderr, "usage: mutex mode N\n"); return 2; }
  const char* mode = argv[1];
  n_ops = atol(argv[2]);
  sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (sh == MAP_FAILED) { perror("mmap"); return 1; }
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(&sh->mu, &attr);
  double t0 = now_ns(), per;
  if (strcmp(mode, "uncontended") == 0) {
    spin(NULL);
    per = (now_ns() - t0) / n_ops;
  } else if (strcmp(mode, "threads") == 0) {
    pthread_t t;
    if (pthread_create(&t, NULL, spin, NULL) != 0) { perror("pthread_create"); return 1; }
    spin(NULL);
    pthread_join(t, NULL);
    per = (now_ns() - t0) / (2.0 * n_ops);
  } else {
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) { spin(NULL); _exit(0); }
    spin(NULL);
    int status;
    waitpid(pid, &status, 0);
    per = (now_ns() - t0) / (2.0 * n_ops);
  }
  if (sh->counter != (strcmp(mode, "uncontended") == 0 ? 1 : 2) * n_ops) {
    fprintf(stderr, "lost updates: %ld\n", sh->counter);
    return 1;
  }
  printf("RESULT {\"value\": %.3f}\n", per);
  return 0;
}
