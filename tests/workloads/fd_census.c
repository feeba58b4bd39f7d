/*
 * fd_census — at the start of main, lists /proc/self/fd and prints every descriptor above 2
 * that the program did not open itself (it has opened nothing yet, apart from the
 * directory being read), with what it points to. Then it forks a child that does the same
 * before it execs this program again as "exec", which does the same in the new image.
 *
 * usage: fd_census            parent: census, fork, the child's census, exec, the new
 *                             image's census
 *        fd_census exec       the exec'd image's census only
 * Each census prints "IMAGE: foreign fds: none" or one line per foreign descriptor; the
 * exit status is 1 when any census found one (the parent collects its child's status).
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int census(const char *image)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        printf("%s: cannot list /proc/self/fd\n", image);
        return 1;
    }
    int own = dirfd(d), foreign = 0;
    char line[64 * (PATH_MAX + 64)];
    size_t len = 0;
    struct dirent *e;
    /* Collect first, print after closedir: nothing is opened while the directory is read. */
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd <= 2 || fd == own)
            continue;
        char path[64], target[PATH_MAX];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        if (foreign < 64)
            len += (size_t)snprintf(line + len, sizeof line - len, "%s: foreign fd %d -> %s\n",
                                    image, fd, target);
        foreign++;
    }
    closedir(d);
    if (foreign)
        fputs(line, stdout);
    else
        printf("%s: foreign fds: none\n", image);
    fflush(stdout);
    return foreign ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "exec") == 0)
        return census("exec");
    int bad = census("parent");
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        int child_bad = census("child");
        char *args[] = {argv[0], "exec", NULL};
        execv("/proc/self/exe", args);
        perror("execv");
        _exit(child_bad ? 1 : 2);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
        printf("child: did not exit\n");
        return 1;
    }
    return bad || WEXITSTATUS(status) != 0 ? 1 : 0;
}
