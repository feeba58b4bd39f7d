/*
 * fork_exec — a process tree with known work in each image, for the fork and exec paths.
 *
 * usage: fork_exec fork SECONDS   parent runs work_parent, a forked child work_child
 *        fork_exec exec SECONDS   runs work_before, then execs itself as "after"
 *        fork_exec after SECONDS  runs work_after (the exec'd image)
 *        fork_exec spawn SECONDS  posix_spawn()s itself as "after" with an empty
 *                                 environment, and runs work_parent
 *        fork_exec badexec SECONDS runs work_before, fails to exec a missing file, then
 *                                 runs work_after in the same image
 * Every image burns SECONDS of its own CPU time in its function.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "burn.h"

BURN_FUNCTION(work_parent, 11)
BURN_FUNCTION(work_child, 13)
BURN_FUNCTION(work_before, 17)
BURN_FUNCTION(work_after, 19)

static volatile uint64_t sink;

static void burn(uint64_t (*fn)(uint64_t), double seconds)
{
    double end = now_seconds(CLOCK_PROCESS_CPUTIME_ID) + seconds;
    while (now_seconds(CLOCK_PROCESS_CPUTIME_ID) < end)
        sink += fn(50000);
}

static int wait_child(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "fork_exec: child failed\n");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "fork";
    const char *secs = argc > 2 ? argv[2] : "1";
    double seconds = atof(secs);
    if (strcmp(mode, "fork") == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            burn(work_child, seconds);
            exit(0);
        }
        burn(work_parent, seconds);
        return wait_child(pid);
    }
    if (strcmp(mode, "exec") == 0) {
        burn(work_before, seconds);
        char *args[] = {argv[0], "after", (char *)secs, NULL};
        execv("/proc/self/exe", args);
        perror("execv");
        return 1;
    }
    if (strcmp(mode, "after") == 0) {
        burn(work_after, seconds);
        return 0;
    }
    if (strcmp(mode, "badexec") == 0) {
        burn(work_before, seconds);
        char *args[] = {"missing", NULL};
        if (execv("/nonexistent/nsprof-test", args) == 0 || errno != ENOENT) {
            fprintf(stderr, "fork_exec: exec should have failed with ENOENT\n");
            return 1;
        }
        burn(work_after, seconds);
        return 0;
    }
    if (strcmp(mode, "spawn") == 0) {
        pid_t pid;
        char *args[] = {argv[0], "after", (char *)secs, NULL};
        char *empty_env[] = {NULL};
        if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, args, empty_env) != 0) {
            perror("posix_spawn");
            return 1;
        }
        burn(work_parent, seconds);
        return wait_child(pid);
    }
    fprintf(stderr, "fork_exec: unknown mode '%s'\n", mode);
    return 2;
}
