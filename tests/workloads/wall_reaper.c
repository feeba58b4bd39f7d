/*
 * wall_reaper — reaps every child it has with waitpid(-1, __WALL) until ECHILD, as strace
 * and process supervisors do: __WALL waits for children whatever their exit signal, so a
 * child the profiler left behind (even one with exit signal 0) would show up here or make
 * the loop wait forever. It forks exactly one child.
 *
 * Prints "children reaped: N" (1 unprofiled) and exits 0 when N == 1.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    pid_t child = fork();
    if (child == 0) {
        struct timespec d = {0, 50000000};
        nanosleep(&d, NULL);
        _exit(7);
    }
    int n = 0, st;
    pid_t p;
    while ((p = waitpid(-1, &st, __WALL)) > 0) {
        n++;
        printf("reaped %s\n", p == child ? "my child" : "an unknown child");
    }
    printf("children reaped: %d (%s)\n", n, strerror(errno));
    return n == 1 ? 0 : 1;
}
