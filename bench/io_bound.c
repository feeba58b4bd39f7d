/*
 * io_bound — a program that spends its time in write(): TOTAL_BYTES written in write()
 * calls of SIZE bytes to a file in a fresh directory under $TMPDIR (default /tmp, a tmpfs or
 * a disk as the machine has it: the path is printed), so that the cost of the I/O
 * interposers per call can be measured against the call itself.
 *
 *   io_bound SIZE TOTAL_BYTES [FILE_BYTES]
 *
 * The file wraps around at FILE_BYTES (default 64 MiB): the writes then reuse the same
 * page-cache pages, so a run measures the call, not how fast the kernel finds fresh memory
 * or writes dirty pages back (which swung a 1 GiB run by 2.5x between identical runs).
 *
 * Prints the calls made, wall and CPU time, and wall ns per call.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: io_bound SIZE TOTAL_BYTES [FILE_BYTES]\n");
        return 2;
    }
    size_t size = strtoull(argv[1], NULL, 0), total = strtoull(argv[2], NULL, 0);
    size_t file_bytes = argc == 4 ? strtoull(argv[3], NULL, 0) : 64u << 20;
    if (!size || total < size || file_bytes < size) {
        fprintf(stderr, "io_bound: SIZE must be > 0 and <= TOTAL_BYTES and FILE_BYTES\n");
        return 2;
    }
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[4096], path[4200];
    snprintf(dir, sizeof(dir), "%s/io_bound.XXXXXX", tmp);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof(path), "%s/out", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char *buf = malloc(size);
    if (fd < 0 || !buf) {
        perror(path);
        return 1;
    }
    memset(buf, 'x', size);
    size_t calls = total / size;
    double w0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
    size_t in_file = 0;
    for (size_t i = 0; i < calls; i++) {
        if (in_file + size > file_bytes) {
            if (lseek(fd, 0, SEEK_SET) != 0) {
                perror("lseek");
                return 1;
            }
            in_file = 0;
        }
        in_file += size;
        if (write(fd, buf, size) != (ssize_t)size) {
            perror("write");
            return 1;
        }
    }
    double wall = seconds(CLOCK_MONOTONIC) - w0, cpu = seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
    close(fd);
    unlink(path);
    rmdir(dir);
    free(buf);
    printf("io_bound: %zu writes of %zu bytes to %s: wall %.6f s cpu %.6f s, %.1f ns per call\n",
           calls, size, path, wall, cpu, wall * 1e9 / (double)calls);
    return 0;
}
