/* db_clock — see db_clock.h. */
#include "db_clock.h"

#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct ns_db_clock ns_db_clock;

/* Whether the kernel keeps time with the TSC (raw system calls: nsprof's own read). */
static int kernel_uses_tsc(void)
{
    char buf[32] = "";
    int fd = (int)syscall(SYS_openat, AT_FDCWD,
                          "/sys/devices/system/clocksource/clocksource0/current_clocksource",
                          O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    long n = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
    syscall(SYS_close, fd);
    return n >= 3 && strncmp(buf, "tsc", 3) == 0 && (n == 3 || buf[3] == '\n');
}

void ns_db_clock_start(void)
{
    if (ns_db_clock.tsc || !kernel_uses_tsc())
        return;
    uint64_t ns0 = ns_now_ns(), c0 = __rdtsc(), ns1, c1;
    do {
        ns1 = ns_now_ns();
        c1 = __rdtsc();
    } while (ns1 - ns0 < 200000);
    if (c1 <= c0)
        return;
    ns_db_clock.mult = (uint64_t)((((unsigned __int128)(ns1 - ns0)) << 32) / (c1 - c0));
    __atomic_store_n(&ns_db_clock.tsc, 1, __ATOMIC_RELEASE);
}
