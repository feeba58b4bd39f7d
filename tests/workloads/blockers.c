/*
 * blockers — threads that each block in a different way for a known time, measured by
 * each around its own blocking call: "reader" in read() on an empty pipe, "cond" in
 * pthread_cond_wait, "joiner" in pthread_join (of "joinee", which sleeps), "epoller" in
 * epoll_wait, "lines" in fgets on an empty pipe (stdio reading from the kernel), and
 * "futex" in a raw syscall(SYS_futex) no interposer can see (after some CPU work, so the
 * profile knows a stack of it). The main thread sleeps, then releases them all.
 *
 * usage: blockers [HOLD_MS]
 * Prints per thread "thread TID NAME blocked_ns=B".
 */
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "burn.h"

BURN_FUNCTION(spin, 0x13198a2e03707344ull)

static unsigned hold_ms = 300;
static int data_pipe[2], epoll_pipe[2], line_pipe[2], epfd;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int released;
static uint32_t futex_word;
static volatile uint64_t sink;

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void say(const char *name, uint64_t blocked)
{
    pthread_mutex_lock(&lock);
    printf("thread %ld %s blocked_ns=%llu\n", (long)syscall(SYS_gettid), name,
           (unsigned long long)blocked);
    fflush(stdout);
    pthread_mutex_unlock(&lock);
}

__attribute__((noinline)) static void *reader_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "reader");
    char c;
    uint64_t t0 = ns();
    if (read(data_pipe[0], &c, 1) != 1)
        perror("read");
    say("reader", ns() - t0);
    return NULL;
}

__attribute__((noinline)) static void *cond_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "cond");
    uint64_t t0 = ns();
    pthread_mutex_lock(&lock);
    while (!released)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    say("cond", ns() - t0);
    return NULL;
}

__attribute__((noinline)) static void *joinee_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "joinee");
    struct timespec d = {hold_ms / 1000, (long)(hold_ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) != 0)
        ;
    return NULL;
}

__attribute__((noinline)) static void *joiner_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "joiner");
    pthread_t t;
    pthread_create(&t, NULL, joinee_main, NULL);
    uint64_t t0 = ns();
    pthread_join(t, NULL);
    say("joiner", ns() - t0);
    return NULL;
}

__attribute__((noinline)) static void *epoller_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "epoller");
    struct epoll_event ev;
    uint64_t t0 = ns();
    while (epoll_wait(epfd, &ev, 1, -1) != 1)
        ;
    say("epoller", ns() - t0);
    return NULL;
}

__attribute__((noinline)) static void *lines_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "lines");
    FILE *in = fdopen(line_pipe[0], "r");
    char line[64];
    uint64_t t0 = ns();
    if (!in || !fgets(line, sizeof(line), in))
        perror("fgets");
    say("lines", ns() - t0);
    return NULL;
}

__attribute__((noinline)) static void *futex_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "futex");
    /* A stack for the profile to know: 30 ms of this thread's own CPU time, not of the
     * clock on the wall, which a loaded machine can fill with other threads' time (a CI run
     * once gave it no sample at all). */
    uint64_t acc = 0, end = thread_cpu_ns() + 30000000ull;
    while (thread_cpu_ns() < end)
        acc += spin(5000);
    sink = acc;
    uint64_t t0 = ns();
    while (__atomic_load_n(&futex_word, __ATOMIC_ACQUIRE) == 0)
        syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    say("futex", ns() - t0);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        hold_ms = (unsigned)atoi(argv[1]);
    if (pipe(data_pipe) || pipe(epoll_pipe) || pipe(line_pipe) || (epfd = epoll_create1(0)) < 0) {
        perror("blockers");
        return 1;
    }
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(epfd, EPOLL_CTL_ADD, epoll_pipe[0], &ev);
    void *(*mains[])(void *) = {reader_main,  cond_main,  joiner_main,
                                epoller_main, lines_main, futex_main};
    enum { N = sizeof(mains) / sizeof(mains[0]) };
    pthread_t t[N];
    for (int i = 0; i < N; i++)
        pthread_create(&t[i], NULL, mains[i], NULL);
    struct timespec d = {hold_ms / 1000, (long)(hold_ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) != 0)
        ;
    if (write(data_pipe[1], "x", 1) != 1 || write(epoll_pipe[1], "x", 1) != 1 ||
        write(line_pipe[1], "a line\n", 7) != 7)
        perror("write");
    pthread_mutex_lock(&lock);
    released = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    __atomic_store_n(&futex_word, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    return 0;
}
