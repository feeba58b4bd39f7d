/*
 * behaviour — prints what a program can observe of its environment and the libc calls
 * nsprof interposes, then exits with status 42. Its output must be identical with and
 * without nsprof (apart from nothing): errno values, signal dispositions, fd numbers.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    errno = 0;
    int fd = open("/nonexistent/nsprof-test", O_RDONLY);
    printf("open: %d errno=%s\n", fd, strerror(errno));

    /* The lowest free descriptor is what the program would get without nsprof. */
    int a = open("/dev/null", O_RDONLY);
    int b = dup(a);
    printf("fds: %d %d\n", a, b);

    struct sigaction old;
    const int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGPROF, SIGINT};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        sigaction(sigs[i], NULL, &old);
        printf("sig %d: %s\n", sigs[i],
               (old.sa_flags & SA_SIGINFO) ? "siginfo handler"
               : old.sa_handler == SIG_DFL ? "default"
               : old.sa_handler == SIG_IGN ? "ignored"
                                           : "handler");
    }
    void (*prev)(int) = signal(SIGSEGV, SIG_IGN);
    printf("signal(SIGSEGV) returned %s\n", prev == SIG_DFL ? "SIG_DFL" : "other");
    errno = EDOM;
    ssize_t wr = write(STDOUT_FILENO, "", 0);
    (void)wr;
    printf("errno after write: %s\n", strerror(errno));
    fflush(stdout);
    return 42;
}
