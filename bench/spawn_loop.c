/*
 * spawn_loop — what a profiler adds to process creation: N fork()s whose child exits at
 * once, then N fork()+execv(PROGRAM)s, each waited for. Prints the microseconds per fork and
 * per fork+exec (every child of a profiled program is profiled: it gets its own region
 * and its own profile file).
 *
 * usage: spawn_loop [N] [PROGRAM]   (default 200 and /bin/true)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void wait_ok(pid_t pid)
{
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "spawn_loop: a child failed\n");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    char *program = argc > 2 ? argv[2] : "/bin/true";
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        wait_ok(pid);
    }
    double t1 = now_s();
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            char *args[] = {program, NULL};
            execv(program, args);
            _exit(127);
        }
        wait_ok(pid);
    }
    double t2 = now_s();
    printf("spawn_loop: fork_us=%.1f fork_exec_us=%.1f\n", (t1 - t0) * 1e6 / n,
           (t2 - t1) * 1e6 / n);
    return 0;
}
