#include "fdutil.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

int ns_fd_move_high(int fd)
{
    struct rlimit rl;
    int floor = 200;
    if (fd < 0)
        return fd;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur / 4 * 3 > (rlim_t)floor)
        floor = (int)(rl.rlim_cur / 4 * 3);
    int high = fcntl(fd, F_DUPFD_CLOEXEC, floor);
    if (high < 0)
        return fd;
    close(fd);
    return high;
}

size_t ns_read_file(const char *path, char *buf, size_t cap)
{
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t r;
    while (len < cap && (r = read(fd, buf + len, cap - len)) > 0)
        len += (size_t)r;
    close(fd);
    return len;
}
