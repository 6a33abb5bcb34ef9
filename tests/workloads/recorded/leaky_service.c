/* A C request loop for recording in a memory cgroup: each request mallocs and fills a few buffers
 * and frees them (a bounded pool of 4096 buffers stands for connection state). After LEAK_AFTER_S
 * seconds (a feature flag turned on; 0 = from the start) each request also forgets to free one
 * 1-8 KiB buffer: a leak that grows until the kernel OOM-kills the process. The load varies: a
 * compressed daily wave plus random bursts, 100 ms ticks. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <math.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void) {
    const char *s = getenv("LEAK_AFTER_S");
    double leak_after = s ? atof(s) : 0.0;
    s = getenv("BASE_RATE");
    double base = s ? atof(s) : 250.0;
    s = getenv("SEED");
    srand(s ? atoi(s) : 1);
    enum { POOL = 4096 };
    static char *pool[POOL];
    double start = now(), burst = 1.0;
    for (;;) {
        double t = now() - start;
        double u = rand() / (double)RAND_MAX;
        if (u < 0.01) burst = 1.0 + 2.0 * (rand() / (double)RAND_MAX);
        else if (u < 0.06) burst = 1.0;
        double rate = base * (1.0 + 0.6 * sin(2 * M_PI * t / 240.0)) * burst;
        int requests = rate / 10 > 1 ? (int)(rate / 10) : 1;
        for (int i = 0; i < requests; i++) {
            size_t n = 4096 + rand() % 28672;
            char *scratch = malloc(n);
            memset(scratch, i, n);
            free(scratch);
            int slot = rand() % POOL;
            free(pool[slot]);
            pool[slot] = malloc(256 + rand() % 4096);
            memset(pool[slot], 1, 256);
            if (t >= leak_after) {
                size_t m = 1024 + rand() % 7168;
                char *lost = malloc(m);
                memset(lost, 2, m);
            }
        }
        usleep(100000);
    }
}
