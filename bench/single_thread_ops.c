/*
 * single_thread_ops — what a profiler changes in a single-threaded program's cheapest calls:
 * an uncontended pthread mutex lock+unlock, and a 64-byte write() to /dev/null, each timed
 * over many iterations (glibc takes cheaper paths for both while __libc_single_threaded is
 * 1, i.e. while the process has never had a second thread). Prints ns per operation, the
 * number of threads (/proc/self/task) and the flag, measured in the middle of the work.
 *
 * usage: single_thread_ops [lock_iterations] [write_iterations]
 *        (default 100000000 and 500000: about 0.5 s each here)
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile unsigned long counter;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int count_tasks(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

__attribute__((noinline)) static void lock_loop(long n)
{
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
}

__attribute__((noinline)) static void write_loop(int fd, long n)
{
    char buf[64];
    memset(buf, 'x', sizeof(buf));
    for (long i = 0; i < n; i++) {
        if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
            perror("write /dev/null");
            exit(1);
        }
    }
}

int main(int argc, char **argv)
{
    long locks = argc > 1 ? atol(argv[1]) : 100000000L;
    long writes = argc > 2 ? atol(argv[2]) : 500000L;
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        perror("open /dev/null");
        return 1;
    }
    double t0 = now_s();
    lock_loop(locks);
    double t1 = now_s();
    int tasks = count_tasks();
    int single = __libc_single_threaded;
    write_loop(fd, writes);
    double t2 = now_s();
    close(fd);
    printf("single_thread_ops: lock_ns=%.3f write_ns=%.3f tasks=%d single_threaded=%d\n",
           (t1 - t0) * 1e9 / (double)locks, (t2 - t1) * 1e9 / (double)writes, tasks, single);
    return 0;
}
