/*
 * single_thread — a single-threaded program that reports, from inside itself, what a
 * profiler must not change: the number of threads (entries of /proc/self/task) and glibc's
 * __libc_single_threaded, at the start of main, in the middle of its work and at the end,
 * and the same in a forked child. Its work is an uncontended pthread mutex taken in a loop
 * and 64-byte write()s to /dev/null (what --locks and --io interpose; glibc and programs
 * take cheaper paths, without atomics or locks, while __libc_single_threaded is 1).
 * Without a profiler every line says tasks=1 single_threaded=1; the output does not depend
 * on timing, so it must be byte-identical with and without nsprof.
 *
 * usage: single_thread [iterations]   (default 300000)
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <sys/wait.h>
#include <unistd.h>

static int count_tasks(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void report(const char *when)
{
    /* Read both before printing: stdio must not be what is measured. */
    int tasks = count_tasks();
    int single = __libc_single_threaded;
    printf("%s: tasks=%d single_threaded=%d\n", when, tasks, single);
    fflush(stdout);
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long counter;

__attribute__((noipa)) static void locked_write(int fd, const char *buf)
{
    pthread_mutex_lock(&lock);
    counter++;
    pthread_mutex_unlock(&lock);
    if (write(fd, buf, 64) != 64)
        abort();
}

int main(int argc, char **argv)
{
    report("start");
    long iterations = argc > 1 ? atol(argv[1]) : 300000;
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        perror("open /dev/null");
        return 1;
    }
    char buf[64];
    memset(buf, 'x', sizeof buf);
    for (long i = 0; i < iterations; i++) {
        locked_write(fd, buf);
        if (i == iterations / 2)
            report("middle");
    }
    close(fd);
    printf("work: locked=%lu writes=%ld bytes=%ld\n", counter, iterations, iterations * 64);
    report("end");

    /* A forked child of a single-threaded process is single-threaded too. */
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        report("child");
        _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("child: did not exit with status 0\n");
        return 1;
    }
    report("after child");
    return 0;
}
