/*
 * syscall_split — spends a good part of its CPU time inside the kernel (reading /dev/zero
 * in 64 KiB chunks) and the rest in user_work: what exclude_kernel hides from perf events.
 *
 * usage: syscall_split [cpu-seconds]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "burn.h"

BURN_FUNCTION(user_work, 41)

static char buf[1 << 16]; /* static: the stack stays shallow enough to unwind */

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.5;
    int fd = open("/dev/zero", O_RDONLY);
    if (fd < 0) {
        perror("/dev/zero");
        return 1;
    }
    volatile uint64_t sink = 0;
    double end = now_seconds(CLOCK_PROCESS_CPUTIME_ID) + seconds;
    while (now_seconds(CLOCK_PROCESS_CPUTIME_ID) < end) {
        for (int i = 0; i < 40; i++) {
            if (read(fd, buf, sizeof(buf)) < 0)
                return 1;
        }
        sink += user_work(100000);
    }
    printf("done\n");
    return 0;
}
