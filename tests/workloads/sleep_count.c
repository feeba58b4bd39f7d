/*
 * sleep_count — sleeps 50 times for 20 ms (25 nanosleep calls, then 25 usleep calls),
 * never retrying on EINTR, and counts the calls that returned early: failed with EINTR,
 * left time remaining, or took less than 20 ms by CLOCK_MONOTONIC. Nothing a profiler
 * does may end a sleep early.
 *
 * usage: sleep_count
 * Prints "sleeps=50 early=N eintr=E" and exits 0 when N is 0, 1 otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define SLEEPS   50
#define SLEEP_NS 20000000L

static long elapsed_ns(const struct timespec *a, const struct timespec *b)
{
    return (b->tv_sec - a->tv_sec) * 1000000000L + (b->tv_nsec - a->tv_nsec);
}

int main(void)
{
    int early = 0, eintr = 0;
    for (int i = 0; i < SLEEPS; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int r, err = 0, remaining = 0;
        if (i < SLEEPS / 2) {
            struct timespec req = {0, SLEEP_NS}, rem = {0, 0};
            r = nanosleep(&req, &rem);
            err = r < 0 ? errno : 0;
            remaining = rem.tv_sec > 0 || rem.tv_nsec > 0;
        } else {
            r = usleep(SLEEP_NS / 1000);
            err = r < 0 ? errno : 0;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long took = elapsed_ns(&t0, &t1);
        if (err == EINTR)
            eintr++;
        if (err || remaining || took < SLEEP_NS) {
            early++;
            printf("sleep %d (%s) returned early: r=%d errno=%d remaining=%d took=%ld ns\n", i,
                   i < SLEEPS / 2 ? "nanosleep" : "usleep", r, err, remaining, took);
        }
    }
    printf("sleeps=%d early=%d eintr=%d\n", SLEEPS, early, eintr);
    return early ? 1 : 0;
}
