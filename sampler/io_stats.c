/* io_stats — see io_stats.h. */
#include "io_stats.h"

#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Raw system calls: open/read/close here would bind to libnsprof's own interposers. */
static size_t read_proc_io(char *buf, size_t cap)
{
    int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/io", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t len = 0;
    long r;
    while (len + 1 < cap && (r = syscall(SYS_read, fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    syscall(SYS_close, fd);
    buf[len] = '\0';
    return len;
}

/* The value of "key: N" in text, 0 when absent. */
static int field(const char *text, const char *key, uint64_t *value)
{
    size_t klen = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, klen) != 0 || p[klen] != ':')
            continue;
        uint64_t v = 0;
        for (p += klen + 1; *p == ' '; p++)
            ;
        for (; *p >= '0' && *p <= '9'; p++)
            v = v * 10 + (uint64_t)(*p - '0');
        *value = v;
        return 1;
    }
    return 0;
}

size_t ns_io_stats_counters(const char **names, uint64_t *values, size_t max)
{
    static const char *const keys[NS_IO_STATS_COUNTERS] = {"rchar", "wchar", "syscr", "syscw"};
    static const char *const counter[NS_IO_STATS_COUNTERS] = {"proc_io_rchar", "proc_io_wchar",
                                                              "proc_io_syscr", "proc_io_syscw"};
    char text[512];
    if (!read_proc_io(text, sizeof(text)))
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < NS_IO_STATS_COUNTERS && n < max; i++) {
        if (field(text, keys[i], &values[n]))
            names[n++] = counter[i];
    }
    return n;
}
