/*
 * tree_work — one member of a process tree (make, a shell pipeline) with known work: it
 * records its pid in PIDDIR/MODE.PID (an empty file), then burns SECONDS of its own CPU
 * time in the function of its mode.
 *
 * usage: tree_work a|b|c SECONDS PIDDIR     burn in work_a, work_b or work_c
 *        tree_work produce SECONDS PIDDIR   burn in work_produce, then write 1000 lines to
 *                                           stdout
 *        tree_work consume SECONDS PIDDIR   read stdin to its end, burn in work_consume,
 *                                           then print "consumed N lines"
 *        tree_work orphan SECONDS PIDDIR    fork a child that burns in work_orphan and
 *                                           exits 0; the parent exits 0 at once without
 *                                           waiting (the child outlives it)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "burn.h"

BURN_FUNCTION(work_a, 43)
BURN_FUNCTION(work_b, 47)
BURN_FUNCTION(work_c, 53)
BURN_FUNCTION(work_produce, 59)
BURN_FUNCTION(work_consume, 61)
BURN_FUNCTION(work_orphan, 67)

static volatile uint64_t sink;

static void burn(uint64_t (*fn)(uint64_t), double seconds)
{
    double end = now_seconds(CLOCK_PROCESS_CPUTIME_ID) + seconds;
    while (now_seconds(CLOCK_PROCESS_CPUTIME_ID) < end)
        sink += fn(20000);
}

static void note_pid(const char *dir, const char *mode)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%d", dir, mode, (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        perror(path);
        exit(1);
    }
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: tree_work MODE SECONDS PIDDIR\n");
        return 2;
    }
    const char *mode = argv[1];
    double seconds = atof(argv[2]);
    const char *dir = argv[3];
    if (strcmp(mode, "orphan") == 0) {
        note_pid(dir, "orphan-parent");
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            note_pid(dir, "orphan-child");
            burn(work_orphan, seconds);
            return 0;
        }
        return 0;
    }
    note_pid(dir, mode);
    if (strcmp(mode, "a") == 0)
        burn(work_a, seconds);
    else if (strcmp(mode, "b") == 0)
        burn(work_b, seconds);
    else if (strcmp(mode, "c") == 0)
        burn(work_c, seconds);
    else if (strcmp(mode, "produce") == 0) {
        burn(work_produce, seconds);
        for (int i = 0; i < 1000; i++)
            printf("line %d\n", i);
    } else if (strcmp(mode, "consume") == 0) {
        char line[256];
        long n = 0;
        while (fgets(line, sizeof line, stdin))
            n++;
        burn(work_consume, seconds);
        printf("consumed %ld lines\n", n);
    } else {
        fprintf(stderr, "tree_work: unknown mode '%s'\n", mode);
        return 2;
    }
    return 0;
}
