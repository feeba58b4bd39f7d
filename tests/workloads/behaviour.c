/*
 * behaviour — prints what a program can observe of its environment and the libc calls
 * nsprof interposes, then exits with status 42. Its output must be identical with and
 * without nsprof (apart from nothing): errno values, signal dispositions, fd numbers.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What the allocator, I/O and lock interposers must leave exactly as libc gives it. */
static void interposed_calls(void)
{
    volatile size_t huge_size = SIZE_MAX / 2; /* volatile: gcc rejects a constant this big */
    errno = 0;
    void *huge = malloc(huge_size);
    printf("malloc(huge): %s errno=%s\n", huge ? "block" : "NULL", strerror(errno));
    errno = 0;
    void *over = calloc(huge_size / 2, 8);
    printf("calloc(overflow): %s errno=%s\n", over ? "block" : "NULL", strerror(errno));
    void *p = NULL;
    errno = EDOM;
    int r = posix_memalign(&p, 3, 64);
    printf("posix_memalign(3): %s errno=%s\n", strerror(r), strerror(errno));
    void *z = malloc(0);
    printf("malloc(0): %s\n", z ? "block" : "NULL");
    printf("realloc(p, 0): %s\n", realloc(z, 0) ? "block" : "NULL");
    errno = 0;
    char c;
    ssize_t n = read(-1, &c, 1);
    printf("read(-1): %zd errno=%s\n", n, strerror(errno));
    errno = 0;
    FILE *f = fopen("/nonexistent/nsprof-test", "r");
    printf("fopen(missing): %s errno=%s\n", f ? "FILE" : "NULL", strerror(errno));
    f = fopen("/dev/null", "w");
    errno = 0;
    size_t got = fread(&c, 1, 1, f);
    printf("fread(write-only): %zu error=%d errno=%s\n", got, ferror(f), strerror(errno));
    fclose(f);
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_t m;
    pthread_mutex_init(&m, &attr);
    pthread_mutex_lock(&m);
    printf("relock errorcheck: %s\n", strerror(pthread_mutex_lock(&m)));
    pthread_mutex_unlock(&m);
    printf("unlock unowned: %s\n", strerror(pthread_mutex_unlock(&m)));
    pthread_mutex_destroy(&m);
}

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
    interposed_calls();
    fflush(stdout);
    return 42;
}
