/*
 * sigprof_user — a program that profiles itself the old way: its own SIGPROF handler and
 * setitimer(ITIMER_PROF). Prints how many of its own signals it received; under nsprof it
 * must still receive them (and nsprof's own SIGPROFs must not reach its handler).
 *
 * usage: sigprof_user [cpu-seconds]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "burn.h"

BURN_FUNCTION(own_work, 37)

static volatile sig_atomic_t ticks, foreign;
static volatile uint64_t sink;

static void on_prof(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    /* setitimer's signals come from the kernel; anything else is not ours. */
    if (si->si_code == SI_KERNEL)
        ticks++;
    else
        foreign++;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_prof;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    if (sigaction(SIGPROF, &sa, NULL) != 0) {
        perror("sigaction");
        return 1;
    }
    struct sigaction check;
    sigaction(SIGPROF, NULL, &check);
    if (check.sa_sigaction != on_prof) {
        fprintf(stderr, "sigaction does not report our handler back\n");
        return 1;
    }
    struct itimerval it = {{0, 10000}, {0, 10000}};
    setitimer(ITIMER_PROF, &it, NULL);
    double end = now_seconds(CLOCK_PROCESS_CPUTIME_ID) + seconds;
    while (now_seconds(CLOCK_PROCESS_CPUTIME_ID) < end)
        sink += own_work(20000);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &off, NULL);
    printf("ticks=%d foreign=%d\n", (int)ticks, (int)foreign);
    return ticks > 0 && foreign == 0 ? 0 : 3;
}
