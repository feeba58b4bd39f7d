/*
 * rule_io — small_io and io_bound.
 *  small-fire:  write_small() writes 20,000 records of 16 bytes with one write(2) each.
 *  small-fixed: write_batched() gathers them in a 64 KiB buffer, write_stdio() fwrite()s
 *               them into a FILE's buffer: few system calls, of 4 KiB or more.
 *  bound-fire:  read_random() reads 96 MiB from /dev/urandom: the kernel's generator is the
 *               run's work, so most of the run is spent inside read(2).
 *  bound-fixed: generate_random() makes the same bytes in user space after one 64 KiB read
 *               of a seed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECORDS      20000
#define RECORD       16
#define BATCH        (64 << 10)
#define RANDOM_BYTES (96ul << 20)

static void must(int ok, const char *what)
{
    if (!ok) {
        perror(what);
        exit(1);
    }
}

__attribute__((noipa)) static void write_small(int fd)
{
    char rec[RECORD];
    for (int i = 0; i < RECORDS; i++) {
        memset(rec, 'a' + i % 26, sizeof(rec));
        must(write(fd, rec, sizeof(rec)) == RECORD, "write");
    }
}

__attribute__((noipa)) static void write_batched(int fd)
{
    static char buf[BATCH];
    size_t used = 0;
    for (int i = 0; i < RECORDS; i++) {
        if (used + RECORD > sizeof(buf)) {
            must(write(fd, buf, used) == (ssize_t)used, "write");
            used = 0;
        }
        memset(buf + used, 'a' + i % 26, RECORD);
        used += RECORD;
    }
    must(write(fd, buf, used) == (ssize_t)used, "write");
}

__attribute__((noipa)) static void write_stdio(const char *path)
{
    FILE *f = fopen(path, "w");
    must(f != NULL, "fopen");
    char rec[RECORD];
    for (int i = 0; i < RECORDS; i++) {
        memset(rec, 'a' + i % 26, sizeof(rec));
        must(fwrite(rec, 1, sizeof(rec), f) == RECORD, "fwrite");
    }
    must(fclose(f) == 0, "fclose");
}

/* Reads of /dev/urandom this large can be cut short by the profiler's signals. */
static void read_fully(int fd, char *buf, size_t len)
{
    while (len) {
        ssize_t got = read(fd, buf, len);
        if (got < 0 && errno == EINTR)
            continue;
        must(got > 0, "read");
        buf += got;
        len -= (size_t)got;
    }
}

__attribute__((noipa)) static unsigned long read_random(void)
{
    static char buf[BATCH];
    int fd = open("/dev/urandom", O_RDONLY);
    must(fd >= 0, "open");
    unsigned long sum = 0;
    for (size_t done = 0; done < RANDOM_BYTES; done += BATCH) {
        read_fully(fd, buf, sizeof(buf));
        sum += (unsigned char)buf[done % BATCH];
    }
    close(fd);
    return sum;
}

__attribute__((noipa)) static unsigned long generate_random(void)
{
    static unsigned long long buf[BATCH / 8];
    int fd = open("/dev/urandom", O_RDONLY);
    must(fd >= 0, "open");
    read_fully(fd, (char *)buf, sizeof(buf));
    close(fd);
    unsigned long long x = buf[0] | 1;
    unsigned long sum = 0;
    for (size_t done = 0; done < RANDOM_BYTES; done += BATCH) {
        for (size_t i = 0; i < BATCH / 8; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = x;
        }
        sum += (unsigned char)buf[done % (BATCH / 8)];
    }
    return sum;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strncmp(mode, "small-", 6) == 0) {
        int fd = open("records.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        must(fd >= 0, "open");
        if (strcmp(mode, "small-fire") == 0)
            write_small(fd);
        else {
            write_batched(fd);
            write_stdio("records.txt");
        }
        must(close(fd) == 0, "close");
        return 0;
    }
    printf("%lu\n", strcmp(mode, "bound-fire") == 0 ? read_random() : generate_random());
    return 0;
}
