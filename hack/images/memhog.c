/* A memory workload for the real node's fast tests: allocates STEP_KIB every INTERVAL_MS and touches
 * every page, never frees. CAP_MIB > 0 stops growing there (a flat workload once warm);
 * EXIT_AFTER_MS > 0 exits with EXIT_CODE after that long (a crash that is not an OOM kill).
 * Prints progress, one line per step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long env_long(const char *key, long fallback) {
  const char *value = getenv(key);
  return value && *value ? atol(value) : fallback;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int main(void) {
  long step = env_long("STEP_KIB", 1024) * 1024, interval = env_long("INTERVAL_MS", 1000);
  long cap = env_long("CAP_MIB", 0) << 20, exit_after = env_long("EXIT_AFTER_MS", 0);
  int exit_code = (int)env_long("EXIT_CODE", 1);
  long total = 0, started = now_ms();
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("memhog: +%ld KiB every %ld ms, cap %ld MiB, exit after %ld ms\n", step >> 10, interval, cap >> 20,
         exit_after);
  for (;;) {
    if (exit_after > 0 && now_ms() - started >= exit_after) {
      printf("memhog: exiting with %d after %ld ms\n", exit_code, now_ms() - started);
      return exit_code;
    }
    if (cap == 0 || total + step <= cap) {
      char *block = malloc(step);
      if (!block) {
        printf("memhog: malloc failed at %ld MiB\n", total >> 20);
        return 2;
      }
      memset(block, 0x5a, step); /* touch every page: resident, charged to the cgroup */
      total += step;
      printf("memhog: allocated %ld MiB\n", total >> 20);
    }
    struct timespec ts = {interval / 1000, (interval % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
}
