/* io_stats — see io_stats.h. */
#include "io_stats.h"

#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Raw system calls: open/read/close here would bind to libnsprof's own interposers. */
static size_t read_proc_io(pid_t pid, char *buf, size_t cap)
{
    char path[64] = "/proc/self/io";
    if (pid > 0) {
        /* "/proc/PID/io" without stdio */
        char digits[16];
        int nd = 0, len = 6;
        for (unsigned v = (unsigned)pid; v; v /= 10)
            digits[nd++] = (char)('0' + v % 10);
        while (nd)
            path[len++] = digits[--nd];
        memcpy(path + len, "/io", 4);
    }
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
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
    return ns_io_stats_counters_of(0, names, values, max);
}

static const char *const counter_names[NS_IO_STATS_COUNTERS] = {"proc_io_rchar", "proc_io_wchar",
                                                                "proc_io_syscr", "proc_io_syscw"};

int ns_io_stats_read(pid_t pid, uint64_t v[NS_IO_STATS_COUNTERS])
{
    static const char *const keys[NS_IO_STATS_COUNTERS] = {"rchar", "wchar", "syscr", "syscw"};
    char text[512];
    if (!read_proc_io(pid, text, sizeof(text)))
        return -1;
    for (size_t i = 0; i < NS_IO_STATS_COUNTERS; i++) {
        if (!field(text, keys[i], &v[i]))
            return -1;
    }
    return 0;
}

size_t ns_io_stats_named(const uint64_t v[NS_IO_STATS_COUNTERS], const char **names,
                         uint64_t *values, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < NS_IO_STATS_COUNTERS && n < max; i++, n++) {
        names[n] = counter_names[i];
        values[n] = v[i];
    }
    return n;
}

size_t ns_io_stats_counters_of(pid_t pid, const char **names, uint64_t *values, size_t max)
{
    uint64_t v[NS_IO_STATS_COUNTERS];
    return ns_io_stats_read(pid, v) == 0 ? ns_io_stats_named(v, names, values, max) : 0;
}
