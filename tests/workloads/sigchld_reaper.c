/*
 * sigchld_reaper — a program that owns its children: a SIGCHLD handler reaps with
 * waitpid(-1, WNOHANG) in a loop and records every pid it reaped and its status. It starts
 * a known number of children (fork, then _exit with a distinct code), waits until all of
 * them are reaped, and checks that every reaped pid is one of its own, that each child was
 * reaped once with its code, and that afterwards it has no child left at all
 * (waitpid(-1) fails with ECHILD: a helper process started inside it, even a running one,
 * would be a child it never made).
 *
 * usage: sigchld_reaper [children]   (default 8, at most 64)
 * Prints "reaped=N foreign=F missing=M wrong_code=W leftover=L" and exits 0 when F, M, W
 * and L are 0; 1 otherwise (each foreign pid is printed).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHILDREN 64
#define MAX_REAPED   256

static volatile sig_atomic_t n_reaped;
static pid_t reaped_pid[MAX_REAPED];
static int reaped_status[MAX_REAPED];

static void on_sigchld(int sig)
{
    (void)sig;
    int saved = errno;
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            break;
        if (n_reaped < MAX_REAPED) {
            reaped_pid[n_reaped] = pid;
            reaped_status[n_reaped] = status;
        }
        n_reaped++;
    }
    errno = saved;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 8;
    if (n < 1 || n > MAX_CHILDREN)
        n = 8;
    /* SIGCHLD stays blocked except inside sigsuspend: no reap is missed between checks. */
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    /* Whatever ended before main (a helper of a preloaded library) is reaped too. */
    on_sigchld(SIGCHLD);

    pid_t mine[MAX_CHILDREN];
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0)
            _exit(10 + i);
        mine[i] = pid;
    }

    /* Wait until as many pids were reaped as there are children, for at most 10 s. */
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    sigset_t wait_mask = old;
    sigdelset(&wait_mask, SIGCHLD);
    alarm(10); /* SIGALRM ends the program if no SIGCHLD ever comes */
    int done = 0;
    while (!done) {
        int found = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n_reaped && j < MAX_REAPED; j++)
                if (reaped_pid[j] == mine[i])
                    found++;
        if (found >= n)
            break;
        sigsuspend(&wait_mask);
        clock_gettime(CLOCK_MONOTONIC, &now);
        done = now.tv_sec - start.tv_sec > 10;
    }
    alarm(0);
    on_sigchld(SIGCHLD); /* anything that ended meanwhile */

    int foreign = 0, missing = 0, wrong = 0, leftover = 0;
    int total = n_reaped < MAX_REAPED ? n_reaped : MAX_REAPED;
    for (int j = 0; j < total; j++) {
        int idx = -1;
        for (int i = 0; i < n; i++)
            if (reaped_pid[j] == mine[i])
                idx = i;
        if (idx < 0) {
            printf("foreign child %d reaped (status 0x%x)\n", (int)reaped_pid[j], reaped_status[j]);
            foreign++;
        } else if (!WIFEXITED(reaped_status[j]) || WEXITSTATUS(reaped_status[j]) != 10 + idx) {
            printf("child %d (#%d) reaped with status 0x%x, not exit %d\n", (int)mine[idx], idx,
                   reaped_status[j], 10 + idx);
            wrong++;
        }
    }
    for (int i = 0; i < n; i++) {
        int times = 0;
        for (int j = 0; j < total; j++)
            times += reaped_pid[j] == mine[i];
        if (times != 1) {
            printf("child %d (#%d) reaped %d times\n", (int)mine[i], i, times);
            missing++;
        }
    }
    /* No child may be left, running or not. */
    int status;
    pid_t left = waitpid(-1, &status, WNOHANG);
    if (left > 0) {
        printf("foreign child %d was still to be reaped\n", (int)left);
        leftover++;
    } else if (left == 0) {
        printf("a child that is not ours is still running\n");
        leftover++;
    } else if (errno != ECHILD) {
        printf("waitpid(-1): %s\n", strerror(errno));
        leftover++;
    }
    printf("reaped=%d foreign=%d missing=%d wrong_code=%d leftover=%d\n", (int)n_reaped, foreign,
           missing, wrong, leftover);
    return foreign || missing || wrong || leftover ? 1 : 0;
}
