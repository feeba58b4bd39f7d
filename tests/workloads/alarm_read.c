/*
 * alarm_read — a program that relies on EINTR: a SIGALRM handler installed without
 * SA_RESTART interrupts a read() of an empty pipe after ALARM_MS. The read must end by that
 * signal, with EINTR, after the alarm's time — not earlier, not never.
 *
 * usage: alarm_read [ALARM_MS]
 * Prints "read=R errno=NAME waited_ns=W alarms=A".
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

int main(int argc, char **argv)
{
    unsigned ms = argc > 1 ? (unsigned)atoi(argv[1]) : 300;
    int p[2];
    if (pipe(p) != 0)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm; /* no SA_RESTART: the read must fail with EINTR */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {ms / 1000, (long)(ms % 1000) * 1000L}};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    setitimer(ITIMER_REAL, &it, NULL);
    char c;
    ssize_t r = read(p[0], &c, 1);
    int e = errno;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    uint64_t waited =
        (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ull + (uint64_t)(t1.tv_nsec - t0.tv_nsec);
    printf("read=%zd errno=%s waited_ns=%llu alarms=%d\n", r, r < 0 ? strerrorname_np(e) : "0",
           (unsigned long long)waited, (int)alarms);
    return 0;
}
