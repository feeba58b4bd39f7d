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
