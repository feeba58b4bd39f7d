/*
 * alloc_truth — allocations whose counts, bytes, leaks and peak are known by construction.
 *
 *   alloc_truth exact     every allocator entry point from its own function (counts below)
 *   alloc_truth sample    two sites with the same total bytes: 16-byte blocks and 1 MiB
 *                         blocks (count-based sampling would see only the first)
 *   alloc_truth fork      allocations in a parent and in children forked while another
 *                         thread allocates without pause (a deadlock would hang the test)
 *   alloc_truth exhaust   the heap has room but the address space is capped: full mode's
 *                         live table cannot grow, and the profile must say so
 *
 * Each site is a noinline function whose name the test looks for; every block that is
 * not a leak by design is freed.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *volatile keep[64];
static volatile uintptr_t sink;

/* The compiler may not drop an allocation it sees freed unused. */
static void touch(void *p, size_t n)
{
    if (p && n)
        ((volatile char *)p)[n - 1] = 1;
    sink += (uintptr_t)p;
}

NOINLINE static void small_pairs(void) /* 1000 x malloc(24), freed */
{
    for (int i = 0; i < 1000; i++) {
        void *p = malloc(24);
        touch(p, 24);
        free(p);
    }
}

NOINLINE static void leak_blocks(void) /* 37 x malloc(100), never freed: 3700 bytes leaked */
{
    for (int i = 0; i < 37; i++) {
        void *p = malloc(100);
        touch(p, 100);
        keep[i] = p;
    }
}

NOINLINE static void zeroed(void) /* 50 x calloc(4, 8), freed */
{
    for (int i = 0; i < 50; i++) {
        void *p = calloc(4, 8);
        touch(p, 32);
        free(p);
    }
}

NOINLINE static void grow(void) /* realloc(NULL, 10) then realloc to 1000 and 5000: freed */
{
    char *p = realloc(NULL, 10);
    touch(p, 10);
    p = realloc(p, 1000);
    touch(p, 1000);
    p = realloc(p, 5000);
    touch(p, 5000);
    free(p);
}

NOINLINE static void aligned(void) /* 20 posix_memalign(64, 200), 10 aligned_alloc(64, 128) */
{
    for (int i = 0; i < 20; i++) {
        void *p = NULL;
        if (posix_memalign(&p, 64, 200) == 0)
            touch(p, 200);
        free(p);
    }
    for (int i = 0; i < 10; i++) {
        void *p = aligned_alloc(64, 128);
        touch(p, 128);
        free(p);
    }
}

NOINLINE static void old_aligned(void) /* memalign(256, 300) and valloc(4096): leaked */
{
    void *p = memalign(256, 300);
    touch(p, 300);
    keep[40] = p;
    p = valloc(4096);
    touch(p, 4096);
    keep[41] = p;
}

NOINLINE static void peak_holder(void) /* 8 x 1 MiB live together, then freed */
{
    void *p[8];
    for (int i = 0; i < 8; i++) {
        p[i] = malloc(1 << 20);
        touch(p[i], 1 << 20);
    }
    for (int i = 0; i < 8; i++)
        free(p[i]);
}

NOINLINE static void map_anon(void) /* 4 MiB of anonymous mmap, unmapped */
{
    size_t len = 4u << 20;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
        touch(p, len);
        munmap(p, len);
    }
}

NOINLINE static void usable(void) /* malloc_usable_size of a block: at least what was asked */
{
    char *p = malloc(40);
    touch(p, 40);
    if (malloc_usable_size(p) < 40)
        fprintf(stderr, "malloc_usable_size below the requested size\n");
    free(p);
}

static int run_exact(void)
{
    small_pairs();
    leak_blocks();
    zeroed();
    grow();
    aligned();
    old_aligned();
    peak_holder();
    map_anon();
    usable();
    errno = 0;
    void *huge = malloc(SIZE_MAX / 2); /* fails with ENOMEM, as without the preload */
    printf("huge %s errno %d\n", huge ? "allocated" : "failed", errno);
    free(huge);
    return 0;
}

NOINLINE static void tiny_blocks(long n) /* n x 16 bytes */
{
    for (long i = 0; i < n; i++) {
        void *p = malloc(16);
        touch(p, 16);
        free(p);
    }
}

NOINLINE static void huge_blocks(long n) /* n x 1 MiB */
{
    for (long i = 0; i < n; i++) {
        void *p = malloc(1 << 20);
        touch(p, 1 << 20);
        free(p);
    }
}

/* The same bytes from both sites: 128 MiB each. */
static int run_sample(void)
{
    long total = 128l << 20;
    tiny_blocks(total / 16);
    huge_blocks(total >> 20);
    return 0;
}

static volatile int stop_churn;

static void *churn(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&stop_churn, __ATOMIC_RELAXED)) {
        void *p = malloc(64);
        touch(p, 64);
        free(p);
    }
    return NULL;
}

NOINLINE static void child_leak(void) /* in each child: 3 x 1000 bytes leaked */
{
    for (int i = 0; i < 3; i++) {
        void *p = malloc(1000);
        touch(p, 1000);
        keep[50 + i] = p;
    }
}

/* Children forked while another thread holds and releases allocator locks all the time. */
static int run_fork(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, churn, NULL) != 0)
        return 2;
    int failed = 0;
    for (int i = 0; i < 20; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            child_leak();
            _exit(0);
        }
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            failed++;
    }
    __atomic_store_n(&stop_churn, 1, __ATOMIC_RELAXED);
    pthread_join(t, NULL);
    leak_blocks();
    printf("children failed: %d\n", failed);
    return failed ? 1 : 0;
}

/*
 * The program's heap has room (512 MiB taken from brk and freed, kept by the arena), but the
 * address space is capped a little above what is mapped: its allocations succeed, while
 * full mode's live table, which needs new mappings to grow, cannot follow. nsprof must keep
 * the program running and mark the profile inexact.
 */
#define EXHAUST_BLOCKS (4u << 20)

NOINLINE static void fill_heap(void **blocks)
{
    for (size_t i = 0; i < EXHAUST_BLOCKS; i++) {
        blocks[i] = malloc(48);
        touch(blocks[i], 48);
    }
}

static int run_exhaust(void)
{
    mallopt(M_MMAP_MAX, 0); /* the big block below comes from brk and stays in the arena */
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    void *big = malloc(512u << 20);
    if (!big)
        return 2;
    free(big);
    void **blocks = mmap(NULL, EXHAUST_BLOCKS * sizeof(void *), PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (blocks == MAP_FAILED || !f || fscanf(f, "%lu", &pages) != 1)
        return 2;
    fclose(f);
    struct rlimit lim;
    lim.rlim_cur = lim.rlim_max = pages * (rlim_t)sysconf(_SC_PAGESIZE) + (16u << 20);
    if (setrlimit(RLIMIT_AS, &lim) != 0)
        return 2;
    fill_heap(blocks);
    size_t failed = 0;
    for (size_t i = 0; i < EXHAUST_BLOCKS; i++) {
        failed += !blocks[i];
        free(blocks[i]);
    }
    printf("exhaust: %u blocks, %zu failed\n", EXHAUST_BLOCKS, failed);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "exact";
    if (strcmp(mode, "exact") == 0)
        return run_exact();
    if (strcmp(mode, "sample") == 0)
        return run_sample();
    if (strcmp(mode, "fork") == 0)
        return run_fork();
    if (strcmp(mode, "exhaust") == 0)
        return run_exhaust();
    fprintf(stderr, "usage: alloc_truth exact|sample|fork|exhaust\n");
    return 2;
}
