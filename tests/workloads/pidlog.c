/*
 * pidlog — a library to preload beside libnsprof.so in tests: it appends one line per
 * process image to the file named by NSPIDLOG, so that a test knows every process that
 * ran and can check each one got a profile. "PID image" is written by the constructor of
 * every image that loads it (a program's start, an exec), "PID fork" by every child of
 * fork() (pthread_atfork), both with the executable's path.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void note(const char *how)
{
    const char *path = getenv("NSPIDLOG");
    if (!path || !*path)
        return;
    char exe[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    char line[640];
    int len = snprintf(line, sizeof line, "%d %s %s\n", (int)getpid(), how, exe);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    if (write(fd, line, (size_t)len) < 0) {
    }
    close(fd);
}

static void forked(void)
{
    note("fork");
}

__attribute__((constructor)) static void pidlog_init(void)
{
    note("image");
    pthread_atfork(NULL, NULL, forked);
}
